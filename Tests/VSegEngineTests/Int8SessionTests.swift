import XCTest
@testable import VSegEngine
import VSegCore

/// Builds INT8 sessions from in-memory graphs: ranges come from an FP32
/// calibration session's `runObserving` (min/max over the given samples).
enum Int8GraphHarness {
    static func minMaxTable(_ model: Model, samples: [[[Float]]]) throws -> [String: TensorQuantization] {
        let s = try Session(model: model, threads: 1, precision: .fp32Calibration)
        var lo: [String: Float] = [:], hi: [String: Float] = [:]
        for sample in samples {
            for (i, data) in sample.enumerated() { let b = s.input(i); for j in 0..<b.count { b[j] = data[j] } }
            s.runObserving { name, v in
                var a = lo[name] ?? .infinity, b = hi[name] ?? -.infinity
                for x in v { a = min(a, x); b = max(b, x) }
                lo[name] = a; hi[name] = b
            }
        }
        var t: [String: TensorQuantization] = [:]
        for (k, a) in lo { t[k] = TensorQuantization(quant: ActivationQuant(min: a, max: hi[k]!)) }
        return t
    }

    static func run(_ s: Session, _ sample: [[Float]]) throws -> [[Float]] {
        for (i, data) in sample.enumerated() { let b = s.input(i); for j in 0..<b.count { b[j] = data[j] } }
        try s.run()
        return (0..<s.outputCount).map { Array(s.output($0)) }
    }

    /// A graph input, for `chain`.
    static func input(_ g: inout Graph, _ shape: [Int]) -> Int {
        let t = g.addTensor(TensorInfo(name: "x", shape: shape, dtype: .float32))
        g.inputs.append(GraphIO(tensor: t, name: "x"))
        return t
    }

    /// Appends `op(x, constants...)` and returns its output tensor.
    static func node(_ g: inout Graph, _ op: Op, _ x: Int, _ consts: [([Int], [Float])], _ name: String) -> Int {
        var ins = [x]
        for (k, c) in consts.enumerated() { ins.append(g.addConstant(name: "\(name).c\(k)", shape: c.0, data: .float32(c.1))) }
        let y = g.addTensor(TensorInfo(name: name, shape: [], dtype: .float32))
        g.nodes.append(Node(op: op, inputs: ins, outputs: [y], name: name))
        return y
    }
}

final class Int8SessionTests: XCTestCase {
    private func conv(_ k: Int, stride: Int = 1, pad: Padding = .same, act: Activation = .none, groups: Int = 1,
                      dilation: Int = 1) -> ConvAttrs {
        ConvAttrs(kernel: (k, k), stride: (stride, stride), dilation: (dilation, dilation), padding: pad, groups: groups,
                  activation: act)
    }

    /// input -> 3x3/2 conv+ReLU6 -> depthwise 3x3+ReLU -> ONNX-style grouped depthwise -> 1x1 conv
    /// -> transposed 4x4/2 conv -> output, sizes from the seed.
    private func chainModel(_ rng: inout SeededRandom, h: Int, w: Int, c: Int) throws -> Model {
        var g = Graph(format: .builtin)
        let x = Int8GraphHarness.input(&g, [1, h, w, 3])
        let a = Int8GraphHarness.node(&g, .conv2D(conv(3, stride: 2, act: .relu6)), x,
                                      [([c, 3, 3, 3], rng.floats(c * 27, -0.5, 0.5)), ([c], rng.floats(c, -0.2, 0.2))], "conv0")
        let b = Int8GraphHarness.node(&g, .depthwiseConv2D(conv(3, act: .relu), multiplier: 1), a,
                                      [([1, 3, 3, c], rng.floats(9 * c, -1, 1)), ([c], rng.floats(c))], "dw1")
        let b2 = Int8GraphHarness.node(&g, .conv2D(conv(3, pad: .explicit(top: 2, left: 2, bottom: 2, right: 2),
                                                        groups: c, dilation: 2)), b,
                                       [([c, 3, 3, 1], rng.floats(9 * c, -1, 1))], "dwgroups")
        let d = Int8GraphHarness.node(&g, .conv2D(conv(1)), b2,
                                      [([2 * c + 1, 1, 1, c], rng.floats((2 * c + 1) * c, -0.4, 0.4)),
                                       ([2 * c + 1], rng.floats(2 * c + 1))], "pw2")
        let e = Int8GraphHarness.node(&g, .transposeConv2D(conv(4, stride: 2, pad: .explicit(top: 1, left: 1, bottom: 1, right: 1)),
                                                           outputPadding: (0, 0)), d,
                                      [([5, 4, 4, 2 * c + 1], rng.floats(5 * 16 * (2 * c + 1), -0.3, 0.3)), ([5], rng.floats(5))],
                                      "up3")
        g.outputs = [GraphIO(tensor: e, name: "y")]
        return try Model(graph: g)
    }

    func testConvChainIsBitExactAgainstIntegerReference() throws {
        var rng = SeededRandom(seed: 0x1A8)
        for (h, w, c) in [(17, 23, 8), (9, 30, 17), (32, 32, 16)] {
            let model = try chainModel(&rng, h: h, w: w, c: c)
            let samples = (0..<3).map { _ in [rng.floats(h * w * 3, 0, 1)] }
            let table = try Int8GraphHarness.minMaxTable(model, samples: samples)
            let fp32 = try Session(model: model, threads: 1)
            let ref = try Session(model: model, threads: 1, profile: false, referenceOps: true, precision: .int8(table))
            XCTAssertEqual(ref.quantizationReport?.int8Nodes, 5, "every conv runs INT8")
            XCTAssertEqual(ref.quantizationReport?.floatOutputConvs, 1, "the last conv writes float32")
            XCTAssertEqual(ref.quantizationReport?.fp32Convs ?? ["?"], [])
            XCTAssertEqual(ref.inputDType(0), .float32)
            XCTAssertEqual(ref.outputDType(0), .float32)
            for threads in [1, 2] {
                let fast = try Session(model: model, threads: threads, precision: .int8(table))
                for sample in samples {
                    let yf = try Int8GraphHarness.run(fast, sample)[0]
                    let yr = try Int8GraphHarness.run(ref, sample)[0]
                    XCTAssertEqual(yf, yr, "INT8 fast vs reference \(h)x\(w)x\(c), \(threads) threads")
                    let y32 = try Int8GraphHarness.run(fp32, sample)[0]
                    // Five layers of uint8 rounding: within a few percent of the output range.
                    let range = (y32.max()! - y32.min()!)
                    var worst: Float = 0, sum: Float = 0
                    for i in y32.indices { let d = abs(yf[i] - y32[i]); worst = max(worst, d); sum += d }
                    XCTAssertLessThan(sum / Float(y32.count), 0.02 * range, "mean error vs FP32")
                    XCTAssertLessThan(worst, 0.15 * range, "worst error vs FP32")
                }
            }
        }
    }

    func testTransposedConvPhasesMatchReference() throws {
        var rng = SeededRandom(seed: 0x7C0)
        // (kernel, stride, dilation, crop, outputPadding, inC, outC): kernel < stride, = stride, multiple, odd, dilated.
        let cases: [(Int, Int, Int, Int, Int, Int, Int)] = [(1, 2, 1, 0, 1, 3, 4), (2, 2, 1, 0, 0, 8, 1), (3, 2, 1, 1, 1, 5, 7),
                                                            (8, 4, 1, 2, 0, 16, 21), (3, 1, 2, 1, 0, 4, 3), (5, 3, 1, 0, 2, 1, 17)]
        // tail: a 1x1 conv after it, so the transposed conv writes uint8 (without: float32, the graph output).
        for ((k, s, d, crop, op, ci, co), tail) in cases.flatMap({ c in [(c, false), (c, true)] }) {
            var g = Graph(format: .builtin)
            let x = Int8GraphHarness.input(&g, [1, 7, 6, ci])
            var a = conv(k, stride: s, pad: .explicit(top: crop, left: crop, bottom: crop, right: crop), dilation: d)
            a.activation = .relu
            var y = Int8GraphHarness.node(&g, .transposeConv2D(a, outputPadding: (op, op)), x,
                                          [([co, k, k, ci], rng.floats(co * k * k * ci)), ([co], rng.floats(co))], "up")
            if tail {
                y = Int8GraphHarness.node(&g, .conv2D(conv(1)), y, [([2, 1, 1, co], rng.floats(2 * co)), ([2], rng.floats(2))], "tail")
            }
            g.outputs = [GraphIO(tensor: y, name: "y")]
            let model = try Model(graph: g)
            let samples = (0..<2).map { _ in [rng.floats(7 * 6 * ci, -1, 1)] }
            let table = try Int8GraphHarness.minMaxTable(model, samples: samples)
            let fast = try Session(model: model, threads: 2, precision: .int8(table))
            let ref = try Session(model: model, threads: 1, profile: false, referenceOps: true, precision: .int8(table))
            XCTAssertEqual(fast.quantizationReport?.int8Nodes, tail ? 2 : 1)
            XCTAssertEqual(fast.quantizationReport?.floatOutputConvs, 1)
            for sample in samples {
                XCTAssertEqual(try Int8GraphHarness.run(fast, sample)[0], try Int8GraphHarness.run(ref, sample)[0],
                               "k\(k) s\(s) d\(d) crop\(crop) op\(op) \(ci)->\(co) tail \(tail)")
            }
        }
    }

    /// Few input channels take the row-merged path (kernel rows as one tap); its
    /// padded copy (or, without padding, the input itself) and offsets must give
    /// the reference's bytes. At stride 1 with 1/2/4/8 outputs and 4...64 inputs
    /// the row-flat kernel runs instead (3x3 8->1 below).
    func testSmallChannelStemsMatchReference() throws {
        var rng = SeededRandom(seed: 0x57E)
        // (kernel, stride, pad, dilationH, inC, outC, h, w)
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int)] = [(7, 2, 3, 1, 3, 64, 20, 31), (3, 1, 1, 1, 1, 5, 9, 9),
                                                                  (5, 3, 0, 1, 4, 17, 16, 13), (3, 2, 2, 2, 8, 8, 11, 7),
                                                                  (2, 1, 0, 1, 15, 3, 6, 6), (3, 2, 0, 1, 3, 24, 17, 17),
                                                                  (3, 1, 1, 1, 8, 1, 12, 19), (3, 1, 0, 1, 4, 4, 9, 17)]
        for (k, stride, pad, dh, ci, co, h, w) in cases {
            var g = Graph(format: .builtin)
            let x = Int8GraphHarness.input(&g, [1, h, w, ci])
            var a = conv(k, stride: stride, pad: .explicit(top: pad, left: pad, bottom: pad, right: pad), act: .relu)
            a.dilation = (dh, 1)
            var y = Int8GraphHarness.node(&g, .conv2D(a), x, [([co, k, k, ci], rng.floats(co * k * k * ci)), ([co], rng.floats(co))], "stem")
            if co % 2 == 1 {  // odd outC: a tail conv, so the stem writes uint8; even: float32 output
                y = Int8GraphHarness.node(&g, .conv2D(conv(1)), y, [([3, 1, 1, co], rng.floats(3 * co)), ([3], rng.floats(3))], "tail")
            }
            g.outputs = [GraphIO(tensor: y, name: "y")]
            let model = try Model(graph: g)
            let samples = (0..<2).map { _ in [rng.floats(h * w * ci, -1, 1)] }
            let table = try Int8GraphHarness.minMaxTable(model, samples: samples)
            let ref = try Session(model: model, threads: 1, profile: false, referenceOps: true, precision: .int8(table))
            for threads in [1, 2] {
                let fast = try Session(model: model, threads: threads, precision: .int8(table))
                for sample in samples {
                    XCTAssertEqual(try Int8GraphHarness.run(fast, sample)[0], try Int8GraphHarness.run(ref, sample)[0],
                                   "k\(k) s\(stride) pad\(pad) dh\(dh) \(ci)->\(co) \(h)x\(w) threads \(threads)")
                }
            }
        }
    }

    func testFP32MarkKeepsThatLayerInFloat() throws {
        var rng = SeededRandom(seed: 0xF32)
        let model = try chainModel(&rng, h: 16, w: 16, c: 8)
        let samples = [[rng.floats(16 * 16 * 3, 0, 1)]]
        var table = try Int8GraphHarness.minMaxTable(model, samples: samples)
        table["dw1"]!.keepFP32 = true
        let s = try Session(model: model, threads: 1, precision: .int8(table))
        let r = try XCTUnwrap(s.quantizationReport)
        XCTAssertEqual(r.int8Nodes, 4)
        XCTAssertEqual(r.fp32Convs.count, 1)
        XCTAssertTrue(r.fp32Convs[0].hasPrefix("dw1"), r.fp32Convs[0])
        XCTAssertTrue(s.graph.nodes.contains { if case .dequantize = $0.op { return true }; return false })
        // Still close to FP32.
        let y = try Int8GraphHarness.run(s, samples[0])[0]
        let y32 = try Int8GraphHarness.run(try Session(model: model, threads: 1), samples[0])[0]
        let range = y32.max()! - y32.min()!
        XCTAssertLessThan(zip(y, y32).map { abs($0 - $1) }.reduce(0, +) / Float(y.count), 0.02 * range)
    }

    func testMissingRangeKeepsNodeFloat() throws {
        var rng = SeededRandom(seed: 0x0FF)
        let model = try chainModel(&rng, h: 8, w: 8, c: 4)
        var table = try Int8GraphHarness.minMaxTable(model, samples: [[rng.floats(8 * 8 * 3, 0, 1)]])
        table.removeValue(forKey: "pw2")
        let s = try Session(model: model, threads: 1, precision: .int8(table))
        // pw2 stays FP32, and so does up3: its input (pw2's output) has no range to quantize with.
        XCTAssertEqual(s.quantizationReport?.int8Nodes, 3)
        XCTAssertEqual(s.quantizationReport?.fp32Convs.count, 2)
        XCTAssertTrue(s.quantizationReport!.fp32Convs.contains { $0.hasPrefix("pw2") && $0.contains("no range") })
        let y = try Int8GraphHarness.run(s, [rng.floats(8 * 8 * 3, 0, 1)])[0]
        XCTAssertTrue(y.allSatisfy(\.isFinite))
    }
}
