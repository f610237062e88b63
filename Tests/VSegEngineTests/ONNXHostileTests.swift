import Foundation
import XCTest
import VSegCore
import VSegEngine

/// Damaged and hostile ONNX files: every one must throw an `EngineError` (or load),
/// never trap, and never allocate more than the file could justify.
final class ONNXHostileTests: XCTestCase {
    typealias B = ONNXBuild

    private func expectEngineErrorOrGraph(_ bytes: [UInt8], path: String = "/tmp/vseg-onnx-hostile/m.onnx",
                                          _ what: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try ONNXImporter.load(bytes: bytes, path: path)
        } catch is EngineError {
        } catch {
            XCTFail("\(what()): non-EngineError \(error)", file: file, line: line)
        }
    }

    private func expectMalformed(_ bytes: [UInt8], path: String = "/tmp/vseg-onnx-hostile/m.onnx", file: StaticString = #filePath,
                                 line: UInt = #line) {
        XCTAssertThrowsError(try ONNXImporter.load(bytes: bytes, path: path), file: file, line: line) { e in
            guard case EngineError.malformedModel = e else { return XCTFail("expected malformedModel, got \(e)", file: file, line: line) }
        }
    }

    private var smallModel: [UInt8] {
        B.model(nodes: [B.node("Conv", ["x", "w"], ["c"], [B.attr("kernel_shape", ints: [1, 1])]), B.node("Relu", ["c"], ["y"])],
                initializers: [B.floatTensor("w", [2, 3, 1, 1], [1, 2, 3, 4, 5, 6])],
                inputs: [B.valueInfo("x", [1, 3, 4, 4])], outputs: [B.valueInfo("y", [1, 2, 4, 4])])
    }

    func testMissingFileIsModelNotFound() {
        XCTAssertThrowsError(try ONNXImporter.load(path: "/nonexistent/vseg/model.onnx")) { e in
            guard case EngineError.modelNotFound = e else { return XCTFail("\(e)") }
        }
    }

    func testEveryTruncationThrowsOrLoads() throws {
        let m = smallModel
        XCTAssertNoThrow(try ONNXImporter.load(bytes: m, path: "m.onnx"))
        var threw = 0
        for n in 0..<m.count {
            do { _ = try ONNXImporter.load(bytes: Array(m[..<n]), path: "m.onnx") } catch is EngineError { threw += 1 } catch { XCTFail("\(error)") }
        }
        XCTAssertGreaterThan(threw, m.count * 9 / 10)
    }

    func testBadVarintsAndLengths() {
        expectMalformed([0x08] + [UInt8](repeating: 0xFF, count: 11))            // varint longer than 10 bytes
        expectMalformed([0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])   // overflows 64 bits
        expectMalformed([0x08, 0x80])                                             // truncated varint
        expectMalformed([0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00])               // graph length 4 GiB in a 7-byte file
        expectMalformed([0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])   // length near 2^63
        expectMalformed([0x0B, 0x00])                                             // group wire type
        expectMalformed([0x00, 0x00])                                             // field number 0
        expectMalformed([])                                                       // no graph
        expectMalformed(Array("not an onnx model at all".utf8))
    }

    func testAbsurdDimsAreRejectedWithoutAllocating() {
        // 2^40 elements declared, 4 bytes present
        var t = ONNXPB()
        t.packedInts(1, [1 << 20, 1 << 20]); t.int(2, 1); t.raw(9, [0, 0, 0, 0]); t.string(8, "w")
        let model = B.model(nodes: [B.node("Add", ["x", "w"], ["y"])], initializers: [t],
                            inputs: [B.valueInfo("x", [1, 4])], outputs: [B.valueInfo("y", [1, 4])])
        XCTAssertThrowsError(try ONNXImporter.load(bytes: model, path: "m.onnx")) { e in
            guard case EngineError.invalidShape = e else { return XCTFail("\(e)") }
        }
        // negative dim
        var n = ONNXPB()
        n.packedInts(1, [-4]); n.int(2, 1); n.string(8, "w")
        XCTAssertThrowsError(try ONNXImporter.load(bytes: B.model(nodes: [], initializers: [n], inputs: [], outputs: [], opset: 13), path: "m.onnx"))
        // an input declared with 2^40 elements
        let big = B.model(nodes: [B.node("Relu", ["x"], ["y"])], inputs: [B.valueInfo("x", [1, 3, 1 << 20, 1 << 20])],
                          outputs: [B.valueInfo("y", [1, 3, 1 << 20, 1 << 20])])
        XCTAssertThrowsError(try ONNXImporter.load(bytes: big, path: "m.onnx")) { e in
            guard case EngineError.invalidShape = e else { return XCTFail("\(e)") }
        }
        // ConstantOfShape asked for 2^40 elements
        let cos = B.model(nodes: [B.node("ConstantOfShape", ["s"], ["y"])], initializers: [B.int64Tensor("s", [2], [1 << 20, 1 << 20])],
                          inputs: [], outputs: [B.valueInfo("y", [1 << 20, 1 << 20])])
        XCTAssertThrowsError(try ONNXImporter.load(bytes: cos, path: "m.onnx"))
    }

    func testExtremeIntegerAttributesDoNotTrap() {
        let data = ONNXBuild.floatTensor("d", [4, 6], (0..<24).map(Float.init))
        for step in [Int64.min, Int64.max, -1, 3] {
            let model = B.model(nodes: [B.node("Slice", ["d", "st", "en", "ax", "sp"], ["y"])],
                                initializers: [data, B.int64Tensor("st", [1], [Int64.max]), B.int64Tensor("en", [1], [Int64.min]),
                                               B.int64Tensor("ax", [1], [1]), B.int64Tensor("sp", [1], [step])],
                                inputs: [], outputs: [B.valueInfo("y", [4, nil])])
            expectEngineErrorOrGraph(model, "slice step \(step)")
        }
        let conv = B.model(nodes: [B.node("Conv", ["x", "w"], ["y"], [B.attr("group", int: Int.max), B.attr("strides", ints: [Int.max, 1]),
                                                                       B.attr("pads", ints: [Int.min, 0, 0, 0])])],
                           initializers: [B.floatTensor("w", [0, 1, 1, 1], [])],
                           inputs: [B.valueInfo("x", [1, 3, 4, 4])], outputs: [B.valueInfo("y", [1, 2, 4, 4])])
        XCTAssertThrowsError(try ONNXImporter.load(bytes: conv, path: "m.onnx"))
        let reshape = B.model(nodes: [B.node("Reshape", ["x", "s"], ["y"])],
                              initializers: [B.int64Tensor("s", [3], [Int64.max, Int64.max, -1])],
                              inputs: [B.valueInfo("x", [1, 3, 4, 4])], outputs: [B.valueInfo("y", [1, 2, 4, 4])])
        XCTAssertThrowsError(try ONNXImporter.load(bytes: reshape, path: "m.onnx"))
    }

    func testRawDataSizeMismatch() {
        var t = ONNXPB()
        t.packedInts(1, [2, 3, 1, 1]); t.int(2, 1); t.raw(9, [0, 0, 0, 0, 0, 0, 0, 0]); t.string(8, "w")
        let model = B.model(nodes: [B.node("Conv", ["x", "w"], ["y"])], initializers: [t],
                            inputs: [B.valueInfo("x", [1, 3, 4, 4])], outputs: [B.valueInfo("y", [1, 2, 4, 4])])
        expectMalformed(model)
    }

    func testExternalDataCannotLeaveTheModelDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vseg-onnx-ext-\(getpid())")
        let sub = dir.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var floats: [UInt8] = []
        for x: Float in [1, 2, 3, 4, 5, 6] { withUnsafeBytes(of: x.bitPattern.littleEndian) { floats += $0 } }
        try Data(floats).write(to: dir.appendingPathComponent("outside.bin"))
        try Data([0, 0, 0, 0] + floats).write(to: sub.appendingPathComponent("inside.bin"))
        func model(_ location: String, offset: Int = 4, length: Int? = 24) -> [UInt8] {
            var t = ONNXPB()
            t.packedInts(1, [2, 3, 1, 1]); t.int(2, 1); t.string(8, "w")
            var entries = [("location", location), ("offset", String(offset))]
            if let l = length { entries.append(("length", String(l))) }
            for (k, v) in entries { var e = ONNXPB(); e.string(1, k); e.string(2, v); t.message(13, e) }
            t.int(14, 1)
            return B.model(nodes: [B.node("Conv", ["x", "w"], ["y"])], initializers: [t],
                           inputs: [B.valueInfo("x", [1, 3, 4, 4])], outputs: [B.valueInfo("y", [1, 2, 4, 4])])
        }
        let path = sub.appendingPathComponent("m.onnx").path
        let g = try ONNXImporter.load(bytes: model("inside.bin"), path: path)
        XCTAssertEqual(g.tensors[g.nodes[0].inputs[1]].data?.asFloats, [1, 2, 3, 4, 5, 6])
        expectMalformed(model("../outside.bin", offset: 0), path: path)
        expectMalformed(model(dir.appendingPathComponent("outside.bin").path, offset: 0), path: path)
        expectMalformed(model("inside.bin", offset: 8), path: path)            // runs past the end
        expectMalformed(model("inside.bin", offset: 4, length: 20), path: path) // length disagrees with dims
        expectMalformed(model("missing.bin"), path: path)
        // a symlink inside the directory pointing out of it
        try FileManager.default.createSymbolicLink(at: sub.appendingPathComponent("link.bin"),
                                                   withDestinationURL: dir.appendingPathComponent("outside.bin"))
        expectMalformed(model("link.bin", offset: 0), path: path)
    }

    /// Seeded random byte mutations of a generated model and of a hand-built one.
    func testRandomMutationsThrowOrLoad() throws {
        let fixture = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try ONNXFixtures.model("ops_misc"))))
        let lraspp = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try ONNXFixtures.model("lraspp"))))
        var rng = ONNXFuzzRNG(seed: 0x5EED_0A11)
        var loaded = 0, failed = 0
        for (base, count) in [(fixture, 3000), (smallModel, 2000), (lraspp, 300)] {
            for i in 0..<count {
                var m = base
                let edits = 1 + Int(rng.next() % 4)
                for _ in 0..<edits {
                    let at = Int(rng.next() % UInt64(m.count))
                    switch rng.next() % 4 {
                    case 0: m[at] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: m[at] ^= UInt8(1) << UInt8(rng.next() % 8)
                    case 2: m[at] = [0x00, 0x7F, 0x80, 0xFF][Int(rng.next() % 4)]
                    default: m.removeSubrange(at..<min(m.count, at + 1 + Int(rng.next() % 16)))
                    }
                    if m.isEmpty { break }
                }
                do {
                    _ = try ONNXImporter.load(bytes: m, path: "/tmp/vseg-onnx-hostile/m.onnx")
                    loaded += 1
                } catch is EngineError {
                    failed += 1
                } catch {
                    XCTFail("mutation \(i) of a \(base.count)-byte model: non-EngineError \(error)")
                }
            }
        }
        // Both outcomes must occur, or the mutations are not reaching the parser/converter.
        XCTAssertGreaterThan(loaded, 100)
        XCTAssertGreaterThan(failed, 1000)
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        XCTAssertLessThan(usage.ru_maxrss, 2 << 20, "peak RSS \(usage.ru_maxrss) KiB: a mutation allocated a giant buffer")
    }
}

/// Small deterministic generator for reproducible fuzzing.
typealias ONNXFuzzRNG = SplitMix64
