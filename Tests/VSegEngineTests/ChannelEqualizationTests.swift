import XCTest
@testable import VSegEngine
import VSegCore

/// Channel equalization: which tensors qualify, the factors, the float rewrite
/// computing the same function, and the INT8 error it removes.
final class ChannelEqualizationTests: XCTestCase {
    let sha = String(repeating: "0", count: 64)

    /// x [1,8,8,3] in [0, 1] -> conv "expand" (1x1, 6 channels, ReLU6) -> Pad 1
    /// -> depthwise "dw" (3x3, ReLU6) -> conv "project" (1x1, 2 channels) -> output.
    ///
    /// Channels 0-2 of "expand" and "dw" reach about 3-6; channels 3-5 stay under
    /// about 0.1, where a per-tensor uint8 step of ~6/255 leaves them a handful of
    /// levels. "project" reads the small channels with large weights, so their
    /// rounding dominates the output error. `addReader` also feeds "expand" to an
    /// Add, which cannot undo a per-channel scale.
    func graph(addReader: Bool = false) -> Graph {
        var g = Graph(format: .builtin)
        let x = g.addTensor(TensorInfo(name: "x", shape: [1, 8, 8, 3], dtype: .float32))
        g.inputs = [GraphIO(tensor: x, name: "x")]
        var we: [Float] = []
        for o in 0 ..< 6 {
            let gain: Float = o < 3 ? 2.5 : 0.03
            for i in 0 ..< 3 { we.append(gain * Float((o + i) % 3 + 1) * (i == 1 ? -0.3 : 1)) }
        }
        let wexp = g.addConstant(name: "we", shape: [6, 1, 1, 3], data: .float32(we))
        let bexp = g.addConstant(name: "be", shape: [6], data: .float32([0.1, 0.2, 0.05, 0.004, 0.002, 0.006]))
        let e = g.addTensor(TensorInfo(name: "expand", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .conv2D(ConvAttrs(kernel: (1, 1), activation: .relu6)), inputs: [x, wexp, bexp],
                            outputs: [e], name: "expand"))
        let pads = g.addConstant(name: "pads", shape: [4, 2], data: .int32([0, 0, 1, 1, 1, 1, 0, 0]))
        let p = g.addTensor(TensorInfo(name: "padded", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .pad(.constant), inputs: [e, pads], outputs: [p], name: "pad"))
        var wd = [Float](repeating: 0, count: 9 * 6)
        for k in 0 ..< 9 { for c in 0 ..< 6 { wd[k * 6 + c] = Float((k + c) % 5 + 1) * 0.06 * (k == 4 ? 2 : 1) } }
        let wdw = g.addConstant(name: "wd", shape: [1, 3, 3, 6], data: .float32(wd))
        let d = g.addTensor(TensorInfo(name: "dw", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .depthwiseConv2D(ConvAttrs(kernel: (3, 3), activation: .relu6), multiplier: 1),
                            inputs: [p, wdw, -1], outputs: [d], name: "dw"))
        let wp = g.addConstant(name: "wp", shape: [2, 1, 1, 6],
                               data: .float32([0.02, -0.01, 0.015, 9, -7, 8, -0.01, 0.02, 0.01, -6, 10, 7]))
        let bp = g.addConstant(name: "bp", shape: [2], data: .float32([0.1, -0.2]))
        let y = g.addTensor(TensorInfo(name: "project", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .conv2D(ConvAttrs(kernel: (1, 1))), inputs: [d, wp, bp], outputs: [y], name: "project"))
        g.outputs = [GraphIO(tensor: y, name: "project")]
        if addReader {
            let s = g.addTensor(TensorInfo(name: "sum", shape: [], dtype: .float32))
            g.nodes.append(Node(op: .binary(.add, activation: .none), inputs: [e, e], outputs: [s], name: "sum"))
            g.outputs.append(GraphIO(tensor: s, name: "sum"))
        }
        return g
    }

    func samples(_ n: Int, seed: UInt64) -> [[[Float]]] {
        var r = SeededRandom(seed: seed)
        return (0 ..< n).map { _ in [r.floats(192, 0, 1)] }
    }

    func calibrated(_ model: Model, _ inputs: [[[Float]]], strength: Float?) throws -> (QuantTable, Calibrator) {
        let c = try Calibrator(model: model, threads: 1)
        for s in inputs {
            c.session.setInputs(s)
            c.addSample()
        }
        return (c.table(method: .minmax, modelFile: "mem", modelSHA256: sha, equalization: strength), c)
    }

    func outputs(_ s: Session, _ inputs: [[[Float]]]) throws -> [[Float]] {
        try inputs.map { sample in
            s.setInputs(sample)
            try s.run()
            return Array(s.output(0))
        }
    }

    func testCandidatesAreConvOutputsReadOnlyByConvs() throws {
        let plain = try Session(model: try Model(graph: graph()), threads: 1, precision: .fp32Calibration)
        XCTAssertEqual(ChannelEqualization.candidates(plain.graph), ["expand": 6, "dw": 6],
                       "expand reaches dw through the Pad; project is a graph output")
        let added = try Session(model: try Model(graph: graph(addReader: true)), threads: 1, precision: .fp32Calibration)
        XCTAssertEqual(ChannelEqualization.candidates(added.graph), ["dw": 6], "an Add cannot undo a per-channel scale")
    }

    func testFactorsStayInsideTheTensorRange() {
        var r = ChannelRange(channels: 5)
        let values: [Float] = [6, 0.1, 0, -0.5, 0.000_01,
                               2, 0.05, 0, 0.25, 0]
        values.withUnsafeBufferPointer { r.add($0) }
        XCTAssertEqual(r.max, [6, 0.1, 0, 0.25, 0.000_01])
        XCTAssertEqual(r.min, [2, 0.05, 0, -0.5, 0])
        let f = ChannelEqualization.factors(lo: -1, hi: 6, range: r, strength: 1)!
        XCTAssertEqual(f[0], 1, "a channel already reaching hi keeps 1")
        XCTAssertEqual(f[1], 60, accuracy: 1.0 / 1024)
        XCTAssertEqual(f[2], 1, "an all-zero channel keeps 1")
        XCTAssertEqual(f[3], 2, "the negative side limits it: -0.5 * 2 = lo")
        XCTAssertEqual(f[4], ChannelEqualization.maxFactor, "a nearly dead channel is capped")
        for c in 0 ..< 5 {
            XCTAssertLessThanOrEqual(f[c] * r.max[c], 6)
            XCTAssertGreaterThanOrEqual(f[c] * r.min[c], -1)
            XCTAssertEqual(f[c] * 1024, (f[c] * 1024).rounded(), "factors are multiples of 1/1024")
        }
        let half = ChannelEqualization.factors(lo: -1, hi: 6, range: r, strength: 0.5)!
        XCTAssertEqual(half[1], Float(60.0.squareRoot()), accuracy: 1.0 / 1024)
        XCTAssertNil(ChannelEqualization.factors(lo: -1, hi: 6, range: r, strength: 0), "strength 0 scales nothing")
    }

    func testRescaledFloatGraphComputesTheSameFunction() throws {
        let model = try Model(graph: graph())
        let inputs = samples(6, seed: 21)
        let (table, calibrator) = try calibrated(model, inputs, strength: 1)
        let expand = try XCTUnwrap(table.entries.first { $0.key == "expand" }?.equalization)
        let dw = try XCTUnwrap(table.entries.first { $0.key == "dw" }?.equalization)
        XCTAssertEqual(expand[0 ..< 3].max() ?? 0, 1, accuracy: 0.5, "the wide channels keep about 1")
        XCTAssertGreaterThan(expand[3 ..< 6].min() ?? 0, 20, "the narrow channels are scaled up")
        XCTAssertGreaterThan(dw[3 ..< 6].min() ?? 0, 10)
        XCTAssertNil(table.entries.first { $0.key == "project" }?.equalization)
        XCTAssertEqual(table.entries.first { $0.key == "padded" }?.quant, table.entries.first { $0.key == "expand" }?.quant,
                       "the Pad carries expand's scaled channels and takes its range")

        let plain = try Session(model: model, threads: 1, precision: .fp32)
        let scaled = try Session(model: model, threads: 1, precision: .fp32Equalized(table.tensorQuantization))
        // Exact on the frames the ranges came from; a held-out frame whose channel
        // exceeds its calibrated max is clipped there (as INT8 would clip it).
        for (a, b) in zip(try outputs(plain, inputs), try outputs(scaled, inputs)) {
            for i in a.indices { XCTAssertEqual(a[i], b[i], accuracy: 1e-5 * max(1, abs(a[i]))) }
        }
        let held = samples(6, seed: 22)
        var diff = 0.0, mag = 0.0
        for (a, b) in zip(try outputs(plain, held), try outputs(scaled, held)) {
            for i in a.indices { diff += Double(abs(a[i] - b[i])); mag += Double(abs(a[i])) }
        }
        XCTAssertLessThan(diff / mag, 0.01, "held-out frames stay close")
        // Every scaled channel stays inside the calibrated per-tensor range.
        let hi = table.entries.first { $0.key == "expand" }!.max
        scaled.setInputs(inputs[0])
        var seen = false
        scaled.runObserving(only: ["expand"]) { _, v in
            seen = true
            XCTAssertLessThanOrEqual(v.max() ?? 0, hi * 1.0001)
            XCTAssertGreaterThan(stride(from: 3, to: v.count, by: 6).map { v[$0] }.max() ?? 0, hi / 4,
                                 "channel 3 now spans the range")
        }
        XCTAssertTrue(seen)
        XCTAssertGreaterThan(calibrator.channelRanges["expand"]?.max[0] ?? 0, 1)
    }

    func testEqualizationShrinksTheINT8Error() throws {
        let model = try Model(graph: graph())
        let inputs = samples(8, seed: 31), held = samples(8, seed: 32)
        let fp32 = try outputs(try Session(model: model, threads: 1, precision: .fp32), held)
        func error(_ strength: Float?) throws -> Double {
            let (table, _) = try calibrated(model, inputs, strength: strength)
            let q = try outputs(try Session(model: model, threads: 1, precision: .int8(table.tensorQuantization)), held)
            var sum = 0.0, n = 0
            for (a, b) in zip(fp32, q) { for i in a.indices { sum += Double(abs(a[i] - b[i])); n += 1 } }
            return sum / Double(n)
        }
        let off = try error(nil), half = try error(0.5), full = try error(1)
        XCTAssertLessThan(full, off / 4, "per-tensor uint8 leaves the narrow channels a few levels (off \(off), full \(full))")
        XCTAssertLessThan(half, off / 2, "off \(off), strength 0.5 \(half)")
    }

    func testApplyRejectsFactorsThatDoNotFit() throws {
        let model = try Model(graph: graph())
        let (table, _) = try calibrated(model, samples(2, seed: 41), strength: 1)
        var tq = table.tensorQuantization
        tq["dw"]!.equalization = [1, 2, 3]
        XCTAssertThrowsError(try Session(model: model, threads: 1, precision: .int8(tq))) { e in
            XCTAssertTrue("\(e)".contains("3 values") && "\(e)".contains("6 channels"), "\(e)")
        }
        tq = table.tensorQuantization
        tq["project"]!.equalization = [2, 2]
        XCTAssertThrowsError(try Session(model: model, threads: 1, precision: .int8(tq))) { e in
            XCTAssertTrue("\(e)".contains("project") && "\(e)".contains("re-run vseg calibrate"), "\(e)")
        }
    }
}
