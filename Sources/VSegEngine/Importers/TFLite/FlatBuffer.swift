/// A bounds-checked reader over one FlatBuffer held in memory.
///
/// FlatBuffers layout facts this relies on (all little-endian):
/// - the buffer starts with a uoffset (u32) to the root table; a 4-byte file
///   identifier may follow it;
/// - a table starts with an soffset (i32): `vtable = table - soffset`;
/// - a vtable is `[u16 vtableBytes, u16 tableBytes, u16 fieldOffset...]`, where
///   field `id` lives at entry `2 + id` and 0 means "absent, use the default";
/// - reference fields hold a uoffset relative to the field's own position;
/// - vectors and strings are `[u32 count][elements]`, strings NUL-terminated.
///
/// Every offset and length read from the file is checked against the buffer
/// before use and all arithmetic is done in `Int` on values that came from
/// 16/32-bit fields, so it cannot overflow. A violation throws
/// `EngineError.malformedModel`; nothing here traps on hostile data.
struct FlatBuffer {
    let bytes: [UInt8]
    let path: String

    init(bytes: [UInt8], path: String) {
        self.bytes = bytes; self.path = path
    }

    var count: Int { bytes.count }

    func malformed(_ detail: String) -> EngineError {
        .malformedModel(path: path, detail: detail)
    }

    /// Throws unless `size` bytes starting at `offset` lie inside the buffer.
    func checkRange(_ offset: Int, _ size: Int, _ what: @autoclosure () -> String) throws {
        guard offset >= 0, size >= 0, offset <= bytes.count, size <= bytes.count - offset else {
            throw malformed("\(what()) at byte \(offset) (+\(size)) lies outside the \(bytes.count)-byte file")
        }
    }

    // MARK: scalars (little-endian, alignment-agnostic)

    func u8(_ o: Int) throws -> UInt8 {
        try checkRange(o, 1, "a byte")
        return bytes[o]
    }

    func u16(_ o: Int) throws -> UInt16 {
        try checkRange(o, 2, "a 16-bit value")
        return UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8
    }

    func u32(_ o: Int) throws -> UInt32 {
        try checkRange(o, 4, "a 32-bit value")
        return UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
    }

    func i32(_ o: Int) throws -> Int32 { Int32(bitPattern: try u32(o)) }

    func u64(_ o: Int) throws -> UInt64 {
        try checkRange(o, 8, "a 64-bit value")
        return UInt64(try u32(o)) | UInt64(try u32(o + 4)) << 32
    }

    func i64(_ o: Int) throws -> Int64 { Int64(bitPattern: try u64(o)) }

    func f32(_ o: Int) throws -> Float { Float(bitPattern: try u32(o)) }

    // MARK: structure

    /// The root table named by the uoffset at byte 0.
    func rootTable(what: String) throws -> FBTable {
        try table(at: Int(try u32(0)), what: what)
    }

    /// The table whose start is at `pos`, with its vtable validated.
    func table(at pos: Int, what: String) throws -> FBTable {
        try checkRange(pos, 4, "\(what) table")
        let vtable = pos - Int(try i32(pos))
        try checkRange(vtable, 4, "\(what) vtable")
        let vtableBytes = Int(try u16(vtable))
        let tableBytes = Int(try u16(vtable + 2))
        guard vtableBytes >= 4, vtableBytes % 2 == 0 else {
            throw malformed("\(what) vtable at byte \(vtable) has an invalid size \(vtableBytes)")
        }
        try checkRange(vtable, vtableBytes, "\(what) vtable")
        guard tableBytes >= 4 else { throw malformed("\(what) table at byte \(pos) has an invalid size \(tableBytes)") }
        try checkRange(pos, tableBytes, "\(what) table")
        return FBTable(fb: self, pos: pos, vtable: vtable, vtableBytes: vtableBytes, tableBytes: tableBytes, what: what)
    }

    /// Follows the uoffset stored at `loc`.
    func follow(_ loc: Int) throws -> Int {
        loc + Int(try u32(loc))
    }

    /// The vector whose length prefix is at `pos`.
    func vector(at pos: Int, elementSize: Int, what: String) throws -> FBVector {
        let n = Int(try u32(pos))
        let (bytesLen, overflow) = n.multipliedReportingOverflow(by: elementSize)
        guard !overflow else { throw malformed("\(what) claims \(n) elements") }
        try checkRange(pos + 4, bytesLen, "\(what) (\(n) elements)")
        return FBVector(fb: self, start: pos + 4, count: n, elementSize: elementSize, what: what)
    }
}

/// One table: field reads return the schema default when the field is absent.
struct FBTable {
    let fb: FlatBuffer
    let pos: Int
    let vtable: Int
    let vtableBytes: Int
    let tableBytes: Int
    /// What this table is, for error messages ("Tensor 12").
    let what: String

    /// Absolute position of field `id`, or nil when absent. Throws when the
    /// field's `size` bytes would not fit inside the table.
    func field(_ id: Int, size: Int) throws -> Int? {
        let entry = 4 + 2 * id
        guard entry + 2 <= vtableBytes else { return nil }
        let off = Int(try fb.u16(vtable + entry))
        if off == 0 { return nil }
        guard off >= 4, off + size <= tableBytes else {
            throw fb.malformed("\(what) field \(id) at table offset \(off) lies outside its \(tableBytes)-byte table")
        }
        return pos + off
    }

    func has(_ id: Int) throws -> Bool { try field(id, size: 1) != nil }

    func u8(_ id: Int, default d: UInt8 = 0) throws -> UInt8 {
        guard let p = try field(id, size: 1) else { return d }
        return try fb.u8(p)
    }

    func i8(_ id: Int, default d: Int8 = 0) throws -> Int8 {
        Int8(bitPattern: try u8(id, default: UInt8(bitPattern: d)))
    }

    func bool(_ id: Int, default d: Bool = false) throws -> Bool {
        try u8(id, default: d ? 1 : 0) != 0
    }

    func i32(_ id: Int, default d: Int32 = 0) throws -> Int32 {
        guard let p = try field(id, size: 4) else { return d }
        return try fb.i32(p)
    }

    func u32(_ id: Int, default d: UInt32 = 0) throws -> UInt32 {
        guard let p = try field(id, size: 4) else { return d }
        return try fb.u32(p)
    }

    func u64(_ id: Int, default d: UInt64 = 0) throws -> UInt64 {
        guard let p = try field(id, size: 8) else { return d }
        return try fb.u64(p)
    }

    func f32(_ id: Int, default d: Float = 0) throws -> Float {
        guard let p = try field(id, size: 4) else { return d }
        return try fb.f32(p)
    }

    /// Sub-table field, nil when absent.
    func table(_ id: Int, what: String) throws -> FBTable? {
        guard let p = try field(id, size: 4) else { return nil }
        return try fb.table(at: try fb.follow(p), what: what)
    }

    /// Vector field, nil when absent.
    func vector(_ id: Int, elementSize: Int, what: String) throws -> FBVector? {
        guard let p = try field(id, size: 4) else { return nil }
        return try fb.vector(at: try fb.follow(p), elementSize: elementSize, what: what)
    }

    /// String field decoded as UTF-8 (invalid sequences are replaced, never trapped on).
    func string(_ id: Int, what: String) throws -> String? {
        guard let v = try vector(id, elementSize: 1, what: what) else { return nil }
        return v.string()
    }
}

/// A vector whose whole extent has been checked against the buffer.
struct FBVector {
    let fb: FlatBuffer
    /// Position of element 0.
    let start: Int
    let count: Int
    let elementSize: Int
    let what: String

    private func at(_ i: Int) throws -> Int {
        guard i >= 0, i < count else { throw fb.malformed("\(what): index \(i) out of \(count)") }
        return start + i * elementSize
    }

    func u8(_ i: Int) throws -> UInt8 { try fb.u8(try at(i)) }
    func u16(_ i: Int) throws -> UInt16 { try fb.u16(try at(i)) }
    func i32(_ i: Int) throws -> Int32 { try fb.i32(try at(i)) }
    func i64(_ i: Int) throws -> Int64 { try fb.i64(try at(i)) }
    func f32(_ i: Int) throws -> Float { try fb.f32(try at(i)) }

    /// Element `i` of a vector of tables.
    func table(_ i: Int, what: String) throws -> FBTable {
        try fb.table(at: try fb.follow(try at(i)), what: what)
    }

    // Bulk reads: the whole extent was checked against the buffer at construction.
    private func load<T: FixedWidthInteger>(_: T.Type) -> [T] {
        guard MemoryLayout<T>.size == elementSize else { return [] }
        return fb.bytes.withUnsafeBytes { raw in
            (0..<count).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: start + $0 * elementSize, as: T.self)) }
        }
    }

    func int32s() -> [Int32] { load(Int32.self) }
    func ints() -> [Int] {
        switch elementSize {
        case 1: return load(UInt8.self).map(Int.init)
        case 2: return load(UInt16.self).map(Int.init)
        default: return load(Int32.self).map(Int.init)
        }
    }
    func int64s() -> [Int64] { load(Int64.self) }
    func floats() -> [Float] { load(UInt32.self).map(Float.init(bitPattern:)) }

    /// The raw element bytes (already bounds-checked at construction).
    var byteRange: Range<Int> { start..<(start + count * elementSize) }

    func string() -> String {
        String(decoding: fb.bytes[byteRange], as: UTF8.self)
    }
}
