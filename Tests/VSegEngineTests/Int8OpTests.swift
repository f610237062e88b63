import XCTest
@testable import VSegEngine
import VSegCore
#if canImport(Glibc)
import Glibc
#endif

/// One input of the op under test in an INT8 op harness graph.
enum Int8OpInput {
    /// Graph input of this NHWC shape -> 1x1 Conv2D (C -> C) -> op, so the op reads uint8.
    case activation([Int])
    /// Same, with a clamp fused into the conv (e.g. ReLU: the op's input has zero point 0).
    case clamped([Int], Activation)
    /// A float32 constant operand.
    case constant([Int], [Float])
    /// An int64 constant (pads, sizes, axes).
    case ints([Int], [Int64])
    case absent
}

/// Builds `graph inputs -> 1x1 convs -> op`, calibrates per-tensor ranges with an
/// `.fp32Calibration` session over seeded inputs, and runs FP32 and INT8 sessions.
/// The conv outputs are also graph outputs, so no clamp unary under test is fused
/// into its conv.
struct Int8OpHarness {
    let model: Model
    let convs: Int
    var table: [String: TensorQuantization] = [:]

    init(graph: Graph, convs: Int) throws {
        model = try Model(graph: graph)
        self.convs = convs
    }

    init(_ op: Op, _ inputs: [Int8OpInput], seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * Float(rng.next() >> 40) / Float(1 << 24) }
        var g = Graph(format: .builtin)
        var ins: [Int] = [], convOuts: [Int] = []
        for (k, i) in inputs.enumerated() {
            switch i {
            case let .activation(shape), let .clamped(shape, _):
                var act = Activation.none
                if case let .clamped(_, a) = i { act = a }
                let c = shape[3]
                let x = g.addTensor(TensorInfo(name: "in\(k)", shape: shape, dtype: .float32))
                g.inputs.append(GraphIO(tensor: x, name: "in\(k)"))
                let w = g.addConstant(name: "w\(k)", shape: [c, 1, 1, c],
                                      data: .float32((0 ..< c * c).map { _ in uniform(-1.5, 1.5) / Float(c).squareRoot() }))
                let b = g.addConstant(name: "b\(k)", shape: [c], data: .float32((0 ..< c).map { _ in uniform(-0.5, 0.5) }))
                let y = g.addTensor(TensorInfo(name: "conv\(k)", shape: [], dtype: .float32))
                g.nodes.append(Node(op: .conv2D(ConvAttrs(kernel: (1, 1), activation: act)), inputs: [x, w, b], outputs: [y],
                                    name: "conv\(k)"))
                ins.append(y); convOuts.append(y)
            case let .constant(shape, values):
                ins.append(g.addConstant(name: "const\(k)", shape: shape, data: .float32(values)))
            case let .ints(shape, values):
                ins.append(g.addConstant(name: "ints\(k)", shape: shape, data: .int64(values)))
            case .absent:
                ins.append(-1)
            }
        }
        let out = g.addTensor(TensorInfo(name: "out", shape: [], dtype: .float32))
        g.nodes.append(Node(op: op, inputs: ins, outputs: [out], name: "op"))
        g.outputs = [GraphIO(tensor: out, name: "out")] + convOuts.map { GraphIO(tensor: $0, name: "\(g.tensors[$0].name)") }
        model = try Model(graph: g)
        convs = convOuts.count
    }

    static func feed(_ s: Session, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for i in 0 ..< s.inputCount {
            let b = s.input(i)
            for j in 0 ..< b.count { b[j] = -2 + 4 * Float(rng.next() >> 40) / Float(1 << 24) }
        }
    }

    /// Min/max of every float activation over runs on `seeds`.
    mutating func calibrate(seeds: [UInt64]) throws {
        let s = try Session(model: model, threads: 1, precision: .fp32Calibration)
        var ranges: [String: (Float, Float)] = [:]
        for seed in seeds {
            Self.feed(s, seed: seed)
            s.runObserving { name, values in
                var (lo, hi) = ranges[name] ?? (.infinity, -.infinity)
                for v in values { lo = min(lo, v); hi = max(hi, v) }
                ranges[name] = (lo, hi)
            }
        }
        table = ranges.mapValues { TensorQuantization(quant: ActivationQuant(min: $0.0, max: $0.1)) }
    }

    func session(_ precision: Precision, threads: Int, reference: Bool = false) throws -> Session {
        try Session(model: model, threads: threads, profile: false, referenceOps: reference, precision: precision)
    }

    static func output(_ s: Session, seed: UInt64) throws -> [Float] {
        feed(s, seed: seed)
        try s.run()
        return Array(s.output(0))
    }
}

/// Checks one op in INT8: (a) fast at 1 and 2 threads bit-identical to the reference
/// twins, (b) within `steps` quantization steps of FP32 (FP32 clamped to the
/// representable range of the output), (c) the op node ran INT8 (its output is uint8
/// and nothing stayed FP32). `outputQuant` overrides the calibrated output parameters,
/// `overrides` any tensor's (by name: "conv0", "out").
/// Returns the INT8 output.
@discardableResult
func checkInt8Op(_ op: Op, _ inputs: [Int8OpInput], seed: UInt64, steps: Float = 2, outputQuant: ActivationQuant? = nil,
                 overrides: [String: ActivationQuant] = [:], expectInt8: Bool = true, _ what: String = "",
                 file: StaticString = #filePath, line: UInt = #line) throws -> [Float] {
    var h = try Int8OpHarness(op, inputs, seed: seed)
    try h.calibrate(seeds: [seed, seed &+ 1, seed &+ 2])
    if let q = outputQuant { h.table["out"] = TensorQuantization(quant: q) }
    for (k, q) in overrides { h.table[k] = TensorQuantization(quant: q) }
    let label = "\(op.name) \(what) seed \(seed)"
    let fast1 = try h.session(.int8(h.table), threads: 1)
    let fast2 = try h.session(.int8(h.table), threads: 2)
    let ref = try h.session(.int8(h.table), threads: 1, reference: true)
    let fp32 = try h.session(.fp32, threads: 1)

    // (c) the op ran INT8, everything else too.
    guard let report = fast1.quantizationReport else { XCTFail("no quantization report", file: file, line: line); return [] }
    let opOut = fast1.graph.tensors.first { $0.name == "out" }
    if expectInt8 {
        XCTAssertEqual(report.fp32Nodes, 0, "\(label): FP32 nodes left", file: file, line: line)
        XCTAssertEqual(report.int8Nodes, h.convs + 1, "\(label): INT8 nodes", file: file, line: line)
        XCTAssertEqual(opOut?.dtype, .uint8, "\(label): op output type", file: file, line: line)
    } else {
        XCTAssertEqual(report.fp32Nodes, 1, "\(label): the op should stay FP32", file: file, line: line)
        XCTAssertEqual(opOut?.dtype, .float32, "\(label): op output type", file: file, line: line)
    }

    // (a) bit-identical fast/reference, 1 and 2 threads.
    let a = try Int8OpHarness.output(fast1, seed: seed)
    let b = try Int8OpHarness.output(fast2, seed: seed)
    let r = try Int8OpHarness.output(ref, seed: seed)
    XCTAssertEqual(a.count, r.count, label, file: file, line: line)
    for (name, got) in [("1 thread", a), ("2 threads", b)] {
        if !expectInt8 {
            // An FP32 op's fast path matches its twin within a tolerance only.
            XCTAssertTrue(zip(got, r).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }, "\(label) \(name)", file: file, line: line)
            continue
        }
        if let i = zip(got, r).enumerated().first(where: { $0.element.0.bitPattern != $0.element.1.bitPattern })?.offset {
            let bad = zip(got, r).filter { $0.bitPattern != $1.bitPattern }.count
            XCTFail("\(label) \(name): \(bad) of \(r.count) differ from the reference, first at \(i): \(got[i]) vs \(r[i])",
                    file: file, line: line)
        }
    }

    // (b) close to FP32.
    let f = try Int8OpHarness.output(fp32, seed: seed)
    XCTAssertEqual(f.count, a.count, label, file: file, line: line)
    var scale: Float = 0
    var lo = -Float.infinity, hi = Float.infinity
    for t in fast1.graph.tensors where t.dtype == .uint8 && !t.isConstant {
        guard let q = t.quant else { continue }
        scale = max(scale, q.scale[0])
        if t.name == "out" { lo = q.scale[0] * Float(0 - q.zeroPoint[0]); hi = q.scale[0] * Float(255 - q.zeroPoint[0]) }
    }
    if !expectInt8 { scale = h.table.values.map(\.quant.scale).max() ?? 0 }
    var worst: Float = 0, at = 0
    for i in 0 ..< min(f.count, a.count) {
        let want = min(max(f[i], lo), hi)
        let d = abs(a[i] - want)
        if !(d <= worst) { worst = d; at = i }
    }
    XCTAssertLessThanOrEqual(worst, steps * scale,
                             "\(label): off FP32 by \(worst / max(scale, 1e-30)) steps at \(at) (\(a.isEmpty ? 0 : a[at]) vs \(f.isEmpty ? 0 : f[at]))",
                             file: file, line: line)
    return a
}

/// Harness self-checks: the comparison can fail, and an unsupported op stays FP32.
final class Int8OpTests: XCTestCase {
    func testHarnessSeesInt8AndDetectsWrongParameters() throws {
        // A correct run passes; then the same op with output parameters that saturate
        // most values must be far from FP32 unless clamped (the check clamps FP32 too,
        // so the result still passes, and the saturated outputs sit at the bounds).
        let op = Op.binary(.add, activation: .none)
        let y = try checkInt8Op(op, [.activation([1, 5, 7, 16]), .activation([1, 5, 7, 16])], seed: 11)
        XCTAssertEqual(y.count, 5 * 7 * 16)
        let narrow = ActivationQuant(scale: 0.001, zeroPoint: 128)
        let z = try checkInt8Op(op, [.activation([1, 5, 7, 16]), .activation([1, 5, 7, 16])], seed: 11, outputQuant: narrow)
        XCTAssertTrue(z.contains(narrow.dequantize(0)) && z.contains(narrow.dequantize(255)), "saturation expected")
    }

    func testUnsupportedActivationStaysFP32() throws {
        // A non-clamp activation fused into a binary op is not an INT8 output clamp.
        try checkInt8Op(.binary(.add, activation: .sigmoid), [.activation([1, 4, 4, 8]), .activation([1, 4, 4, 8])],
                        seed: 12, expectInt8: false)
        try checkInt8Op(.binary(.div, activation: .none), [.activation([1, 4, 4, 8]), .constant([8], (1 ... 8).map(Float.init))],
                        seed: 13, expectInt8: false)
    }
}

/// Every INT8 op in one chain: all nodes INT8, fast == twin, close to FP32, and
/// `run()` keeps no heap memory.
final class Int8OpChainTests: XCTestCase {
    func chainGraph() -> Graph {
        var rng = SplitMix64(seed: 77)
        func values(_ n: Int, _ lo: Float, _ hi: Float) -> [Float] { (0 ..< n).map { _ in lo + (hi - lo) * Float(rng.next() >> 40) / Float(1 << 24) } }
        let c = 16
        var g = Graph(format: .builtin)
        let x = g.addTensor(TensorInfo(name: "x", shape: [1, 20, 20, c], dtype: .float32))
        g.inputs = [GraphIO(tensor: x, name: "x")]
        func node(_ op: Op, _ ins: [Int], _ name: String) -> Int {
            let t = g.addTensor(TensorInfo(name: name, shape: [], dtype: .float32))
            g.nodes.append(Node(op: op, inputs: ins, outputs: [t], name: name))
            return t
        }
        func const(_ name: String, _ shape: [Int], _ v: [Float]) -> Int { g.addConstant(name: name, shape: shape, data: .float32(v)) }
        let w = const("w", [c, 1, 1, c], values(c * c, -0.4, 0.4)), b = const("bias", [c], values(c, -0.3, 0.3))
        let a = node(.conv2D(ConvAttrs(kernel: (1, 1))), [x, w, b], "conv")
        // A skip connection (an add of a constant per channel would fold into the conv bias).
        let add = node(.binary(.add, activation: .relu), [a, x], "add")
        let mean = node(.reduce(.mean, axes: [1, 2], keepDims: true), [add], "mean")
        let gate = node(.unary(.sigmoid), [mean], "gate")
        let se = node(.binary(.mul, activation: .none), [add, gate], "se")
        let pr = node(.prelu, [se, const("slope", [c], values(c, 0, 0.5))], "prelu")
        let mx = node(.pool(PoolAttrs(kind: .max, kernel: (3, 3), stride: (1, 1), padding: .same)), [pr], "maxpool")
        let av = node(.pool(PoolAttrs(kind: .average, kernel: (2, 2), stride: (2, 2), padding: .valid)), [mx], "avgpool")
        let up = node(.resize(ResizeAttrs(mode: .linear, coordinate: .halfPixel, outputSize: (20, 20))), [av], "resize")
        let pads = g.addConstant(name: "pads", shape: [8], data: .int64([0, 0, 1, 1, 1, 1, 0, 0]))
        let pd = node(.pad(.reflect), [up, pads], "pad")
        let th = node(.unary(.tanh), [pd], "tanh")
        let cat = node(.concat(axis: 3), [pd, th], "concat")
        let d2s = node(.depthToSpace(blockSize: 2, dcr: true), [cat], "d2s")
        let out = node(.transpose(perm: [0, 3, 1, 2]), [d2s], "out")
        g.outputs = [GraphIO(tensor: out, name: "out")]
        return g
    }

    func testChainRunsInt8AndMatches() throws {
        var h = try Int8OpHarness(graph: chainGraph(), convs: 1)
        try h.calibrate(seeds: [1, 2, 3])
        let fast = try h.session(.int8(h.table), threads: 2)
        let ref = try h.session(.int8(h.table), threads: 1, reference: true)
        let fp32 = try h.session(.fp32, threads: 1)
        XCTAssertEqual(fast.quantizationReport?.fp32Nodes, 0)
        XCTAssertEqual(fast.quantizationReport?.int8Nodes, 14, "\(fast.graph.nodes.map(\.name))")
        XCTAssertEqual(fast.quantizationReport?.quantizeNodes, 1)
        XCTAssertEqual(fast.quantizationReport?.dequantizeNodes, 1)
        let a = try Int8OpHarness.output(fast, seed: 1), r = try Int8OpHarness.output(ref, seed: 1)
        XCTAssertEqual(a.map(\.bitPattern), r.map(\.bitPattern))
        let f = try Int8OpHarness.output(fp32, seed: 1)
        let outScale = fast.graph.tensors.first { $0.name == "out" }!.quant!.scale[0]
        var worst: Float = 0
        for i in 0 ..< f.count { worst = max(worst, abs(a[i] - f[i])) }
        // Errors add up along 13 quantized ops; still a handful of output steps.
        XCTAssertLessThan(worst, 8 * outScale, "max |INT8 - FP32| = \(worst), output step \(outScale)")
    }

    /// glibc `mallinfo2()` (looked up with dlsym; returned through a hidden pointer on x86-64 SysV).
    struct MallInfo2 { var arena = 0, ordblks = 0, smblks = 0, hblks = 0, hblkhd = 0, usmblks = 0, fsmblks = 0, uordblks = 0, fordblks = 0, keepcost = 0 }
    func mallinfo2() throws -> MallInfo2 {
        #if arch(x86_64) && os(Linux)
        guard let sym = dlsym(nil, "mallinfo2") else { throw XCTSkip("mallinfo2 not available") }
        typealias Fn = @convention(c) (UnsafeMutableRawPointer) -> UnsafeMutableRawPointer?
        var info = MallInfo2()
        withUnsafeMutableBytes(of: &info) { _ = unsafeBitCast(sym, to: Fn.self)($0.baseAddress!) }
        return info
        #else
        throw XCTSkip("malloc statistics are read on x86-64 Linux only")
        #endif
    }

    /// Heap bytes in use do not grow over 50 runs (in one of five windows: the
    /// counter is process-wide), at 1 and 2 threads.
    func testRunKeepsNoHeapMemory() throws {
        var h = try Int8OpHarness(graph: chainGraph(), convs: 1)
        try h.calibrate(seeds: [1])
        for threads in [1, 2] {
            let s = try h.session(.int8(h.table), threads: threads)
            Int8OpHarness.feed(s, seed: 4)
            for _ in 0 ..< 3 { try s.run() }
            var growth: [Int] = []
            for _ in 0 ..< 5 {
                let before = try mallinfo2()
                for _ in 0 ..< 50 { try s.run() }
                let after = try mallinfo2()
                growth.append(after.uordblks + after.hblkhd - before.uordblks - before.hblkhd)
                if growth.last! <= 0 { break }
            }
            XCTAssertTrue(growth.contains { $0 <= 0 }, "threads \(threads): heap grew by \(growth) bytes per 50 runs")
        }
    }
}

/// Per-op time of the INT8 definitions against the FP32 ops on the same graph
/// (the node named "op", from `layerProfile`). Opt-in, not a pass/fail test:
///   VSEG_INT8_OP_TIMING=1 swift test -c release -Xswiftc -enable-testing --skip-build --filter Int8OpTimingTests
final class Int8OpTimingTests: XCTestCase {
    func testPrintOpTimes() throws {
        let only = ProcessInfo.processInfo.environment["VSEG_INT8_OP_TIMING"] ?? ""
        try XCTSkipIf(only.isEmpty, "set VSEG_INT8_OP_TIMING=1 (or to one case name)")
        let big = [1, 128, 128, 32]
        let cases: [(String, Op, [Int8OpInput])] = [
            ("add same shape", .binary(.add, activation: .relu), [.activation(big), .activation(big)]),
            ("mul per channel (SE)", .binary(.mul, activation: .none), [.activation(big), .activation([1, 1, 1, 32])]),
            ("add constant scalar", .binary(.add, activation: .none), [.activation(big), .constant([1], [0.5])]),
            ("sigmoid", .unary(.sigmoid), [.activation(big)]),
            ("hardSwish", .unary(.hardSwish), [.activation(big)]),
            ("prelu per channel", .prelu, [.activation(big), .constant([32], (0 ..< 32).map { Float($0) / 64 })]),
            ("maxpool 3x3 s2", .pool(PoolAttrs(kind: .max, kernel: (3, 3), stride: (2, 2), padding: .same)), [.activation(big)]),
            ("avgpool 3x3 s1", .pool(PoolAttrs(kind: .average, kernel: (3, 3), stride: (1, 1), padding: .same)), [.activation(big)]),
            ("global mean", .reduce(.mean, axes: [1, 2], keepDims: true), [.activation(big)]),
            ("resize bilinear 2x", .resize(ResizeAttrs(mode: .linear, coordinate: .halfPixel, scales: (2, 2))), [.activation([1, 64, 64, 32])]),
            ("resize nearest 2x", .resize(ResizeAttrs(mode: .nearest, coordinate: .asymmetric, scales: (2, 2))), [.activation([1, 64, 64, 32])]),
            ("pad constant", .pad(.constant), [.activation(big), .ints([8], [0, 0, 1, 1, 1, 1, 0, 0])]),
            ("pad reflect", .pad(.reflect), [.activation(big), .ints([8], [0, 0, 1, 1, 1, 1, 0, 0])]),
            ("concat C", .concat(axis: 3), [.activation(big), .activation([1, 128, 128, 16])]),
            ("depthToSpace 2", .depthToSpace(blockSize: 2, dcr: true), [.activation([1, 64, 64, 64])]),
            ("transpose NHWC->NCHW", .transpose(perm: [0, 3, 1, 2]), [.activation(big)]),
        ]
        for threads in [1, 2] {
            print("threads \(threads): op, FP32 us, INT8 us")
            for (name, op, inputs) in cases where only == "1" || name == only {
                var h = try Int8OpHarness(op, inputs, seed: 1)
                try h.calibrate(seeds: [1])
                var us: [Double] = []
                // The machine is shared: best mean of 5 sessions of 30 runs each.
                for precision in [Precision.fp32, .int8(h.table)] {
                    var best = Double.infinity
                    for _ in 0 ..< 5 {
                        let s = try Session(model: h.model, threads: threads, profile: true, precision: precision)
                        Int8OpHarness.feed(s, seed: 1)
                        for _ in 0 ..< 30 { try s.run() }
                        best = min(best, s.layerProfile.first { $0.name == "op" }?.meanMicroseconds ?? .nan)
                    }
                    us.append(best)
                }
                print("  \(name): \(String(format: "%.1f", us[0])) \(String(format: "%.1f", us[1]))")
            }
        }
    }
}
