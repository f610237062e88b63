/// Element types a model file can declare.
public enum DType: String, Sendable, Codable, CaseIterable {
    case float32, float16, int8, uint8, int16, int32, int64, bool

    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        case .int64: return 8
        }
    }
}

/// Constant tensor contents, decoded from the model file at import.
public enum TensorData: Sendable, Equatable {
    case float32([Float])
    case float16([UInt16])
    case int8([Int8])
    case uint8([UInt8])
    case int32([Int32])
    case int64([Int64])
    case bool([Bool])

    public var count: Int {
        switch self {
        case .float32(let a): return a.count
        case .float16(let a): return a.count
        case .int8(let a): return a.count
        case .uint8(let a): return a.count
        case .int32(let a): return a.count
        case .int64(let a): return a.count
        case .bool(let a): return a.count
        }
    }

    public var dtype: DType {
        switch self {
        case .float32: return .float32
        case .float16: return .float16
        case .int8: return .int8
        case .uint8: return .uint8
        case .int32: return .int32
        case .int64: return .int64
        case .bool: return .bool
        }
    }

    /// Integer view (for shape/axes/pads constants). Nil for float data.
    public var asInts: [Int]? {
        switch self {
        case .int32(let a): return a.map(Int.init)
        case .int64(let a): return a.map { Int(clamping: $0) }
        case .int8(let a): return a.map(Int.init)
        case .uint8(let a): return a.map(Int.init)
        case .bool(let a): return a.map { $0 ? 1 : 0 }
        case .float32, .float16: return nil
        }
    }

    /// Float view; float16 is widened, integers converted.
    public var asFloats: [Float] {
        switch self {
        case .float32(let a): return a
        case .float16(let a): return a.map { Float(Float16(bitPattern: $0)) }
        case .int8(let a): return a.map(Float.init)
        case .uint8(let a): return a.map(Float.init)
        case .int32(let a): return a.map(Float.init)
        case .int64(let a): return a.map(Float.init)
        case .bool(let a): return a.map { $0 ? 1 : 0 }
        }
    }
}

/// Affine quantization as stored in a model or produced by calibration:
/// real = scale * (q - zeroPoint). Per-tensor when `scale.count == 1`,
/// otherwise per channel along `axis`.
public struct QuantParams: Sendable, Equatable {
    public var scale: [Float]
    public var zeroPoint: [Int64]
    public var axis: Int
    public init(scale: [Float], zeroPoint: [Int64], axis: Int = 0) {
        self.scale = scale; self.zeroPoint = zeroPoint; self.axis = axis
    }
}
