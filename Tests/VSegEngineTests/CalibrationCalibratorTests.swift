import XCTest
@testable import VSegEngine
import VSegCore

/// Calibrator on small in-memory models.
final class CalibrationCalibratorTests: XCTestCase {
    /// x [1,4,4,2] -> 1x1 conv (channel 0: 2x + 1, channel 1: -x) -> relu -> output.
    func affineReluGraph() -> Graph {
        var g = Graph(format: .builtin)
        let x = g.addTensor(TensorInfo(name: "x", shape: [1, 4, 4, 2], dtype: .float32))
        g.inputs = [GraphIO(tensor: x, name: "x")]
        let w = g.addConstant(name: "w", shape: [2, 1, 1, 2], data: .float32([2, 0, 0, -1]))
        let b = g.addConstant(name: "b", shape: [2], data: .float32([1, 0]))
        let y = g.addTensor(TensorInfo(name: "conv", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .conv2D(ConvAttrs(kernel: (1, 1))), inputs: [x, w, b], outputs: [y], name: "conv"))
        let z = g.addTensor(TensorInfo(name: "relu", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .unary(.relu), inputs: [y], outputs: [z], name: "relu"))
        g.outputs = [GraphIO(tensor: z, name: "relu")]
        return g
    }

    /// Inputs on a 1/4 grid so that every product and sum is exact.
    func input(_ seed: UInt64) -> [Float] {
        var r = SeededRandom(seed: seed)
        return (0 ..< 32).map { _ in Float(r.int(-12 ... 12)) / 4 }
    }

    func testMinMaxMatchesHandComputedRanges() throws {
        let c = try Calibrator(model: try Model(graph: affineReluGraph()), threads: 1)
        var xs: [Float] = [], outs: [Float] = []
        for seed: UInt64 in 1 ... 4 {
            let v = input(seed)
            _ = c.session.input(0).update(fromContentsOf: v)
            c.addSample()
            xs += v
            for i in stride(from: 0, to: v.count, by: 2) {
                let y0: Float = 2 * v[i] + 1, y1: Float = -v[i + 1]
                outs.append(max(0, y0))
                outs.append(max(0, y1))
            }
        }
        XCTAssertEqual(c.sampleCount, 4)
        let t = c.table(method: .minmax, modelFile: "mem", modelSHA256: String(repeating: "0", count: 64), inputs: ["a"], every: 3)
        XCTAssertEqual(t.entries.map(\.key), c.session.observedTensorNames, "one entry per observed tensor, in graph order")
        XCTAssertEqual(t.frames, 4)
        XCTAssertEqual(t.every, 3)
        let byKey = Dictionary(uniqueKeysWithValues: t.entries.map { ($0.key, $0) })
        XCTAssertEqual(byKey["x"]?.min, xs.min())
        XCTAssertEqual(byKey["x"]?.max, xs.max())
        // The relu is fused into the conv for calibration; the output tensor is what is observed.
        let outKey = try XCTUnwrap(c.session.observedTensorNames.last)
        XCTAssertEqual(byKey[outKey]?.min, outs.min())
        XCTAssertEqual(byKey[outKey]?.max, outs.max())
        XCTAssertEqual(byKey[outKey]?.quant, ActivationQuant(min: outs.min()!, max: outs.max()!))
    }

    func testRetainsInputsAndFP32Outputs() throws {
        let c = try Calibrator(model: try Model(graph: affineReluGraph()), threads: 1, retainSamples: 2)
        for seed: UInt64 in 1 ... 3 {
            _ = c.session.input(0).update(fromContentsOf: input(seed))
            c.addSample()
        }
        // Two fit; the third halves the rate: samples 0 and 2 stay.
        XCTAssertEqual(c.retainedIndices, [0, 2])
        XCTAssertEqual(c.retainedInputs.count, 2)
        XCTAssertEqual(c.retainedInputs[1][0], input(3))
        XCTAssertEqual(c.retainedOutputs.count, 2)
        let v = input(1)
        XCTAssertEqual(c.retainedOutputs[0][0][0], max(0, 2 * v[0] + 1))
        XCTAssertEqual(c.retainedOutputs[0][0][1], max(0, -v[1]))
        let w = input(3)
        XCTAssertEqual(c.retainedOutputs[1][0][1], max(0, -w[1]))
    }

    func testRetainedSamplesStaySpreadAndBounded() throws {
        let c = try Calibrator(model: try Model(graph: affineReluGraph()), threads: 1, retainSamples: 4, retainOutputs: false)
        for seed: UInt64 in 1 ... 11 {
            _ = c.session.input(0).update(fromContentsOf: input(seed))
            c.addSample()
            XCTAssertLessThanOrEqual(c.retainedInputs.count, 4)
        }
        XCTAssertEqual(c.retainedIndices, [0, 4, 8])
        XCTAssertEqual(c.retainedInputs.map { $0[0] }, [input(1), input(5), input(9)])
        XCTAssertTrue(c.retainedOutputs.isEmpty)
        XCTAssertEqual(c.sampleCount, 11)
    }

    /// chainGraph-like model with random weights: same samples give the same
    /// table bytes, on one thread or two, for every method.
    func testTableBytesDoNotDependOnThreads() throws {
        var r = SeededRandom(seed: 3)
        var g = Graph(format: .builtin)
        let x = g.addTensor(TensorInfo(name: "x", shape: [1, 12, 12, 8], dtype: .float32))
        g.inputs = [GraphIO(tensor: x, name: "x")]
        var cur = x
        for i in 0 ..< 3 {
            let w = g.addConstant(name: "w\(i)", shape: [8, 3, 3, 8], data: .float32(r.floats(8 * 9 * 8, -0.3, 0.3)))
            let b = g.addConstant(name: "b\(i)", shape: [8], data: .float32(r.floats(8)))
            let y = g.addTensor(TensorInfo(name: "conv\(i)", shape: [], dtype: .float32))
            g.nodes.append(Node(op: .conv2D(ConvAttrs(kernel: (3, 3), padding: .same, activation: i == 1 ? .relu : .none)),
                                inputs: [cur, w, b], outputs: [y], name: "conv\(i)"))
            cur = y
        }
        g.outputs = [GraphIO(tensor: cur, name: "out")]
        let model = try Model(graph: g)
        var inputs: [[Float]] = []
        for _ in 0 ..< 6 { inputs.append(r.floats(12 * 12 * 8, -2, 2)) }
        func table(threads: Int, _ m: CalibrationMethod) throws -> String {
            let c = try Calibrator(model: model, threads: threads)
            for v in inputs {
                _ = c.session.input(0).update(fromContentsOf: v)
                c.addSample()
            }
            return c.table(method: m, modelFile: "m", modelSHA256: String(repeating: "1", count: 64)).serialized()
        }
        for m in [CalibrationMethod.minmax, .percentile(99.9), .entropy] {
            let one = try table(threads: 1, m)
            XCTAssertEqual(one, try table(threads: 1, m), "\(m): two runs differ")
            XCTAssertEqual(one, try table(threads: 2, m), "\(m): 1 vs 2 threads differ")
            XCTAssertEqual(one.split(separator: "\n").filter { $0.hasPrefix("tensor ") }.count, 4)
        }
    }
}
