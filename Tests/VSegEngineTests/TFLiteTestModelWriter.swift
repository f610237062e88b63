import Foundation
import XCTest

/// A minimal FlatBuffer writer for building tiny TFLite models in tests.
/// Objects are laid out front to back (a parent before its children), so
/// every uoffset is positive; vtables sit right before their table.
indirect enum TFLFBNode {
    /// Fields by id; nil = absent.
    case table([TFLFBField?])
    case string(String)
    case scalars(elementSize: Int, bytes: [UInt8])
    case tables([TFLFBNode])

    static func ints(_ v: [Int32]) -> TFLFBNode { .scalars(elementSize: 4, bytes: v.flatMap { tflLE($0) }) }
    static func longs(_ v: [Int64]) -> TFLFBNode { .scalars(elementSize: 8, bytes: v.flatMap { tflLE($0) }) }
    static func floats(_ v: [Float]) -> TFLFBNode { .scalars(elementSize: 4, bytes: v.flatMap { tflLE($0.bitPattern) }) }
    static func u16s(_ v: [UInt16]) -> TFLFBNode { .scalars(elementSize: 2, bytes: v.flatMap { tflLE($0) }) }
    static func bytes(_ v: [UInt8]) -> TFLFBNode { .scalars(elementSize: 1, bytes: v) }
}

enum TFLFBField {
    case u8(UInt8), i8(Int8), bool(Bool), i32(Int32), u32(UInt32), i64(Int64), u64(UInt64), f32(Float)
    case ref(TFLFBNode)

    var size: Int {
        switch self {
        case .u8, .i8, .bool: return 1
        case .i32, .u32, .f32, .ref: return 4
        case .i64, .u64: return 8
        }
    }
}

func tflLE<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    withUnsafeBytes(of: v.littleEndian) { Array($0) }
}

struct TFLFBWriter {
    private var buf: [UInt8] = []
    private var pending: [(loc: Int, node: TFLFBNode)] = []

    static func serialize(_ root: TFLFBNode, identifier: String = "TFL3") -> [UInt8] {
        var w = TFLFBWriter()
        w.buf = [0, 0, 0, 0] + Array(identifier.utf8.prefix(4))
        w.pending.append((0, root))
        var i = 0
        while i < w.pending.count {
            let (loc, node) = w.pending[i]
            let pos = w.write(node)
            w.put(UInt32(pos - loc), at: loc)
            i += 1
        }
        return w.buf
    }

    private mutating func put<T: FixedWidthInteger>(_ v: T, at p: Int) {
        for (k, b) in tflLE(v).enumerated() { buf[p + k] = b }
    }

    private mutating func pad(until ok: (Int) -> Bool) { while !ok(buf.count) { buf.append(0) } }

    private mutating func write(_ node: TFLFBNode) -> Int {
        switch node {
        case .string(let s):
            pad { $0 % 4 == 0 }
            let p = buf.count
            let u = Array(s.utf8)
            buf += tflLE(UInt32(u.count)) + u + [0]
            return p
        case .scalars(let es, let bytes):
            pad { ($0 + 4) % max(es, 4) == 0 }
            let p = buf.count
            buf += tflLE(UInt32(bytes.count / es)) + bytes
            return p
        case .tables(let nodes):
            pad { $0 % 4 == 0 }
            let p = buf.count
            buf += tflLE(UInt32(nodes.count))
            for n in nodes {
                pending.append((buf.count, n))
                buf += [0, 0, 0, 0]
            }
            return p
        case .table(let fields):
            var offsets = [Int](repeating: 0, count: fields.count)
            var cur = 4
            for (i, f) in fields.enumerated() {
                guard let f else { continue }
                while cur % f.size != 0 { cur += 1 }
                offsets[i] = cur
                cur += f.size
            }
            while cur % 4 != 0 { cur += 1 }
            pad { $0 % 2 == 0 }
            let vt = buf.count
            buf += tflLE(UInt16(4 + 2 * fields.count)) + tflLE(UInt16(cur))
            for o in offsets { buf += tflLE(UInt16(o)) }
            pad { $0 % 8 == 0 }
            let t = buf.count
            buf += [UInt8](repeating: 0, count: cur)
            put(Int32(t - vt), at: t)
            for (i, f) in fields.enumerated() {
                guard let f else { continue }
                let p = t + offsets[i]
                switch f {
                case .u8(let v): buf[p] = v
                case .i8(let v): buf[p] = UInt8(bitPattern: v)
                case .bool(let v): buf[p] = v ? 1 : 0
                case .i32(let v): put(v, at: p)
                case .u32(let v): put(v, at: p)
                case .i64(let v): put(v, at: p)
                case .u64(let v): put(v, at: p)
                case .f32(let v): put(v.bitPattern, at: p)
                case .ref(let n): pending.append((p, n))
                }
            }
            return t
        }
    }
}

/// Builds a one-subgraph TFLite model from tensors, buffers and operators.
struct TFLiteTestModel {
    var tensors: [TFLFBNode] = []
    /// Buffer 0 is the empty sentinel TFLite files always have.
    var buffers: [TFLFBNode] = [.table([])]
    var opcodes: [TFLFBNode] = []
    var operators: [TFLFBNode] = []
    var inputs: [Int32] = []
    var outputs: [Int32] = []
    var description: String? = "vseg test model"
    var metadata: [(name: String, bytes: [UInt8])] = []
    var version: UInt32 = 3

    /// Adds a tensor (with its data in a new buffer when given) and returns its index.
    @discardableResult
    mutating func tensor(_ name: String, _ shape: [Int32], type: Int8 = 0, data: [UInt8]? = nil,
                         quant: TFLFBNode? = nil, sparsity: TFLFBNode? = nil, signature: [Int32]? = nil) -> Int32 {
        var buffer: UInt32 = 0
        if let data {
            buffers.append(.table([.ref(.bytes(data))]))
            buffer = UInt32(buffers.count - 1)
        }
        tensors.append(.table([
            .ref(.ints(shape)), .i8(type), .u32(buffer), .ref(.string(name)),
            quant.map { .ref($0) }, nil, sparsity.map { .ref($0) }, signature.map { .ref(.ints($0)) },
        ]))
        return Int32(tensors.count - 1)
    }

    /// Adds an operator; the opcode table gets an entry per call (duplicates are legal).
    mutating func op(_ code: Int32, _ ins: [Int32], _ outs: [Int32], optionsType: UInt8 = 0, options: [TFLFBField?]? = nil,
                     custom: String? = nil, customOptions: [UInt8]? = nil, deprecatedCodeOnly: Bool = false) {
        if deprecatedCodeOnly {
            opcodes.append(.table([.i8(Int8(code)), nil, .i32(1)]))
        } else {
            opcodes.append(.table([.i8(Int8(min(code, 127))), custom.map { .ref(.string($0)) }, .i32(1), .i32(code)]))
        }
        operators.append(.table([
            .u32(UInt32(opcodes.count - 1)), .ref(.ints(ins)), .ref(.ints(outs)),
            options == nil ? nil : .u8(optionsType), options.map { .ref(.table($0)) },
            customOptions.map { .ref(.bytes($0)) },
        ]))
    }

    func build() -> [UInt8] {
        var metaTables: [TFLFBNode] = []
        var allBuffers = buffers
        for m in metadata {
            allBuffers.append(.table([.ref(.bytes(m.bytes))]))
            metaTables.append(.table([.ref(.string(m.name)), .u32(UInt32(allBuffers.count - 1))]))
        }
        let subgraph = TFLFBNode.table([
            .ref(.tables(tensors)), .ref(.ints(inputs)), .ref(.ints(outputs)), .ref(.tables(operators)),
            .ref(.string("main")),
        ])
        return TFLFBWriter.serialize(.table([
            .u32(version), .ref(.tables(opcodes)), .ref(.tables([subgraph])), description.map { .ref(.string($0)) },
            .ref(.tables(allBuffers)), nil, metaTables.isEmpty ? nil : .ref(.tables(metaTables)),
        ]))
    }
}

func tflFloatBytes(_ v: [Float]) -> [UInt8] { v.flatMap { tflLE($0.bitPattern) } }
func tflHalfBytes(_ v: [Float]) -> [UInt8] { v.flatMap { tflLE(Float16($0).bitPattern) } }
func tflInt32Bytes(_ v: [Int32]) -> [UInt8] { v.flatMap { tflLE($0) } }

/// Where the real models live (scripts/setup fetches them).
enum TFLiteRealModels {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("models").path

    static func path(_ name: String) -> String { dir + "/" + name + ".tflite" }

    static func bytes(_ name: String) throws -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path(name)) else {
            throw XCTSkip("models/\(name).tflite is missing; run scripts/setup")
        }
        return [UInt8](d)
    }
}
