/// A reader for the protobuf wire format, just enough for onnx.proto.
///
/// Every read is checked against the end of the current message, so a hostile
/// file can only make it throw `EngineError.malformedModel`, never trap or
/// allocate more than the file's own size. Nested messages are read through
/// `message(_:)`, which hands out a reader confined to the nested range.
struct ProtoWireReader {
    enum WireType: Int {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
    }

    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int
    /// Model path, for error messages.
    let path: String

    init(bytes: [UInt8], path: String) {
        self.bytes = bytes; self.position = 0; self.end = bytes.count; self.path = path
    }

    private init(bytes: [UInt8], range: Range<Int>, path: String) {
        self.bytes = bytes; self.position = range.lowerBound; self.end = range.upperBound; self.path = path
    }

    var isAtEnd: Bool { position >= end }

    func fail(_ detail: String) -> EngineError {
        .malformedModel(path: path, detail: "protobuf: \(detail) at byte \(position)")
    }

    /// Next field key, or nil at the end of the message.
    mutating func nextField() throws -> (number: Int, wire: WireType)? {
        guard position < end else { return nil }
        let key = try varint()
        let number = key >> 3
        guard number > 0, number <= 536_870_911 else { throw fail("field number \(number) out of range") }
        guard let wire = WireType(rawValue: Int(key & 7)) else {
            throw fail("unsupported wire type \(key & 7) for field \(number)")
        }
        return (Int(number), wire)
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw fail("truncated varint") }
            let b = bytes[position]
            position += 1
            if shift == 63 && b > 1 { throw fail("varint overflows 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw fail("varint longer than 10 bytes") }
        }
    }

    mutating func int64() throws -> Int64 { Int64(bitPattern: try varint()) }

    /// int32 fields are encoded as sign-extended varints; keep the low 32 bits.
    mutating func int32() throws -> Int32 { Int32(truncatingIfNeeded: try varint()) }

    mutating func fixed32() throws -> UInt32 {
        guard end - position >= 4 else { throw fail("truncated fixed32") }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[position + i]) << (8 * UInt32(i)) }
        position += 4
        return v
    }

    mutating func fixed64() throws -> UInt64 {
        guard end - position >= 8 else { throw fail("truncated fixed64") }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += 8
        return v
    }

    mutating func float() throws -> Float { Float(bitPattern: try fixed32()) }

    /// The byte range of a length-delimited field; the length is checked against the message end.
    mutating func lengthDelimited() throws -> Range<Int> {
        let n = try varint()
        guard n <= UInt64(end - position) else { throw fail("length \(n) runs past the end of the message") }
        let start = position
        position += Int(n)
        return start..<position
    }

    mutating func string() throws -> String {
        let r = try lengthDelimited()
        return String(decoding: bytes[r], as: UTF8.self)
    }

    /// A reader over a nested message.
    mutating func message() throws -> ProtoWireReader {
        ProtoWireReader(bytes: bytes, range: try lengthDelimited(), path: path)
    }

    mutating func skip(_ wire: WireType) throws {
        switch wire {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        }
    }

    // MARK: repeated scalars, packed or not

    /// Appends one or more int64 values: a packed run (wire type 2) or a single varint.
    mutating func appendInt64s(_ wire: WireType, to out: inout [Int64]) throws {
        switch wire {
        case .varint: out.append(try int64())
        case .lengthDelimited:
            var sub = try message()
            while !sub.isAtEnd { out.append(try sub.int64()) }
        default: throw fail("int64 field with wire type \(wire.rawValue)")
        }
    }

    mutating func appendInt32s(_ wire: WireType, to out: inout [Int32]) throws {
        switch wire {
        case .varint: out.append(try int32())
        case .lengthDelimited:
            var sub = try message()
            while !sub.isAtEnd { out.append(try sub.int32()) }
        default: throw fail("int32 field with wire type \(wire.rawValue)")
        }
    }

    mutating func appendUInt64s(_ wire: WireType, to out: inout [UInt64]) throws {
        switch wire {
        case .varint: out.append(try varint())
        case .lengthDelimited:
            var sub = try message()
            while !sub.isAtEnd { out.append(try sub.varint()) }
        default: throw fail("uint64 field with wire type \(wire.rawValue)")
        }
    }

    mutating func appendFloats(_ wire: WireType, to out: inout [Float]) throws {
        switch wire {
        case .fixed32: out.append(try float())
        case .lengthDelimited:
            let r = try lengthDelimited()
            guard r.count % 4 == 0 else { throw fail("packed float run of \(r.count) bytes") }
            out.reserveCapacity(out.count + r.count / 4)
            bytes.withUnsafeBytes { raw in
                var p = r.lowerBound
                while p < r.upperBound {
                    out.append(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: p, as: UInt32.self))))
                    p += 4
                }
            }
        default: throw fail("float field with wire type \(wire.rawValue)")
        }
    }

    mutating func appendDoubles(_ wire: WireType, to out: inout [Double]) throws {
        switch wire {
        case .fixed64: out.append(Double(bitPattern: try fixed64()))
        case .lengthDelimited:
            var sub = try message()
            guard (sub.end - sub.position) % 8 == 0 else { throw fail("packed double run not a multiple of 8") }
            while !sub.isAtEnd { out.append(Double(bitPattern: try sub.fixed64())) }
        default: throw fail("double field with wire type \(wire.rawValue)")
        }
    }
}
