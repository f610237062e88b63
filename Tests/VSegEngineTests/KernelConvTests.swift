import CKernels
import VSegCore
import VSegEngine
import VSegKernelsAVX2
import VSegKernelsAVX512
import VSegKernelsPortable
import XCTest

/// Seeded randomized equivalence of the per-ISA convolution kernels (and the
/// `ConvKernels` dispatcher) against `ReferenceConv`, over shapes derived from the
/// GEMM tile (8x32 AVX-512, 6x16 AVX2, 6x8 portable): fewer pixels/channels
/// than a tile, exactly a tile, more, odd channel counts, strides, pads,
/// dilations, batch 2 and clamps.
///
/// Tolerance: |fast - ref| <= 1e-5 * sqrt(K) * max(1, rms(ref)) per element,
/// K = taps * input channels per group; the reference accumulates in Double.
/// Splitting a run into N tasks must give bit-identical output to 1 task, and
/// nothing past the output may be written.
final class KernelConvTests: XCTestCase {
    func testDenseMatchesReference() {
        var rng = SplitMix(seed: 0xC0FFEE)
        var cases: [ConvGeometry] = []
        // 1x1 GEMM: pixel counts around the tile (3, 6, 8, 35) x odd channel counts.
        for (h, w) in [(1, 3), (2, 3), (2, 4), (5, 7)] {
            for (ci, co) in [(1, 1), (3, 7), (7, 17), (17, 33), (33, 65), (65, 3), (16, 32), (32, 64)] {
                cases.append(conv(h, w, ci, co, k: 1))
            }
        }
        cases.append(conv(5, 7, 17, 33, k: 1, batch: 2))
        cases.append(conv(4, 4, 8, 16, k: 1, stride: 2))
        // KxK: strides, pads (incl. asymmetric), dilation, batch, clamps.
        cases.append(conv(6, 7, 3, 17, k: 3, pads: (1, 1, 1, 1)))
        cases.append(conv(9, 8, 7, 33, k: 3, stride: 2, pads: (0, 0, 1, 1)))
        cases.append(conv(9, 9, 17, 65, k: 3, stride: 2, pads: (1, 1, 1, 1), batch: 2))
        cases.append(conv(7, 6, 5, 7, k: 3, dilation: 2, pads: (2, 2, 2, 2)))
        cases.append(conv(8, 8, 3, 32, k: 5, stride: 2, pads: (2, 2, 2, 2)))
        cases.append(conv(5, 5, 33, 1, k: 5, pads: (2, 1, 2, 1)))
        cases.append(conv(3, 3, 7, 7, k: 3, pads: (1, 1, 1, 1), clamp: (0, 6)))
        cases.append(conv(12, 10, 16, 24, k: 3, pads: (1, 1, 1, 1), clamp: (0, .infinity), batch: 2))
        // One output channel (dot-product path), with channel tails around the vector width.
        for ci in [1, 5, 16, 20, 33] { cases.append(conv(5, 6, ci, 1, k: 3, pads: (1, 1, 1, 1), clamp: (-0.5, 0.5))) }
        for g in cases { check(g, kind: .dense, rng: &rng) }
    }

    func testGroupedDenseMatchesReference() {
        var rng = SplitMix(seed: 7)
        // (inC, outC, groups): per-group channel counts below, at and above the tile, 1 output per group (dot path).
        for (ci, co, groups) in [(8, 12, 4), (6, 66, 2), (34, 34, 2), (9, 3, 3), (12, 96, 3), (4, 8, 4)] {
            var g = conv(5, 6, ci, co, k: 3, pads: (1, 1, 1, 1))
            g.groups = groups
            check(g, kind: .dense, rng: &rng)
            var p = conv(4, 7, ci, co, k: 1, batch: 2)
            p.groups = groups
            check(p, kind: .dense, rng: &rng)
        }
    }

    func testDepthwiseMatchesReference() {
        var rng = SplitMix(seed: 0xD00D)
        var cases: [ConvGeometry] = []
        for c in [1, 3, 7, 17, 33, 65] {
            cases.append(depthwise(6, 7, c, k: 3, pads: (1, 1, 1, 1)))
            cases.append(depthwise(9, 8, c, k: 3, stride: 2, pads: (0, 0, 1, 1)))
        }
        cases.append(depthwise(10, 9, 32, k: 5, pads: (2, 2, 2, 2), batch: 2))
        cases.append(depthwise(11, 12, 24, k: 5, stride: 2, pads: (1, 1, 2, 2)))
        cases.append(depthwise(8, 9, 20, k: 3, dilation: 2, pads: (2, 2, 2, 2)))
        cases.append(depthwise(4, 4, 16, k: 3, pads: (0, 0, 0, 0)))
        cases.append(depthwise(2, 3, 16, k: 5, pads: (2, 2, 2, 2)))  // smaller than the kernel
        cases.append(depthwise(7, 7, 48, k: 7, stride: 1, pads: (3, 3, 3, 3), clamp: (0, 6)))
        cases.append(depthwise(6, 6, 8, k: 3, multiplier: 2, pads: (1, 1, 1, 1)))  // reference path
        for g in cases { check(g, kind: .depthwise, rng: &rng) }
    }

    func testTransposedMatchesReference() {
        var rng = SplitMix(seed: 0x7A7)
        var cases: [ConvGeometry] = []
        for (ci, co) in [(1, 1), (3, 7), (17, 33), (33, 65), (16, 32)] {
            cases.append(transposed(4, 5, ci, co, k: 2, stride: 2))
            cases.append(transposed(3, 4, ci, co, k: 4, stride: 2, crop: (1, 1, 1, 1)))
        }
        cases.append(transposed(5, 5, 8, 16, k: 2, stride: 2, batch: 2))
        cases.append(transposed(9, 7, 16, 1, k: 2, stride: 2, batch: 2))  // selfie mask head shape, smaller
        cases.append(transposed(5, 4, 20, 1, k: 4, stride: 2, crop: (1, 1, 1, 1)))
        cases.append(transposed(4, 3, 7, 9, k: 3, stride: 2, crop: (1, 1, 1, 1), outputPadding: 1))
        cases.append(transposed(3, 3, 5, 6, k: 1, stride: 2))  // phases with no taps: bias only
        cases.append(transposed(4, 4, 6, 10, k: 3, stride: 1, crop: (1, 1, 1, 1)))
        cases.append(transposed(3, 5, 4, 8, k: 3, stride: 2, dilation: 2, crop: (0, 2, 1, 0)))
        cases.append(transposed(6, 6, 8, 8, k: 4, stride: 4, clamp: (0, .infinity)))
        // FCN-style bilinear upsampler (k = 2s, crop s/2): many phases, 4 taps each.
        cases.append(transposed(3, 4, 21, 21, k: 8, stride: 4, crop: (2, 2, 2, 2)))
        // Dilation sharing a factor with the stride (phase tap bound uses the gcd).
        cases.append(transposed(4, 3, 5, 9, k: 5, stride: 4, dilation: 2, crop: (1, 2, 0, 1)))
        cases.append(transposed(3, 3, 3, 4, k: 3, stride: 3, dilation: 3))
        for g in cases { check(g, kind: .transposed, rng: &rng) }
        var grouped = transposed(4, 4, 6, 4, k: 2, stride: 2)
        grouped.groups = 2
        check(grouped, kind: .transposed, rng: &rng)
    }

    /// A re-planned input size reuses the packed weights.
    func testPackedWeightsServeAnotherInputSize() {
        var rng = SplitMix(seed: 99)
        let small = conv(6, 5, 7, 33, k: 3, stride: 2, pads: (1, 1, 1, 1))
        let large = conv(13, 11, 7, 33, k: 3, stride: 2, pads: (1, 1, 1, 1), batch: 2)
        let weights = rng.floats(33 * 9 * 7), bias = rng.floats(33), input = rng.floats(2 * 13 * 11 * 7)
        let packed = weights.withUnsafeBufferPointer { w in bias.withUnsafeBufferPointer { b in
            ConvKernels.packDense(small, weights: w.baseAddress!, bias: b.baseAddress)
        }}
        let outCount = 2 * large.outH * large.outW * 33
        var got = [Float](repeating: .nan, count: outCount), want = got
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: ConvKernels.scratchFloats(large, kind: .dense) + 1)
        defer { scratch.deallocate() }
        input.withUnsafeBufferPointer { i in
            got.withUnsafeMutableBufferPointer { o in
                let n = ConvKernels.taskCount(large, kind: .dense, threads: 2)
                for t in 0..<n {
                    ConvKernels.run(large, kind: .dense, packed: packed, input: i.baseAddress!, output: o.baseAddress!,
                                    scratch: scratch, task: t, taskCount: n)
                }
            }
            weights.withUnsafeBufferPointer { w in bias.withUnsafeBufferPointer { b in want.withUnsafeMutableBufferPointer { o in
                ReferenceConv.dense(large, weights: w.baseAddress!, bias: b.baseAddress, input: i.baseAddress!, output: o.baseAddress!)
            }}}
        }
        let tol = Float(1e-5 * Double(9 * 7).squareRoot() * 4)
        for j in 0..<outCount { XCTAssertEqual(got[j], want[j], accuracy: tol, "element \(j)") }
    }

    func testDispatcherPicksBestISA() {
        let expected = vseg_cpu_has_avx512f() != 0 ? "avx512" : (vseg_cpu_has_avx2_fma() != 0 ? "avx2" : "portable")
        if let env = ProcessInfo.processInfo.environment["VSEG_ISA"] {
            XCTAssertTrue(["avx512", "avx2", "portable", "reference"].contains(ConvKernels.isaName), env)
        } else {
            XCTAssertEqual(ConvKernels.isaName, expected)
        }
    }

    // MARK: - harness

    private func check(_ g: ConvGeometry, kind: ConvKind, rng: inout SplitMix, file: StaticString = #filePath,
                       line: UInt = #line) {
        let inCount = g.batch * g.inH * g.inW * g.inC
        let outCount = g.batch * g.outH * g.outW * g.outC
        let wCount: Int
        switch kind {
        case .dense, .transposed: wCount = g.outC * g.kH * g.kW * (g.inC / g.groups)
        case .depthwise: wCount = g.kH * g.kW * g.outC
        }
        let input = rng.floats(inCount), weights = rng.floats(wCount), bias = rng.floats(g.outC)
        var ref = [Float](repeating: .nan, count: outCount)
        input.withUnsafeBufferPointer { i in weights.withUnsafeBufferPointer { w in bias.withUnsafeBufferPointer { b in
            ref.withUnsafeMutableBufferPointer { o in
                switch kind {
                case .dense: ReferenceConv.dense(g, weights: w.baseAddress!, bias: b.baseAddress, input: i.baseAddress!, output: o.baseAddress!)
                case .depthwise: ReferenceConv.depthwise(g, weights: w.baseAddress!, bias: b.baseAddress, input: i.baseAddress!, output: o.baseAddress!)
                case .transposed: ReferenceConv.transposed(g, weights: w.baseAddress!, bias: b.baseAddress, input: i.baseAddress!, output: o.baseAddress!)
                }
            }
        }}}
        let taps = kind == .depthwise ? g.kH * g.kW : g.kH * g.kW * (g.inC / g.groups)
        let rms = (ref.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(outCount, 1))).squareRoot()
        let tol = Float(1e-5 * Double(taps).squareRoot() * max(1, rms))

        var runners = KernelRunner.available
        runners.append(.dispatcher)
        for r in runners where r.supports(g, kind) {
            var outputs: [[Float]] = []
            for tasks in [1, 2, 3, 7] {
                let out = r.run(g, kind: kind, input: input, weights: weights, bias: bias, tasks: tasks)
                let body = Array(out[0..<outCount])
                XCTAssertTrue(out[outCount...].allSatisfy { $0.bitPattern == sentinel.bitPattern },
                              "\(r.name) \(kind) wrote past the output: \(g)", file: file, line: line)
                var worst: Float = 0, at = 0
                for j in 0..<outCount {
                    let e = abs(body[j] - ref[j])
                    if !(e <= worst) { worst = e; at = j }
                }
                XCTAssertLessThanOrEqual(worst, tol, "\(r.name) \(kind) tasks=\(tasks) element \(at): "
                    + "\(body[at]) vs \(ref[at]), \(g)", file: file, line: line)
                outputs.append(body)
            }
            for o in outputs.dropFirst() {
                XCTAssertTrue(zip(o, outputs[0]).allSatisfy { $0.bitPattern == $1.bitPattern },
                              "\(r.name) \(kind): split into tasks differs from one task, \(g)", file: file, line: line)
            }
        }
    }
}

fileprivate let sentinel = Float(bitPattern: 0x7FC0_1234)

/// One way of running a conv: an ISA module called directly, or the dispatcher.
fileprivate struct KernelRunner {
    let name: String
    let supports: (ConvGeometry, ConvKind) -> Bool
    let packedFloats: (ConvGeometry, ConvKind) -> Int
    let pack: (ConvGeometry, ConvKind, UnsafePointer<Float>, UnsafePointer<Float>?, UnsafeMutablePointer<Float>) -> Void
    let scratchFloats: (ConvGeometry, ConvKind) -> Int
    let exec: (ConvGeometry, ConvKind, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
               UnsafeMutablePointer<Float>, Int, Int) -> Void

    /// Runs with `tasks` tasks (task order reversed, to catch order dependence);
    /// returns the output followed by 16 guard floats.
    func run(_ g: ConvGeometry, kind: ConvKind, input: [Float], weights: [Float], bias: [Float], tasks: Int) -> [Float] {
        let outCount = g.batch * g.outH * g.outW * g.outC
        var out = [Float](repeating: sentinel, count: outCount + 16)
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: max(1, packedFloats(g, kind)))
        defer { packed.deallocate() }
        // Scratch starts one float past an allocation, as a caller slicing one
        // buffer per task (`base + t * scratchFloats`) may hand it over.
        let scratchCount = scratchFloats(g, kind) + 16
        let scratchBase = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount + 1)
        defer { scratchBase.deallocate() }
        scratchBase.initialize(repeating: .nan, count: scratchCount + 1)
        let scratch = scratchBase + 1
        weights.withUnsafeBufferPointer { w in bias.withUnsafeBufferPointer { b in
            pack(g, kind, w.baseAddress!, b.baseAddress, packed)
        }}
        input.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { o in
            for t in (0..<tasks).reversed() {
                exec(g, kind, packed, i.baseAddress!, o.baseAddress!, scratch, t, tasks)
            }
        }}
        return out
    }

    static var available: [KernelRunner] {
        var list = [portable]
        if vseg_cpu_has_avx2_fma() != 0 { list.append(avx2) }
        if vseg_cpu_has_avx512f() != 0 { list.append(avx512) }
        return list
    }

    static let dispatcher: KernelRunner = {
        final class Box { var packed: PackedConvWeights? }
        let box = Box()
        return KernelRunner(
            name: "ConvKernels(\(ConvKernels.isaName))",
            supports: { _, _ in true },
            packedFloats: { _, _ in 1 },
            pack: { g, kind, w, b, _ in
                switch kind {
                case .dense: box.packed = ConvKernels.packDense(g, weights: w, bias: b)
                case .depthwise: box.packed = ConvKernels.packDepthwise(g, weights: w, bias: b)
                case .transposed: box.packed = ConvKernels.packTransposed(g, weights: w, bias: b)
                }
            },
            scratchFloats: { g, kind in ConvKernels.scratchFloats(g, kind: kind) },
            exec: { g, kind, _, i, o, s, t, n in
                ConvKernels.run(g, kind: kind, packed: box.packed!, input: i, output: o, scratch: s, task: t, taskCount: n)
            })
    }()
}

// The three modules export the same `ISAConv` API; one table per module.
fileprivate extension KernelRunner {
    static let avx512 = KernelRunner(
        name: "avx512",
        supports: { g, k in k == .dense ? VSegKernelsAVX512.ISAConv.denseSupported(g)
            : k == .depthwise ? VSegKernelsAVX512.ISAConv.depthwiseSupported(g) : VSegKernelsAVX512.ISAConv.transposedSupported(g) },
        packedFloats: { g, k in k == .dense ? VSegKernelsAVX512.ISAConv.densePackedFloats(g)
            : k == .depthwise ? VSegKernelsAVX512.ISAConv.depthwisePackedFloats(g) : VSegKernelsAVX512.ISAConv.transposedPackedFloats(g) },
        pack: { g, k, w, b, p in
            switch k {
            case .dense: VSegKernelsAVX512.ISAConv.packDense(g, weights: w, bias: b, into: p)
            case .depthwise: VSegKernelsAVX512.ISAConv.packDepthwise(g, weights: w, bias: b, into: p)
            case .transposed: VSegKernelsAVX512.ISAConv.packTransposed(g, weights: w, bias: b, into: p)
            }
        },
        scratchFloats: { g, k in k == .dense ? VSegKernelsAVX512.ISAConv.denseScratchFloats(g)
            : k == .depthwise ? VSegKernelsAVX512.ISAConv.depthwiseScratchFloats(g) : VSegKernelsAVX512.ISAConv.transposedScratchFloats(g) },
        exec: { g, k, p, i, o, s, t, n in
            switch k {
            case .dense: VSegKernelsAVX512.ISAConv.dense(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            case .depthwise: VSegKernelsAVX512.ISAConv.depthwise(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            case .transposed: VSegKernelsAVX512.ISAConv.transposed(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            }
        })

    static let avx2 = KernelRunner(
        name: "avx2",
        supports: { g, k in k == .dense ? VSegKernelsAVX2.ISAConv.denseSupported(g)
            : k == .depthwise ? VSegKernelsAVX2.ISAConv.depthwiseSupported(g) : VSegKernelsAVX2.ISAConv.transposedSupported(g) },
        packedFloats: { g, k in k == .dense ? VSegKernelsAVX2.ISAConv.densePackedFloats(g)
            : k == .depthwise ? VSegKernelsAVX2.ISAConv.depthwisePackedFloats(g) : VSegKernelsAVX2.ISAConv.transposedPackedFloats(g) },
        pack: { g, k, w, b, p in
            switch k {
            case .dense: VSegKernelsAVX2.ISAConv.packDense(g, weights: w, bias: b, into: p)
            case .depthwise: VSegKernelsAVX2.ISAConv.packDepthwise(g, weights: w, bias: b, into: p)
            case .transposed: VSegKernelsAVX2.ISAConv.packTransposed(g, weights: w, bias: b, into: p)
            }
        },
        scratchFloats: { g, k in k == .dense ? VSegKernelsAVX2.ISAConv.denseScratchFloats(g)
            : k == .depthwise ? VSegKernelsAVX2.ISAConv.depthwiseScratchFloats(g) : VSegKernelsAVX2.ISAConv.transposedScratchFloats(g) },
        exec: { g, k, p, i, o, s, t, n in
            switch k {
            case .dense: VSegKernelsAVX2.ISAConv.dense(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            case .depthwise: VSegKernelsAVX2.ISAConv.depthwise(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            case .transposed: VSegKernelsAVX2.ISAConv.transposed(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            }
        })

    static let portable = KernelRunner(
        name: "portable",
        supports: { g, k in k == .dense ? VSegKernelsPortable.ISAConv.denseSupported(g)
            : k == .depthwise ? VSegKernelsPortable.ISAConv.depthwiseSupported(g) : VSegKernelsPortable.ISAConv.transposedSupported(g) },
        packedFloats: { g, k in k == .dense ? VSegKernelsPortable.ISAConv.densePackedFloats(g)
            : k == .depthwise ? VSegKernelsPortable.ISAConv.depthwisePackedFloats(g) : VSegKernelsPortable.ISAConv.transposedPackedFloats(g) },
        pack: { g, k, w, b, p in
            switch k {
            case .dense: VSegKernelsPortable.ISAConv.packDense(g, weights: w, bias: b, into: p)
            case .depthwise: VSegKernelsPortable.ISAConv.packDepthwise(g, weights: w, bias: b, into: p)
            case .transposed: VSegKernelsPortable.ISAConv.packTransposed(g, weights: w, bias: b, into: p)
            }
        },
        scratchFloats: { g, k in k == .dense ? VSegKernelsPortable.ISAConv.denseScratchFloats(g)
            : k == .depthwise ? VSegKernelsPortable.ISAConv.depthwiseScratchFloats(g) : VSegKernelsPortable.ISAConv.transposedScratchFloats(g) },
        exec: { g, k, p, i, o, s, t, n in
            switch k {
            case .dense: VSegKernelsPortable.ISAConv.dense(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            case .depthwise: VSegKernelsPortable.ISAConv.depthwise(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            case .transposed: VSegKernelsPortable.ISAConv.transposed(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            }
        })
}

/// Deterministic generator (SplitMix64); values uniform in [-1, 1).
fileprivate typealias SplitMix = SplitMix64

extension SplitMix64 {
    mutating func floats(_ n: Int) -> [Float] {
        (0..<n).map { _ in Float(Double(next() >> 11) / Double(1 << 53) * 2 - 1) }
    }
}

// MARK: - geometry builders (sizes from the usual output-size formulas)

fileprivate func conv(_ h: Int, _ w: Int, _ ci: Int, _ co: Int, k: Int, stride: Int = 1, dilation: Int = 1,
          pads: (top: Int, left: Int, bottom: Int, right: Int) = (0, 0, 0, 0),
          clamp: (Float, Float) = (-.infinity, .infinity), batch: Int = 1) -> ConvGeometry {
    let oh = (h + pads.top + pads.bottom - dilation * (k - 1) - 1) / stride + 1
    let ow = (w + pads.left + pads.right - dilation * (k - 1) - 1) / stride + 1
    return ConvGeometry(batch: batch, inH: h, inW: w, inC: ci, outH: oh, outW: ow, outC: co, kH: k, kW: k,
                        strideH: stride, strideW: stride, dilationH: dilation, dilationW: dilation,
                        padTop: pads.top, padLeft: pads.left, groups: 1, outMin: clamp.0, outMax: clamp.1)
}

fileprivate func depthwise(_ h: Int, _ w: Int, _ c: Int, k: Int, stride: Int = 1, dilation: Int = 1, multiplier: Int = 1,
               pads: (top: Int, left: Int, bottom: Int, right: Int), clamp: (Float, Float) = (-.infinity, .infinity),
               batch: Int = 1) -> ConvGeometry {
    var g = conv(h, w, c, c * multiplier, k: k, stride: stride, dilation: dilation, pads: pads, clamp: clamp, batch: batch)
    g.groups = c
    return g
}

fileprivate func transposed(_ h: Int, _ w: Int, _ ci: Int, _ co: Int, k: Int, stride: Int, dilation: Int = 1,
                crop: (top: Int, left: Int, bottom: Int, right: Int) = (0, 0, 0, 0), outputPadding: Int = 0,
                clamp: (Float, Float) = (-.infinity, .infinity), batch: Int = 1) -> ConvGeometry {
    let oh = (h - 1) * stride + dilation * (k - 1) + 1 - crop.top - crop.bottom + outputPadding
    let ow = (w - 1) * stride + dilation * (k - 1) + 1 - crop.left - crop.right + outputPadding
    return ConvGeometry(batch: batch, inH: h, inW: w, inC: ci, outH: oh, outW: ow, outC: co, kH: k, kW: k,
                        strideH: stride, strideW: stride, dilationH: dilation, dilationW: dilation,
                        padTop: crop.top, padLeft: crop.left, groups: 1, outMin: clamp.0, outMax: clamp.1)
}
