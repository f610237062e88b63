import XCTest
@testable import VSegEngine
import VSegCore

/// Empirical bias correction: the table's `bias` lines reach the INT8 convs, and
/// `BiasCorrection.apply` removes a systematic per-channel error that int8
/// weight rounding puts into a conv's output.
final class BiasCorrectionTests: XCTestCase {
    /// x [1,8,8,4] in [0, 1] -> conv "biased" (3x3, 3 output channels, ReLU) ->
    /// conv "mix" (1x1, 2 channels, no activation) -> output.
    ///
    /// Each "biased" channel has one large weight (it sets the per-channel int8
    /// step to large / 127) and many small ones of 0.45 steps, which int8 rounds
    /// to 0: with inputs >= 0 every output of the channel comes out low by about
    /// 0.45 step x the sum of those inputs, a shift no rounding of uint8
    /// activations averages away.
    func graph() -> Graph {
        var g = Graph(format: .builtin)
        let x = g.addTensor(TensorInfo(name: "x", shape: [1, 8, 8, 4], dtype: .float32))
        g.inputs = [GraphIO(tensor: x, name: "x")]
        let taps = 3 * 3 * 4
        var w = [Float](repeating: 0, count: 3 * taps)
        for o in 0 ..< 3 {
            let large = Float(o + 1)
            let step = large / 127
            for k in 0 ..< taps { w[o * taps + k] = 0.45 * step }
            w[o * taps + 13] = large
        }
        let wa = g.addConstant(name: "wa", shape: [3, 3, 3, 4], data: .float32(w))
        let ba = g.addConstant(name: "ba", shape: [3], data: .float32([0.2, 0.1, 0.3]))
        let a = g.addTensor(TensorInfo(name: "biased", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .conv2D(ConvAttrs(kernel: (3, 3), padding: .same, activation: .relu)), inputs: [x, wa, ba],
                            outputs: [a], name: "biased"))
        let wb = g.addConstant(name: "wb", shape: [2, 1, 1, 3], data: .float32([0.7, -0.3, 0.5, 0.2, 0.6, -0.4]))
        let bb = g.addConstant(name: "bb", shape: [2], data: .float32([0.05, -0.05]))
        let b = g.addTensor(TensorInfo(name: "mix", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .conv2D(ConvAttrs(kernel: (1, 1))), inputs: [a, wb, bb], outputs: [b], name: "mix"))
        g.outputs = [GraphIO(tensor: b, name: "mix")]
        return g
    }

    func samples(_ n: Int, seed: UInt64) -> [[[Float]]] {
        var r = SeededRandom(seed: seed)
        return (0 ..< n).map { _ in [r.floats(256, 0, 1)] }
    }

    func calibrated(_ model: Model, _ inputs: [[[Float]]]) throws -> QuantTable {
        let c = try Calibrator(model: model, threads: 1)
        for s in inputs {
            _ = c.session.input(0).update(fromContentsOf: s[0])
            c.addSample()
        }
        return c.table(method: .minmax, modelFile: "mem", modelSHA256: String(repeating: "0", count: 64))
    }

    /// Per channel, the mean INT8 - FP32 of tensor `key` over `inputs` (all elements).
    func meanError(_ model: Model, _ table: QuantTable, key: String, channels: Int, _ inputs: [[[Float]]]) throws -> [Double] {
        let f = try Session(model: model, threads: 1, precision: .fp32Calibration)
        let q = try Session(model: model, threads: 1, precision: .int8(table.tensorQuantization))
        var sum = [Double](repeating: 0, count: channels), count = 0
        for s in inputs {
            var ref: [Float] = []
            _ = f.input(0).update(fromContentsOf: s[0])
            f.runObserving(only: [key]) { _, v in ref = Array(v) }
            _ = q.input(0).update(fromContentsOf: s[0])
            q.runObserving(only: [key]) { _, v in
                XCTAssertEqual(v.count, ref.count)
                for i in 0 ..< v.count { sum[i % channels] += Double(v[i]) - Double(ref[i]) }
                count += v.count / channels
            }
        }
        return sum.map { $0 / Double(max(count, 1)) }
    }

    func testRemovesTheSystematicErrorOfRoundedWeights() throws {
        let model = try Model(graph: graph())
        let calibration = samples(12, seed: 11), held = samples(12, seed: 12)
        var table = try calibrated(model, calibration)
        let before = try meanError(model, table, key: "mix", channels: 2, held)
        let firstBefore = try meanError(model, table, key: "biased", channels: 3, held)
        XCTAssertGreaterThan(firstBefore.map(abs).max()!, 0.02, "the graph is built to shift 'biased': \(firstBefore)")

        let steps = try BiasCorrection.apply(model: model, table: &table, inputs: calibration, threads: 1)
        XCTAssertEqual(steps.map(\.key), ["biased", "mix"], "both INT8 convs, in graph order")
        XCTAssertEqual(steps.map(\.channels), [3, 2])
        XCTAssertEqual(steps[0].correctedChannels, 3)
        XCTAssertLessThan(steps[0].meanBiasBefore, 0, "small weights rounded to 0 make the channel low")
        let b = try XCTUnwrap(table.entries.first { $0.key == "biased" }?.biasCorrection)
        XCTAssertEqual(b.count, 3)
        XCTAssertTrue(b.allSatisfy { $0 > 0 }, "the correction raises the bias: \(b)")
        XCTAssertNotNil(table.entries.first { $0.key == "mix" }?.biasCorrection)
        XCTAssertNil(table.entries.first { $0.key == "x" }?.biasCorrection, "a graph input has no conv")

        // On frames the correction never saw, the shift is mostly gone.
        let firstAfter = try meanError(model, table, key: "biased", channels: 3, held)
        let after = try meanError(model, table, key: "mix", channels: 2, held)
        for c in 0 ..< 3 { XCTAssertLessThan(abs(firstAfter[c]), 0.3 * abs(firstBefore[c]), "biased channel \(c): \(firstBefore) -> \(firstAfter)") }
        XCTAssertLessThan(after.map(abs).max()!, 0.3 * before.map(abs).max()!, "output: \(before) -> \(after)")

        // The text table carries it (format 2), and a reloaded table runs the same.
        let text = table.serialized()
        XCTAssertTrue(text.contains("format vseg-qtable 2\n"))
        XCTAssertTrue(text.contains("\nbias biased "))
        XCTAssertEqual(try QuantTable.parse(text: text, path: "t"), table)

        // Deterministic, whatever the thread count.
        var again = try calibrated(model, calibration)
        try BiasCorrection.apply(model: model, table: &again, inputs: calibration, threads: 2)
        XCTAssertEqual(again, table)
    }

    func testPassAddsTheCorrectionToTheBias() throws {
        let model = try Model(graph: graph())
        let inputs = samples(4, seed: 3)
        let table = try calibrated(model, inputs)
        var shifted = table
        let i = try XCTUnwrap(shifted.entries.firstIndex { $0.key == "mix" })
        shifted.entries[i].biasCorrection = [0.5, -0.25]
        let plain = try Session(model: model, threads: 1, precision: .int8(table.tensorQuantization))
        let moved = try Session(model: model, threads: 1, precision: .int8(shifted.tensorQuantization))
        for s in [plain, moved] {
            _ = s.input(0).update(fromContentsOf: inputs[0][0])
            try s.run()
        }
        let p = Array(plain.output(0)), m = Array(moved.output(0))
        // "mix" writes float32 from its accumulators: the shift is exact up to the int32 bias rounding.
        for k in 0 ..< p.count { XCTAssertEqual(m[k] - p[k], k % 2 == 0 ? 0.5 : -0.25, accuracy: 1e-3, "element \(k)") }

        shifted.entries[i].biasCorrection = [1, 2, 3]
        XCTAssertThrowsError(try Session(model: model, threads: 1, precision: .int8(shifted.tensorQuantization))) { e in
            XCTAssertTrue("\(e)".contains("3 values"), "\(e)")
            XCTAssertTrue("\(e)".contains("2 output channels"), "\(e)")
        }
        // A layer kept FP32 ignores its correction.
        shifted.entries[i].keepFP32 = true
        XCTAssertNoThrow(try Session(model: model, threads: 1, precision: .int8(shifted.tensorQuantization)))
    }
}
