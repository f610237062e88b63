import Foundation
import XCTest
import VSegCore
import VSegEngine

/// Locates .fixtures/onnx (made by scripts/fixtures/onnx.sh). Fails the test, rather than
/// skipping it, when the fixtures are missing.
enum ONNXFixtures {
    static var directory: URL {
        if let env = ProcessInfo.processInfo.environment["VSEG_ONNX_FIXTURES"] { return URL(fileURLWithPath: env) }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.appendingPathComponent(".fixtures/onnx")
    }

    static func model(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = directory.appendingPathComponent(name + ".onnx").path
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("missing ONNX fixture \(path): run scripts/fixtures/onnx.sh", file: file, line: line)
            throw FixtureMissing(path: path)
        }
        return path
    }

    struct FixtureMissing: Error, CustomStringConvertible {
        var path: String
        var description: String { "missing ONNX fixture \(path): run scripts/fixtures/onnx.sh" }
    }

    static func referenceDir(_ name: String) -> URL { directory.appendingPathComponent(name) }
}

/// A minimal protobuf writer for hand-built ONNX models in tests.
struct ONNXPB {
    var bytes: [UInt8] = []

    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }
    mutating func tag(_ field: Int, _ wire: Int) { varint(UInt64(field << 3 | wire)) }
    mutating func int(_ field: Int, _ v: Int64) { tag(field, 0); varint(UInt64(bitPattern: v)) }
    mutating func raw(_ field: Int, _ b: [UInt8]) { tag(field, 2); varint(UInt64(b.count)); bytes += b }
    mutating func string(_ field: Int, _ s: String) { raw(field, Array(s.utf8)) }
    mutating func message(_ field: Int, _ m: ONNXPB) { raw(field, m.bytes) }
    mutating func float(_ field: Int, _ v: Float) {
        tag(field, 5)
        withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 }
    }
    mutating func packedInts(_ field: Int, _ v: [Int64]) {
        var inner = ONNXPB()
        for x in v { inner.varint(UInt64(bitPattern: x)) }
        raw(field, inner.bytes)
    }
    mutating func packedFloats(_ field: Int, _ v: [Float]) {
        var b: [UInt8] = []
        for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { b += $0 } }
        raw(field, b)
    }
}

/// Builders for onnx.proto messages (field numbers from onnx/onnx.proto).
enum ONNXBuild {
    static func floatTensor(_ name: String, _ dims: [Int], _ values: [Float], raw: Bool = true) -> ONNXPB {
        var t = ONNXPB()
        t.packedInts(1, dims.map(Int64.init))
        t.int(2, 1)
        if raw {
            var b: [UInt8] = []
            for x in values { withUnsafeBytes(of: x.bitPattern.littleEndian) { b += $0 } }
            t.raw(9, b)
        } else {
            for x in values { t.float(4, x) }         // unpacked float_data
        }
        t.string(8, name)
        return t
    }

    static func int64Tensor(_ name: String, _ dims: [Int], _ values: [Int64]) -> ONNXPB {
        var t = ONNXPB()
        for d in dims { t.int(1, Int64(d)) }            // unpacked dims
        t.int(2, 7)
        t.packedInts(7, values)
        t.string(8, name)
        return t
    }

    static func valueInfo(_ name: String, _ dims: [Int?], elemType: Int64 = 1) -> ONNXPB {
        var shape = ONNXPB()
        for d in dims {
            var dim = ONNXPB()
            if let d = d { dim.int(1, Int64(d)) } else { dim.string(2, "dyn") }
            shape.message(1, dim)
        }
        var tensorType = ONNXPB()
        tensorType.int(1, elemType)
        tensorType.message(2, shape)
        var type = ONNXPB()
        type.message(1, tensorType)
        var v = ONNXPB()
        v.string(1, name)
        v.message(2, type)
        return v
    }

    static func attr(_ name: String, ints: [Int], packed: Bool = true) -> ONNXPB {
        var a = ONNXPB()
        a.string(1, name)
        if packed { a.packedInts(8, ints.map(Int64.init)) } else { for i in ints { a.int(8, Int64(i)) } }
        a.int(20, 7)
        return a
    }
    static func attr(_ name: String, int: Int) -> ONNXPB {
        var a = ONNXPB(); a.string(1, name); a.int(3, Int64(int)); a.int(20, 2); return a
    }
    static func attr(_ name: String, float: Float) -> ONNXPB {
        var a = ONNXPB(); a.string(1, name); a.float(2, float); a.int(20, 1); return a
    }
    static func attr(_ name: String, string: String) -> ONNXPB {
        var a = ONNXPB(); a.string(1, name); a.string(4, string); a.int(20, 3); return a
    }
    static func attr(_ name: String, tensor: ONNXPB) -> ONNXPB {
        var a = ONNXPB(); a.string(1, name); a.message(5, tensor); a.int(20, 4); return a
    }

    static func node(_ op: String, _ inputs: [String], _ outputs: [String], _ attrs: [ONNXPB] = []) -> ONNXPB {
        var n = ONNXPB()
        for i in inputs { n.string(1, i) }
        for o in outputs { n.string(2, o) }
        n.string(3, op + "_" + (outputs.first ?? ""))
        n.string(4, op)
        for a in attrs { n.message(5, a) }
        return n
    }

    static func model(nodes: [ONNXPB], initializers: [ONNXPB] = [], inputs: [ONNXPB], outputs: [ONNXPB], opset: Int = 13) -> [UInt8] {
        var g = ONNXPB()
        for n in nodes { g.message(1, n) }
        g.string(2, "test")
        for t in initializers { g.message(5, t) }
        for i in inputs { g.message(11, i) }
        for o in outputs { g.message(12, o) }
        var opsetId = ONNXPB()
        opsetId.string(1, "")
        opsetId.int(2, Int64(opset))
        var m = ONNXPB()
        m.int(1, 8)
        m.string(2, "vseg-tests")
        m.message(7, g)
        m.message(8, opsetId)
        return m.bytes
    }
}

extension Graph {
    /// Nodes whose op name is `name` ("Conv2D", "Transpose", ...).
    func onnxNodes(named name: String) -> [Node] { nodes.filter { $0.op.name == name } }

    func onnxOpCounts() -> [String: Int] {
        var h: [String: Int] = [:]
        for n in nodes { h[n.op.name, default: 0] += 1 }
        return h
    }
}
