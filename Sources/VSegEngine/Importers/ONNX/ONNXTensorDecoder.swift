import Foundation
import VSegCore

/// Turns a TensorProto into IR constant data: raw_data, the typed fields
/// (float_data, int32_data, int64_data, double_data, uint64_data) or an
/// external data file next to the model. Element counts go through
/// `ShapeMath.elementCount` and must match the bytes actually present, so a
/// hostile file cannot make us allocate more than it contains.
final class ONNXTensorDecoder {
    let modelPath: String
    let modelDirectory: URL
    /// External data files, read once each.
    private var externalFiles: [String: [UInt8]] = [:]

    init(modelPath: String) {
        self.modelPath = modelPath
        self.modelDirectory = URL(fileURLWithPath: modelPath).deletingLastPathComponent().standardizedFileURL
    }

    private func malformed(_ t: ONNXTensorProto, _ detail: String) -> EngineError {
        .malformedModel(path: modelPath, detail: "tensor '\(t.name)': \(detail)")
    }

    /// IR dtype of an ONNX TensorProto.DataType, nil for types the engine cannot hold.
    static func dtype(_ onnxType: Int32) -> DType? {
        switch onnxType {
        case 1, 11, 16: return .float32          // FLOAT, DOUBLE, BFLOAT16 (widened/narrowed to float32)
        case 2: return .uint8
        case 3: return .int8
        case 4, 5, 6: return .int32              // UINT16, INT16 widened; INT32
        case 7, 12, 13: return .int64            // INT64; UINT32/UINT64 held as int64
        case 9: return .bool
        case 10: return .float16
        default: return nil
        }
    }

    /// Bytes per element in raw_data for an ONNX data type.
    private static func rawSize(_ onnxType: Int32) -> Int? {
        switch onnxType {
        case 1, 6, 12: return 4
        case 2, 3, 9: return 1
        case 4, 5, 10, 16: return 2
        case 7, 11, 13: return 8
        default: return nil
        }
    }

    func decode(_ t: ONNXTensorProto) throws -> (shape: [Int], data: TensorData) {
        var shape: [Int] = []
        for d in t.dims {
            guard d >= 0, d <= Int64(ONNXLimits.maxDim) else {
                throw EngineError.invalidShape(tensor: t.name, detail: "dimension \(d) in the file is out of range")
            }
            shape.append(Int(d))
        }
        guard let n = ShapeMath.elementCount(shape) else {
            throw EngineError.invalidShape(tensor: t.name, detail: "dims \(shape) exceed \(ShapeMath.maxElements) elements")
        }
        guard let elem = Self.rawSize(t.dataType) else {
            throw malformed(t, "unsupported data type \(t.dataType)")
        }
        if t.dataLocation == 1 {
            let bytes = try external(t, byteCount: n * elem)
            return (shape, try fromRaw(bytes[...], t, count: n))
        }
        if let raw = t.rawData {
            guard raw.count == n * elem else {
                throw malformed(t, "raw_data has \(raw.count) bytes, dims \(shape) need \(n * elem)")
            }
            return (shape, try fromRaw(raw, t, count: n))
        }
        return (shape, try fromTyped(t, count: n))
    }

    private func fromRaw(_ raw: ArraySlice<UInt8>, _ t: ONNXTensorProto, count n: Int) throws -> TensorData {
        func load<T>(_: T.Type) -> [T] {
            raw.withUnsafeBytes { src in
                [T](unsafeUninitializedCapacity: n) { dst, initialized in
                    if n > 0 { UnsafeMutableRawBufferPointer(dst).copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<(n * MemoryLayout<T>.size)])) }
                    initialized = n
                }
            }
        }
        switch t.dataType {
        case 1: return .float32(load(Float.self))
        case 2: return .uint8(load(UInt8.self))
        case 3: return .int8(load(Int8.self))
        case 4: return .int32(load(UInt16.self).map { Int32($0) })
        case 5: return .int32(load(Int16.self).map { Int32($0) })
        case 6: return .int32(load(Int32.self))
        case 7: return .int64(load(Int64.self))
        case 9: return .bool(load(UInt8.self).map { $0 != 0 })
        case 10: return .float16(load(UInt16.self))
        case 11: return .float32(load(Double.self).map { Float($0) })
        case 12: return .int64(load(UInt32.self).map { Int64($0) })
        case 13: return .int64(load(UInt64.self).map { Int64(truncatingIfNeeded: $0) })
        case 16: return .float32(load(UInt16.self).map { Float(bitPattern: UInt32($0) << 16) })
        default: throw malformed(t, "unsupported data type \(t.dataType)")
        }
    }

    private func fromTyped(_ t: ONNXTensorProto, count n: Int) throws -> TensorData {
        func check(_ have: Int, _ field: String) throws {
            guard have == n else { throw malformed(t, "\(field) has \(have) values, dims need \(n)") }
        }
        switch t.dataType {
        case 1:
            try check(t.floatData.count, "float_data"); return .float32(t.floatData)
        case 11:
            try check(t.doubleData.count, "double_data"); return .float32(t.doubleData.map { Float($0) })
        case 7:
            try check(t.int64Data.count, "int64_data"); return .int64(t.int64Data)
        case 12, 13:
            try check(t.uint64Data.count, "uint64_data")
            return .int64(t.uint64Data.map { Int64(truncatingIfNeeded: $0) })
        case 2, 3, 4, 5, 6, 9, 10, 16:
            try check(t.int32Data.count, "int32_data")
            let v = t.int32Data
            switch t.dataType {
            case 2: return .uint8(v.map { UInt8(truncatingIfNeeded: $0) })
            case 3: return .int8(v.map { Int8(truncatingIfNeeded: $0) })
            case 9: return .bool(v.map { $0 != 0 })
            case 10: return .float16(v.map { UInt16(truncatingIfNeeded: $0) })
            case 16: return .float32(v.map { Float(bitPattern: UInt32(UInt16(truncatingIfNeeded: $0)) << 16) })
            case 4: return .int32(v.map { Int32(UInt16(truncatingIfNeeded: $0)) })
            case 5: return .int32(v.map { Int32(Int16(truncatingIfNeeded: $0)) })
            default: return .int32(v)
            }
        default:
            throw malformed(t, "unsupported data type \(t.dataType)")
        }
    }

    /// Reads `byteCount` bytes of an external tensor. The location must stay inside the model's directory.
    private func external(_ t: ONNXTensorProto, byteCount: Int) throws -> ArraySlice<UInt8> {
        var location: String?
        var offset = 0
        var length: Int?
        for (k, v) in t.externalData {
            switch k {
            case "location": location = v
            case "offset":
                guard let o = Int(v), o >= 0 else { throw malformed(t, "external offset '\(v)' is not a byte count") }
                offset = o
            case "length":
                guard let l = Int(v), l >= 0 else { throw malformed(t, "external length '\(v)' is not a byte count") }
                length = l
            default: break
            }
        }
        guard let loc = location, !loc.isEmpty else { throw malformed(t, "external data without a location") }
        let parts = loc.split(separator: "/", omittingEmptySubsequences: true)
        guard !loc.hasPrefix("/"), !loc.contains("\\"), !loc.contains("\0"),
              !parts.contains(where: { $0 == ".." }) else {
            throw malformed(t, "external data location '\(loc)' leaves the model's directory")
        }
        if let l = length, l != byteCount {
            throw malformed(t, "external length \(l) does not match the \(byteCount) bytes its dims need")
        }
        let data = try externalFile(loc, t)
        guard offset <= data.count, byteCount <= data.count - offset else {
            throw malformed(t, "external range \(offset)+\(byteCount) runs past the end of '\(loc)' (\(data.count) bytes)")
        }
        return data[offset..<(offset + byteCount)]
    }

    private func externalFile(_ loc: String, _ t: ONNXTensorProto) throws -> [UInt8] {
        if let d = externalFiles[loc] { return d }
        let url = modelDirectory.appendingPathComponent(loc).standardizedFileURL
        // Symlinks must not lead out either.
        let dir = modelDirectory.resolvingSymlinksInPath().path
        let real = url.resolvingSymlinksInPath().path
        guard real.hasPrefix(dir.hasSuffix("/") ? dir : dir + "/") else {
            throw malformed(t, "external data location '\(loc)' leaves the model's directory")
        }
        guard let data = FileManager.default.contents(atPath: real) else {
            throw EngineError.malformedModel(path: modelPath,
                                             detail: "external data file '\(loc)' is missing or unreadable; keep it next to the model")
        }
        let bytes = [UInt8](data)
        externalFiles[loc] = bytes
        return bytes
    }
}
