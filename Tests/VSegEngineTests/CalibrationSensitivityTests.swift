import XCTest
@testable import VSegEngine
import VSegCore

/// Sensitivity ranks a layer that per-tensor uint8 cannot represent first.
final class CalibrationSensitivityTests: XCTestCase {
    /// x [1,8,8,2] feeds two 1x1 convs:
    /// - "wide": channel 0 = 1000 * x0, channel 1 = 0.01 * x1. One uint8 scale for
    ///   both (~8 per step) rounds channel 1 to 0, and the graph outputs exactly
    ///   that channel (a slice), so quantizing "wide" destroys output 0.
    /// - "mild": a well-conditioned mix of x0 and x1, output 1.
    func graph() -> Graph {
        var g = Graph(format: .builtin)
        let x = g.addTensor(TensorInfo(name: "x", shape: [1, 8, 8, 2], dtype: .float32))
        g.inputs = [GraphIO(tensor: x, name: "x")]
        let wa = g.addConstant(name: "wa", shape: [2, 1, 1, 2], data: .float32([1000, 0, 0, 0.01]))
        let ba = g.addConstant(name: "ba", shape: [2], data: .float32([0, 0]))
        let a = g.addTensor(TensorInfo(name: "wide", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .conv2D(ConvAttrs(kernel: (1, 1))), inputs: [x, wa, ba], outputs: [a], name: "wide"))
        let starts = g.addConstant(name: "starts", shape: [1], data: .int64([1]))
        let ends = g.addConstant(name: "ends", shape: [1], data: .int64([2]))
        let axes = g.addConstant(name: "axes", shape: [1], data: .int64([3]))
        let s = g.addTensor(TensorInfo(name: "small", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .slice, inputs: [a, starts, ends, axes], outputs: [s], name: "small"))
        let wb = g.addConstant(name: "wb", shape: [2, 1, 1, 2], data: .float32([0.5, 0.25, 0.25, 0.5]))
        let bb = g.addConstant(name: "bb", shape: [2], data: .float32([0.1, -0.1]))
        let b = g.addTensor(TensorInfo(name: "mild", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .conv2D(ConvAttrs(kernel: (1, 1))), inputs: [x, wb, bb], outputs: [b], name: "mild"))
        g.outputs = [GraphIO(tensor: s, name: "small"), GraphIO(tensor: b, name: "mild")]
        return g
    }

    /// The graph's model and a calibrator that has seen 4 seeded samples (all retained).
    func calibrated(seed: UInt64) throws -> (Model, Calibrator) {
        let model = try Model(graph: graph())
        let c = try Calibrator(model: model, threads: 1, retainSamples: 4)
        var r = SeededRandom(seed: seed)
        for _ in 0 ..< 4 {
            _ = c.session.input(0).update(fromContentsOf: r.floats(128, -1, 1))
            c.addSample()
        }
        return (model, c)
    }

    func testWideRangeLayerRanksFirst() throws {
        let (model, c) = try calibrated(seed: 5)
        var table = c.table(method: .minmax, modelFile: "mem", modelSHA256: String(repeating: "0", count: 64))
        XCTAssertNotNil(table.entries.first { $0.key == "wide" })
        let report = try Sensitivity.analyze(model: model, table: table, inputs: c.retainedInputs, reference: c.retainedOutputs, threads: 1)
        XCTAssertTrue(report.failed.isEmpty, "\(report.failed)")
        let keys = report.ranked.map(\.key)
        XCTAssertEqual(keys.first, "wide", "\(report.ranked)")
        XCTAssertTrue(keys.contains("mild"), "both convs can run INT8 alone: \(report.ranked)")
        XCTAssertFalse(keys.contains("x"), "a graph input has no producer to quantize")
        let wide = report.ranked[0].error, mild = try XCTUnwrap(report.ranked.first { $0.key == "mild" }).error
        XCTAssertGreaterThan(wide, 0.3, "channel 1 rounds to zero: output 0 is lost (error ~1 on one of two outputs)")
        XCTAssertLessThan(mild, 0.02, "a well-conditioned conv quantizes with a small error")
        XCTAssertGreaterThan(mild, 0, "INT8 must differ from FP32 somewhere")
        let kept = Sensitivity.keepWorstFP32(report.ranked, 1, in: &table)
        XCTAssertEqual(kept, ["wide"])
        XCTAssertEqual(table.tensorQuantization["wide"]?.keepFP32, true)
        XCTAssertEqual(table.tensorQuantization["mild"]?.keepFP32, false)
        // Entries already fp32 are not analysed again.
        let again = try Sensitivity.analyze(model: model, table: table, inputs: c.retainedInputs, reference: c.retainedOutputs, threads: 1)
        XCTAssertFalse(again.ranked.map(\.key).contains("wide"))
    }

    /// Trimming a table that keeps both convs FP32: "mild" costs almost nothing
    /// in INT8 and goes back; "wide" would lose output 0 and stays FP32.
    func testTrimTurnsCheapLayersBackToINT8() throws {
        let (model, c) = try calibrated(seed: 6)
        var table = c.table(method: .minmax, modelFile: "mem", modelSHA256: String(repeating: "0", count: 64))
        table.markFP32(["wide", "mild"])
        let report = try Sensitivity.trimFP32(model: model, table: &table, inputs: c.retainedInputs,
                                              reference: c.retainedOutputs, threads: 1, budget: 0.05)
        XCTAssertEqual(report.trimmed, ["mild"])
        XCTAssertEqual(table.tensorQuantization["mild"]?.keepFP32, false)
        XCTAssertEqual(table.tensorQuantization["wide"]?.keepFP32, true)
        XCTAssertEqual(report.baseScore, 0, accuracy: 1e-6, "both convs FP32: nothing runs INT8")
        XCTAssertGreaterThan(report.finalScore, report.baseScore)
        XCTAssertLessThanOrEqual(report.finalScore, 0.05)
        XCTAssertEqual(report.limit, 0.05)
        XCTAssertGreaterThan(report.fp32MACsBefore, report.fp32MACsAfter)
        XCTAssertEqual(report.fp32MACsAfter, 64 * 2 * 2, "wide: 8x8 pixels x 2 channels x 2 inputs")

        // A budget below what any layer costs keeps the table as it was.
        table.markFP32(["mild"])
        let none = try Sensitivity.trimFP32(model: model, table: &table, inputs: c.retainedInputs,
                                            reference: c.retainedOutputs, threads: 1, budget: 1e-9)
        XCTAssertTrue(none.trimmed.isEmpty)
        XCTAssertEqual(table.entries.filter(\.keepFP32).map(\.key).sorted(), ["mild", "wide"])
    }

    /// The score pools the error over frames: a frame whose reference output is
    /// nearly zero (an empty mask) adds its tiny absolute error, not a ratio of
    /// 1 that would rank a harmless layer first.
    func testNearZeroFrameDoesNotDecideTheScore() throws {
        var g = Graph(format: .builtin)
        let x = g.addTensor(TensorInfo(name: "x", shape: [1, 4, 4, 1], dtype: .float32))
        g.inputs = [GraphIO(tensor: x, name: "x")]
        let w = g.addConstant(name: "w", shape: [1, 1, 1, 1], data: .float32([1]))
        let y = g.addTensor(TensorInfo(name: "y", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .conv2D(ConvAttrs(kernel: (1, 1))), inputs: [x, w, -1], outputs: [y], name: "y"))
        g.outputs = [GraphIO(tensor: y, name: "y")]
        let model = try Model(graph: g)
        let c = try Calibrator(model: model, threads: 1, retainSamples: 2)
        let spread = (0 ..< 16).map { Float($0) / 15 }
        let faint = [Float](repeating: 0.001, count: 16)   // under half a uint8 step of [0, 1]: rounds to 0
        for sample in [spread, faint] {
            _ = c.session.input(0).update(fromContentsOf: sample)
            c.addSample()
        }
        let table = c.table(method: .minmax, modelFile: "mem", modelSHA256: String(repeating: "0", count: 64))
        let report = try Sensitivity.analyze(model: model, table: table, inputs: c.retainedInputs, reference: c.retainedOutputs, threads: 1)
        let score = try XCTUnwrap(report.ranked.first { $0.key == "y" }).error
        XCTAssertGreaterThan(score, 0)
        XCTAssertLessThan(score, 0.01, "the faint frame is all error but has almost no energy")
    }

    func testRelativeL2() {
        let ref: [Float] = [3, 4]
        [Float(3), 4].withUnsafeBufferPointer { XCTAssertEqual(Sensitivity.relativeL2($0, ref), 0) }
        [Float(0), 0].withUnsafeBufferPointer { XCTAssertEqual(Sensitivity.relativeL2($0, ref), 1, accuracy: 1e-12) }
        [Float(6), 8].withUnsafeBufferPointer { XCTAssertEqual(Sensitivity.relativeL2($0, ref), 1, accuracy: 1e-12) }
    }
}
