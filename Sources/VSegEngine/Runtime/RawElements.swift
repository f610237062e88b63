/// Untyped element access for the rarely-hot integer paths (shape arithmetic,
/// casts, constant folding) and conversion between raw buffers and `TensorData`.
enum RawElements {
    @inline(__always)
    static func int(_ p: UnsafeRawPointer, _ t: DType, _ i: Int) -> Int64 {
        switch t {
        case .int64: return p.load(fromByteOffset: i * 8, as: Int64.self)
        case .int32: return Int64(p.load(fromByteOffset: i * 4, as: Int32.self))
        case .int16: return Int64(p.load(fromByteOffset: i * 2, as: Int16.self))
        case .int8: return Int64(p.load(fromByteOffset: i, as: Int8.self))
        case .uint8: return Int64(p.load(fromByteOffset: i, as: UInt8.self))
        case .bool: return p.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0
        case .float32: return Int64(clampingFloat: Double(p.load(fromByteOffset: i * 4, as: Float.self)))
        case .float16: return Int64(clampingFloat: Double(Float(p.load(fromByteOffset: i * 2, as: Float16.self))))
        }
    }

    @inline(__always)
    static func double(_ p: UnsafeRawPointer, _ t: DType, _ i: Int) -> Double {
        switch t {
        case .float32: return Double(p.load(fromByteOffset: i * 4, as: Float.self))
        case .float16: return Double(Float(p.load(fromByteOffset: i * 2, as: Float16.self)))
        default: return Double(int(p, t, i))
        }
    }

    @inline(__always)
    static func setInt(_ p: UnsafeMutableRawPointer, _ t: DType, _ i: Int, _ v: Int64) {
        switch t {
        case .int64: p.storeBytes(of: v, toByteOffset: i * 8, as: Int64.self)
        case .int32: p.storeBytes(of: Int32(truncatingIfNeeded: v), toByteOffset: i * 4, as: Int32.self)
        case .int16: p.storeBytes(of: Int16(truncatingIfNeeded: v), toByteOffset: i * 2, as: Int16.self)
        case .int8: p.storeBytes(of: Int8(truncatingIfNeeded: v), toByteOffset: i, as: Int8.self)
        case .uint8: p.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: i, as: UInt8.self)
        case .bool: p.storeBytes(of: UInt8(v != 0 ? 1 : 0), toByteOffset: i, as: UInt8.self)
        case .float32: p.storeBytes(of: Float(v), toByteOffset: i * 4, as: Float.self)
        case .float16: p.storeBytes(of: Float16(Float(v)), toByteOffset: i * 2, as: Float16.self)
        }
    }

    /// Stores a real value, converting like a C cast (float to int truncates, saturating).
    @inline(__always)
    static func setDouble(_ p: UnsafeMutableRawPointer, _ t: DType, _ i: Int, _ v: Double) {
        switch t {
        case .float32: p.storeBytes(of: Float(v), toByteOffset: i * 4, as: Float.self)
        case .float16: p.storeBytes(of: Float16(Float(v)), toByteOffset: i * 2, as: Float16.self)
        case .bool: p.storeBytes(of: UInt8(v != 0 ? 1 : 0), toByteOffset: i, as: UInt8.self)
        default: setInt(p, t, i, Int64(clampingFloat: v))
        }
    }

    /// Copies constant contents into raw memory of `data.dtype`.
    static func write(_ data: TensorData, to p: UnsafeMutableRawPointer) {
        switch data {
        case .float32(let a): a.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        case .float16(let a): a.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        case .int8(let a): a.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        case .uint8(let a): a.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        case .int32(let a): a.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        case .int64(let a): a.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        case .bool(let a): for (i, v) in a.enumerated() { p.storeBytes(of: UInt8(v ? 1 : 0), toByteOffset: i, as: UInt8.self) }
        }
    }

    /// Reads `count` elements of `dtype` from raw memory into `TensorData`.
    static func read(_ p: UnsafeRawPointer, dtype: DType, count: Int) -> TensorData {
        switch dtype {
        case .float32: return .float32(Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: Float.self), count: count)))
        case .float16: return .float16(Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt16.self), count: count)))
        case .int8: return .int8(Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: Int8.self), count: count)))
        case .uint8: return .uint8(Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: count)))
        case .int16: return .int32((0 ..< count).map { Int32(p.load(fromByteOffset: $0 * 2, as: Int16.self)) })
        case .int32: return .int32(Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: Int32.self), count: count)))
        case .int64: return .int64(Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: Int64.self), count: count)))
        case .bool: return .bool((0 ..< count).map { p.load(fromByteOffset: $0, as: UInt8.self) != 0 })
        }
    }
}

extension Int64 {
    /// Saturating conversion from a real, truncating toward zero; NaN becomes 0.
    init(clampingFloat v: Double) {
        if v.isNaN { self = 0 } else if v >= 9.2e18 { self = .max } else if v <= -9.2e18 { self = .min } else { self = Int64(v) }
    }
}
