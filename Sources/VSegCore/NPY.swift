#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// NumPy `.npy` files (format versions 1, 2 and 3), the exchange format between
/// vseg and the Python oracles (`vseg infer` writes them, tests read LiteRT's).
///
/// Supported element types: float32, float64 (narrowed to float32 on read),
/// int64, int32 and uint8, little-endian, C order. Anything else (Fortran
/// order, big-endian, object arrays, structured dtypes) is rejected with an
/// `NPYError` naming the file, never a crash: every size from the header goes
/// through `ShapeMath` and the data length must match the shape exactly.
public struct NPYArray: Sendable, Equatable {
    /// Element storage, in C order.
    public enum Storage: Sendable, Equatable {
        case float32([Float])
        case int64([Int64])
        case int32([Int32])
        case uint8([UInt8])
    }

    public var shape: [Int]
    public var storage: Storage

    public init(shape: [Int], storage: Storage) {
        self.shape = shape
        self.storage = storage
    }

    /// A float32 array; `data.count` must equal the product of `shape`.
    public init(shape: [Int], floats: [Float]) {
        precondition(ShapeMath.elementCount(shape) == floats.count, "NPYArray: shape does not match data count")
        self.shape = shape
        self.storage = .float32(floats)
    }

    public var count: Int {
        switch storage {
        case .float32(let a): return a.count
        case .int64(let a): return a.count
        case .int32(let a): return a.count
        case .uint8(let a): return a.count
        }
    }

    /// The elements as float32 (integers converted).
    public var floats: [Float] {
        switch storage {
        case .float32(let a): return a
        case .int64(let a): return a.map { Float($0) }
        case .int32(let a): return a.map { Float($0) }
        case .uint8(let a): return a.map { Float($0) }
        }
    }

    /// The NumPy `descr` string this array is written with.
    public var descr: String {
        switch storage {
        case .float32: return "<f4"
        case .int64: return "<i8"
        case .int32: return "<i4"
        case .uint8: return "|u1"
        }
    }
}

/// Errors from reading or writing `.npy` files.
public enum NPYError: UserFacingError, Equatable {
    /// The file is not a valid `.npy` file (bad magic, header, or data length).
    case malformed(path: String, detail: String)
    /// A valid `.npy` file that uses something vseg does not read (dtype, Fortran order).
    case unsupported(path: String, detail: String)
    /// The file could not be opened, read or written.
    case io(path: String, detail: String)

    public var description: String {
        switch self {
        case let .malformed(path, detail):
            return "\(path): not a valid .npy file (\(detail)); write it with numpy.save"
        case let .unsupported(path, detail):
            return "\(path): unsupported .npy content (\(detail)); save a C-order little-endian float32/float64/int64/int32/uint8 array"
        case let .io(path, detail):
            return "\(path): \(detail); check the path and its permissions"
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .io(_, let d) where d.hasPrefix("cannot write"): return .output
        default: return .input
        }
    }
}

public enum NPY {
    /// Headers longer than this are rejected (numpy's own default limit is 10 000).
    public static let maxHeaderBytes = 65_536
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

    // MARK: reading

    /// Reads and decodes a `.npy` file.
    public static func read(path: String) throws -> NPYArray {
        let bytes = try readFile(path: path)
        return try decode(bytes, path: path)
    }

    /// Decodes the bytes of a `.npy` file; `path` only names it in errors.
    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws -> NPYArray {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw NPYError.malformed(path: path, detail: "missing \\x93NUMPY magic")
        }
        let major = bytes[6]
        let headerLen: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NPYError.malformed(path: path, detail: "truncated header length") }
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw NPYError.unsupported(path: path, detail: "format version \(major)")
        }
        guard headerLen <= maxHeaderBytes else {
            throw NPYError.malformed(path: path, detail: "header of \(headerLen) bytes exceeds \(maxHeaderBytes)")
        }
        guard headerStart + headerLen <= bytes.count else {
            throw NPYError.malformed(path: path, detail: "header runs past the end of the file")
        }
        // Version 3 allows UTF-8; the keys we need are ASCII either way.
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLen)], as: UTF8.self)
        let fields = try parseHeader(header, path: path)
        guard !fields.fortranOrder else {
            throw NPYError.unsupported(path: path, detail: "fortran_order is True")
        }
        guard let count = ShapeMath.elementCount(fields.shape) else {
            throw NPYError.malformed(path: path, detail: "shape \(fields.shape) is negative or too large")
        }
        let dataStart = headerStart + headerLen
        let available = bytes.count - dataStart
        let elementSize: Int
        switch fields.descr {
        case "<f4", "=f4": elementSize = 4
        case "<f8", "=f8": elementSize = 8
        case "<i8", "=i8": elementSize = 8
        case "<i4", "=i4": elementSize = 4
        case "|u1", "<u1", "=u1": elementSize = 1
        default:
            throw NPYError.unsupported(path: path, detail: "dtype '\(fields.descr)'")
        }
        let (need, overflow) = count.multipliedReportingOverflow(by: elementSize)
        guard !overflow, need == available else {
            throw NPYError.malformed(path: path, detail: "data holds \(available) bytes, shape \(fields.shape) needs \(overflow ? -1 : need)")
        }
        let storage: NPYArray.Storage = bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart
            switch elementSize {
            case 1:
                return .uint8(Array(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: count)))
            case 4 where fields.descr.hasSuffix("f4"):
                return .float32((0..<count).map { Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) })
            case 4:
                return .int32((0..<count).map { Int32(littleEndian: base.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) })
            default:
                if fields.descr.hasSuffix("f8") {
                    return .float32((0..<count).map {
                        Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))))
                    })
                }
                return .int64((0..<count).map { Int64(littleEndian: base.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) })
            }
        }
        return NPYArray(shape: fields.shape, storage: storage)
    }

    struct HeaderFields { var descr: String; var fortranOrder: Bool; var shape: [Int] }

    /// Parses the Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }`.
    static func parseHeader(_ header: String, path: String) throws -> HeaderFields {
        let s = Array(header.utf8)
        var i = 0
        func fail(_ d: String) -> NPYError { .malformed(path: path, detail: "header: \(d)") }
        func skipSpace() { while i < s.count, s[i] == 0x20 || s[i] == 0x0A || s[i] == 0x09 { i += 1 } }
        func expect(_ c: UInt8) throws {
            skipSpace()
            guard i < s.count, s[i] == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))' at byte \(i)") }
            i += 1
        }
        func quoted() throws -> String {
            skipSpace()
            guard i < s.count, s[i] == 0x27 || s[i] == 0x22 else { throw fail("expected a quoted string at byte \(i)") }
            let q = s[i]; i += 1
            let start = i
            while i < s.count, s[i] != q { i += 1 }
            guard i < s.count else { throw fail("unterminated string") }
            defer { i += 1 }
            return String(decoding: s[start..<i], as: UTF8.self)
        }
        func integer() throws -> Int {
            skipSpace()
            let start = i
            while i < s.count, s[i] >= 0x30 && s[i] <= 0x39 { i += 1 }
            guard i > start, i - start <= 18, let v = Int(String(decoding: s[start..<i], as: UTF8.self)) else {
                throw fail("expected a dimension at byte \(start)")
            }
            if i < s.count, s[i] == 0x4C { i += 1 }  // Python 2 long suffix "L"
            return v
        }

        var descr: String?, fortran: Bool?, shape: [Int]?
        try expect(0x7B)  // {
        while true {
            skipSpace()
            if i < s.count, s[i] == 0x7D { i += 1; break }  // }
            let key = try quoted()
            try expect(0x3A)  // :
            switch key {
            case "descr":
                descr = try quoted()
            case "fortran_order":
                skipSpace()
                if s[i...].starts(with: "True".utf8) { fortran = true; i += 4 }
                else if s[i...].starts(with: "False".utf8) { fortran = false; i += 5 }
                else { throw fail("fortran_order is not True/False") }
            case "shape":
                try expect(0x28)  // (
                var dims: [Int] = []
                while true {
                    skipSpace()
                    if i < s.count, s[i] == 0x29 { i += 1; break }
                    guard dims.count < 32 else { throw fail("more than 32 dimensions") }
                    dims.append(try integer())
                    skipSpace()
                    if i < s.count, s[i] == 0x2C { i += 1 }
                    else if i < s.count, s[i] == 0x29 { i += 1; break }
                    else { throw fail("bad shape tuple") }
                }
                shape = dims
            default:
                throw fail("unexpected key '\(key)'")
            }
            skipSpace()
            if i < s.count, s[i] == 0x2C { i += 1; continue }
            try expect(0x7D)
            break
        }
        guard let d = descr, let f = fortran, let sh = shape else {
            throw fail("needs descr, fortran_order and shape")
        }
        return HeaderFields(descr: d, fortranOrder: f, shape: sh)
    }

    // MARK: writing

    /// Encodes an array as a version-1 `.npy` file (version 2 if the header needs it).
    public static func encode(_ array: NPYArray) -> [UInt8] {
        let dims = array.shape.map(String.init).joined(separator: ", ")
        let shapeText = array.shape.count == 1 ? "(\(dims),)" : "(\(dims))"
        var header = Array("{'descr': '\(array.descr)', 'fortran_order': False, 'shape': \(shapeText), }".utf8)
        let v2 = header.count + 11 > 65_535
        let prefix = v2 ? 12 : 10
        let padded = (prefix + header.count + 1 + 63) / 64 * 64
        header += [UInt8](repeating: 0x20, count: padded - prefix - header.count - 1)
        header.append(0x0A)
        var out = magic + [v2 ? 2 : 1, 0]
        let n = header.count
        out += v2 ? [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24 & 0xFF)]
                  : [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF)]
        out += header
        switch array.storage {
        case .float32(let a): a.forEach { appendLE(&out, $0.bitPattern) }
        case .int64(let a): a.forEach { appendLE(&out, UInt64(bitPattern: $0)) }
        case .int32(let a): a.forEach { appendLE(&out, UInt32(bitPattern: $0)) }
        case .uint8(let a): out += a
        }
        return out
    }

    /// Writes an array to `path` (overwrites).
    public static func write(_ array: NPYArray, to path: String) throws {
        try writeFile(path: path, bytes: encode(array))
    }

    /// Writes float32 data with the given shape.
    public static func write(shape: [Int], floats: UnsafeBufferPointer<Float>, to path: String) throws {
        try write(NPYArray(shape: shape, floats: Array(floats)), to: path)
    }

    @inline(__always)
    static func appendLE<T: FixedWidthInteger>(_ out: inout [UInt8], _ v: T) {
        var x = v.littleEndian
        withUnsafeBytes(of: &x) { out.append(contentsOf: $0) }
    }

    // MARK: files

    static func readFile(path: String) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else {
            throw NPYError.io(path: path, detail: "cannot open (\(String(cString: strerror(errno))))")
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count {
                if ferror(f) != 0 { throw NPYError.io(path: path, detail: "read error") }
                break
            }
        }
        return bytes
    }

    static func writeFile(path: String, bytes: [UInt8]) throws {
        guard let f = fopen(path, "wb") else {
            throw NPYError.io(path: path, detail: "cannot write (\(String(cString: strerror(errno))))")
        }
        let n = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        let closed = fclose(f)
        guard n == bytes.count, closed == 0 else {
            throw NPYError.io(path: path, detail: "cannot write all \(bytes.count) bytes")
        }
    }
}
