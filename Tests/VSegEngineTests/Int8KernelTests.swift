import CKernels
import VSegCore
import VSegEngine
import XCTest

/// Every INT8 kernel variant this CPU runs, bit-exact against Int8Reference over
/// shapes taken from the tiles (MR 4/6 rows, 16-column panels, 64-column zmm
/// blocks, K groups of 4): smaller, equal, larger, odd; strides, pads, dilation;
/// extreme zero points and scales.
final class Int8KernelTests: XCTestCase {
    static let odd = [1, 3, 4, 5, 6, 7, 12, 13, 15, 16, 17, 31, 33, 63, 64, 65]

    func testVariantsAreDiscovered() {
        XCTAssertTrue(Int8ISA.supported.contains(.portable))
        XCTAssertTrue(Int8ISA.selected.isSupported)
        XCTAssertEqual(Int8ISA.selected.name, Int8ConvKernels.isaName)
        for isa in Int8ISA.allCases { XCTAssertEqual(Int8ISA(rawValue: isa.rawValue), isa) }
    }

    /// Raw C GEMM with row strides larger than the rows: also checks that bytes
    /// between rows (past N) are never written.
    func testGemmBitExactAllVariants() {
        var rng = Int8Rng(seed: 0x5EED_0001)
        var cases: [(Int, Int, Int)] = [(4096 / 64, 256, 576), (1, 1, 1), (6, 64, 4), (7, 65, 5), (13, 17, 3)]
        for _ in 0..<250 { cases.append((rng.pick(Self.odd), rng.pick(Self.odd + [127, 128, 129]), rng.pick(Self.odd + [144, 147]))) }
        for (m, n, k) in cases {
            let aStride = k + rng.int(0...5), cStride = n + rng.int(0...5)
            let a = rng.bytes(m * aStride), w = rng.weights(n * k), bias = rng.bias(n)
            let scales = rng.scales(n, extreme: rng.int(0...3) == 0)
            let zpIn = Int32(rng.pick([0, 128, 255, rng.int(0...255)]))
            let params = Int8OutputParams(zeroPoint: Int32(rng.pick([0, 128, 255, rng.int(0...255)])))
            var want = [UInt8](repeating: 0xA5, count: m * cStride)
            Int8Reference.gemm(m: m, n: n, k: k, a: a, aStride: aStride, inputZeroPoint: zpIn, weights: w, bias: bias,
                               scales: scales, output: params, c: &want, cStride: cStride)
            var packed = [UInt8](repeating: 0, count: vseg_q8_packed_gemm_size(n, 1, k))
            vseg_q8_pack_gemm(n, 1, k, w, bias, scales, zpIn, &packed)
            var cp = params.c
            // Float32 output: same accumulators, dequantized (clamped to a fused range half the time).
            let fused = rng.int(0...1) == 0
            let fp = Int8OutputParams.float(min: fused ? 0 : -.infinity, max: fused ? 6 : .infinity)
            var fcp = fp.c
            var wantF = [Float](repeating: -7, count: m * cStride)
            for i in 0..<m {
                for j in 0..<n {
                    var acc = bias[j]
                    for kk in 0..<k { acc += (Int32(a[i * aStride + kk]) - zpIn) * Int32(w[j * k + kk]) }
                    wantF[i * cStride + j] = QuantScheme.dequantizeAccumulator(acc, scale: scales[j], min: fp.floatMin, max: fp.floatMax)
                }
            }
            for isa in Int8ISA.supported {
                var got = [UInt8](repeating: 0xA5, count: m * cStride)
                vseg_q8_gemm(isa.rawValue, m, n, k, a, aStride, packed, &got, cStride, &cp)
                assertBitExact(got, want, "gemm \(isa.name) m\(m) n\(n) k\(k) zpIn \(zpIn) zpOut \(params.zeroPoint)")
                var gotF = [Float](repeating: -7, count: m * cStride)
                gotF.withUnsafeMutableBytes { vseg_q8_gemm(isa.rawValue, m, n, k, a, aStride, packed,
                                                           $0.baseAddress!.assumingMemoryBound(to: UInt8.self), cStride * 4, &fcp) }
                XCTAssertEqual(gotF.map(\.bitPattern), wantF.map(\.bitPattern), "float gemm \(isa.name) m\(m) n\(n) k\(k)")
            }
        }
    }

    func testDenseConvBitExactAllVariants() {
        var rng = Int8Rng(seed: 0x5EED_0002)
        // (k, stride, pad, dilation)
        let shapes = [(1, 1, 0, 1), (1, 2, 0, 1), (1, 1, 1, 1), (3, 1, 1, 1), (3, 2, 1, 1), (3, 2, 0, 1), (3, 1, 2, 2),
                      (5, 1, 2, 1), (5, 2, 2, 1), (5, 2, 1, 1)]
        for (ci, (k, stride, pad, dilation)) in shapes.enumerated() {
            for rep in 0..<8 {
                let inC = rep == 0 ? 3 : rng.pick(Self.odd), outC = rep == 1 ? 64 : rng.pick(Self.odd)
                let h = rng.int(max(1, k - 2 * pad)...13), w = rng.int(max(1, k - 2 * pad)...13)
                var g = int8ConvGeometry(batch: rep % 4 == 3 ? 2 : 1, h: max(h, (k - 1) * dilation + 1 - 2 * pad),
                                         w: max(w, (k - 1) * dilation + 1 - 2 * pad), inC: inC, outC: outC, k: k,
                                         stride: stride, pad: pad, dilation: dilation)
                g.outMin = 0
                let input = rng.bytes(g.batch * g.inH * g.inW * inC)
                let weights = rng.weights(outC * k * k * inC), bias = rng.bias(outC)
                let scales = rng.scales(outC, extreme: rep % 4 == 2)
                let zpIn = Int32(rng.pick([0, 128, 255, rng.int(0...255)]))
                let zpOut = Int32(rng.pick([0, 128, 255, rng.int(0...255)]))
                let params = rep % 4 == 3 ? Int8OutputParams(zeroPoint: zpOut, qmin: zpOut, qmax: max(zpOut, min(255, zpOut + 40)))
                                      : Int8OutputParams(zeroPoint: zpOut)
                let outCount = g.batch * g.outH * g.outW * outC
                var want = [UInt8](repeating: 0, count: outCount)
                Int8Reference.conv(g, input: input, inputZeroPoint: zpIn, weights: weights, bias: bias, scales: scales,
                                   output: params, into: &want)
                for isa in Int8ISA.supported {
                    let p = Int8ConvKernels.packDense(g, weights: weights, bias: bias, scales: scales,
                                                      inputZeroPoint: zpIn, output: params, isa: isa)
                    XCTAssertEqual(p.kind, k == 1 && stride == 1 && pad == 0 ? .gemm : .indirect)
                    for tasks in [1, 3] {
                        let got = runInt8(p, input: input, outCount: outCount, tasks: tasks)
                        assertBitExact(got, want, "conv case \(ci).\(rep) \(isa.name) tasks \(tasks) \(g) zp \(zpIn)->\(zpOut)")
                    }
                }
            }
        }
    }

    /// The row-flat dense kernel (stride 1, out_c 1/2/4/8, in_c 4...64) against the
    /// reference and the GEMM of the same pack: widths around its 16-pixel groups,
    /// in-place rows (no horizontal padding) and padded ring rows, dilation, batches,
    /// task splits, fused clamps and float32 output.
    func testDenseRowFlatBitExact() throws {
        guard Int8ISA.avx512VNNI.isSupported else { throw XCTSkip("row-flat kernels need AVX-512 VNNI") }
        var rng = Int8Rng(seed: 0x5EED_0005)
        // (kH, kW, padTop, padLeft, dilation): padLeft 0 with a matching width runs on the input rows in place
        let kernels = [(1, 1, 0, 0, 1), (3, 3, 1, 1, 1), (3, 3, 0, 0, 1), (3, 1, 1, 0, 1), (1, 3, 0, 1, 1),
                       (3, 3, 2, 2, 2), (5, 5, 2, 2, 1), (1, 1, 1, 1, 1)]
        var flatCases = 0
        for (ci, (kH, kW, padTop, padLeft, dilation)) in kernels.enumerated() {
            for rep in 0..<10 {
                let inC = rng.pick([4, 8, 16, 32, 64])
                let outC = rng.pick([1, 2, 4, 8].filter { $0 * inC <= 64 })
                let w = rep < 5 ? [1, 15, 16, 17, 33][rep] : rng.int(1...40), h = rng.int(1...6)
                let ekH = (kH - 1) * dilation + 1, ekW = (kW - 1) * dilation + 1
                let inH = max(h, ekH - 2 * padTop), inW = max(w, ekW - 2 * padLeft)
                var g = ConvGeometry(batch: rep % 3 == 2 ? 2 : 1, inH: inH, inW: inW, inC: inC,
                                     outH: inH + 2 * padTop - ekH + 1, outW: inW + 2 * padLeft - ekW + 1, outC: outC,
                                     kH: kH, kW: kW, strideH: 1, strideW: 1, dilationH: dilation, dilationW: dilation,
                                     padTop: padTop, padLeft: padLeft)
                g.outMin = 0
                let input = rng.bytes(g.batch * g.inH * g.inW * inC)
                let weights = rng.weights(outC * kH * kW * inC), bias = rng.bias(outC)
                let scales = rng.scales(outC, extreme: rep % 4 == 2)
                let zpIn = Int32(rng.pick([0, 128, 255, rng.int(0...255)]))
                let zpOut = Int32(rng.pick([0, 128, 255, rng.int(0...255)]))
                let floatOut = outC == 1 && rep % 2 == 1
                let params = floatOut ? Int8OutputParams.float(min: rep % 4 == 1 ? 0 : -.infinity, max: rep % 4 == 1 ? 6 : .infinity)
                    : rep % 4 == 3 ? Int8OutputParams(zeroPoint: zpOut, qmin: zpOut, qmax: max(zpOut, min(255, zpOut + 40)))
                    : Int8OutputParams(zeroPoint: zpOut)
                let outCount = g.batch * g.outH * g.outW * outC
                let what = "flat case \(ci).\(rep) \(g) float \(floatOut) zp \(zpIn)->\(zpOut)"
                XCTAssertTrue(Int8ConvKernels.denseFlatApplies(g, output: params, isa: .avx512VNNI), what)
                let p = Int8ConvKernels.packDense(g, weights: weights, bias: bias, scales: scales, inputZeroPoint: zpIn,
                                                  output: params, isa: .avx512VNNI)
                XCTAssertGreaterThan(p.scratchBytes, 0, what)
                if floatOut {
                    var want = [Float](repeating: 0, count: outCount)
                    Int8Reference.conv(g, input: input, inputZeroPoint: zpIn, weights: weights, bias: bias,
                                       scales: scales, output: params, intoFloat: &want)
                    for tasks in [1, 3] {
                        for scratch in [true, false] {
                            let got = runInt8(p, input: input, outCount: outCount * 4, tasks: tasks, scratch: scratch)
                            let gotF = got.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                            let bad = zip(gotF, want).filter { $0.bitPattern != $1.bitPattern }.count
                            XCTAssertEqual(bad, 0, "\(what) tasks \(tasks) flat \(scratch): floats differ")
                        }
                    }
                } else {
                    var want = [UInt8](repeating: 0, count: outCount)
                    Int8Reference.conv(g, input: input, inputZeroPoint: zpIn, weights: weights, bias: bias,
                                       scales: scales, output: params, into: &want)
                    for tasks in [1, 3] {
                        for scratch in [true, false] {
                            let got = runInt8(p, input: input, outCount: outCount, tasks: tasks, scratch: scratch)
                            assertBitExact(got, want, "\(what) tasks \(tasks) flat \(scratch)")
                        }
                    }
                }
                flatCases += 1
            }
        }
        XCTAssertEqual(flatCases, kernels.count * 10)
        // Shapes the kernel leaves to the GEMM.
        let base = int8ConvGeometry(h: 8, w: 8, inC: 8, outC: 1, k: 3, stride: 1, pad: 1)
        XCTAssertTrue(Int8ConvKernels.denseFlatApplies(base, output: Int8OutputParams(zeroPoint: 0), isa: .avx512VNNI))
        for g in [int8ConvGeometry(h: 8, w: 8, inC: 8, outC: 1, k: 3, stride: 2, pad: 1),
                  int8ConvGeometry(h: 8, w: 8, inC: 12, outC: 1, k: 3, stride: 1, pad: 1),
                  int8ConvGeometry(h: 8, w: 8, inC: 8, outC: 3, k: 3, stride: 1, pad: 1),
                  int8ConvGeometry(h: 8, w: 8, inC: 16, outC: 8, k: 1, stride: 1, pad: 0)] {
            XCTAssertFalse(Int8ConvKernels.denseFlatApplies(g, output: Int8OutputParams(zeroPoint: 0), isa: .avx512VNNI), "\(g)")
        }
        let twoFloat = int8ConvGeometry(h: 8, w: 8, inC: 8, outC: 2, k: 1, stride: 1, pad: 0)
        XCTAssertFalse(Int8ConvKernels.denseFlatApplies(twoFloat, output: .float(), isa: .avx512VNNI))
        XCTAssertFalse(Int8ConvKernels.denseFlatApplies(base, output: Int8OutputParams(zeroPoint: 0), isa: .portable))
    }

    func testDepthwiseBitExactAllVariants() {
        var rng = Int8Rng(seed: 0x5EED_0003)
        var flatCases = 0
        defer {
            // The row-flat kernel (stride 1) must have been exercised wherever it exists.
            if Int8ISA.avx512VNNI.isSupported { XCTAssertGreaterThan(flatCases, 0) }
        }
        // 9x9 (81 taps) is past the SIMD kernels' 64-tap limit: the portable path's tap chunks
        let shapes = [(3, 1, 1, 1), (3, 2, 1, 1), (3, 2, 0, 1), (5, 1, 2, 1), (5, 2, 2, 1), (5, 2, 1, 1), (3, 1, 2, 2),
                      (9, 1, 4, 1), (3, 1, 0, 1), (7, 1, 3, 1), (1, 1, 0, 1)]
        for (ci, (k, stride, pad, dilation)) in shapes.enumerated() {
            for rep in 0..<8 {
                let c = rng.pick([1, 3, 8, 15, 16, 17, 24, 31, 33, 64, 65, 88, 136])
                let minSide = max(1, (k - 1) * dilation + 1 - 2 * pad)
                let g = int8ConvGeometry(batch: rep % 4 == 3 ? 2 : 1, h: rng.int(minSide...12), w: rng.int(minSide...12),
                                         inC: c, outC: c, k: k, stride: stride, pad: pad, dilation: dilation,
                                         depthwise: true)
                let input = rng.bytes(g.batch * g.inH * g.inW * c)
                let weights = rng.weights(k * k * c), bias = rng.bias(c)
                let scales = rng.scales(c, extreme: rep % 4 == 2)
                let zpIn = Int32(rng.pick([0, 128, 255, rng.int(0...255)]))
                let params = Int8OutputParams(zeroPoint: Int32(rng.pick([0, 128, 255, rng.int(0...255)])))
                let outCount = g.batch * g.outH * g.outW * c
                var want = [UInt8](repeating: 0, count: outCount)
                Int8Reference.depthwise(g, input: input, inputZeroPoint: zpIn, weights: weights, bias: bias,
                                        scales: scales, output: params, into: &want)
                for isa in Int8ISA.supported {
                    let p = Int8ConvKernels.packDepthwise(g, weights: weights, bias: bias, scales: scales,
                                                          inputZeroPoint: zpIn, output: params, isa: isa)
                    for tasks in [1, 2, 5] {
                        let got = runInt8(p, input: input, outCount: outCount, tasks: tasks)
                        assertBitExact(got, want, "dw case \(ci).\(rep) \(isa.name) tasks \(tasks) \(g)")
                        if p.scratchBytes > 0 {
                            flatCases += 1
                            let perPixel = runInt8(p, input: input, outCount: outCount, tasks: tasks, scratch: false)
                            assertBitExact(perPixel, want, "dw per-pixel case \(ci).\(rep) \(isa.name) tasks \(tasks) \(g)")
                        }
                    }
                }
            }
        }
    }

    /// The AVX-512 depthwise kernels sum taps in groups of four (row-flat at stride 1,
    /// per pixel and 64 channels at stride 2): kernels whose tap count leaves a last
    /// group of 1, 2, 3 or 4 taps (non-square, dilated), over channel counts that give
    /// one or many 64-byte phases or blocks, against the reference (and at stride 1
    /// the per-pixel kernel of the same pack).
    func testDepthwiseRowFlatTapGroups() throws {
        guard Int8ISA.avx512VNNI.isSupported else { throw XCTSkip("row-flat kernels need AVX-512 VNNI") }
        var rng = Int8Rng(seed: 0x5EED_0006)
        // (kH, kW, padTop, padLeft, dilation)
        let kernels = [(1, 2, 0, 1, 1), (1, 3, 0, 1, 1), (2, 2, 1, 0, 1), (3, 2, 1, 1, 1), (7, 1, 3, 0, 1),
                       (2, 3, 1, 1, 2), (3, 4, 1, 2, 1), (5, 3, 2, 1, 1), (4, 4, 1, 2, 1)]
        for (ci, (kH, kW, padTop, padLeft, dilation)) in kernels.enumerated() {
            for rep in 0..<12 {
                let stride = rep < 6 ? 1 : 2
                let c = rng.pick([1, 3, 8, 16, 24, 33, 64, 88, 130])
                let ekH = (kH - 1) * dilation + 1, ekW = (kW - 1) * dilation + 1
                let inH = max(rng.int(1...7), ekH - 2 * padTop), inW = max(rng.int(1...30), ekW - 2 * padLeft)
                let g = ConvGeometry(batch: rep % 3 == 2 ? 2 : 1, inH: inH, inW: inW, inC: c,
                                     outH: (inH + 2 * padTop - ekH) / stride + 1, outW: (inW + 2 * padLeft - ekW) / stride + 1,
                                     outC: c, kH: kH, kW: kW, strideH: stride, strideW: stride, dilationH: dilation, dilationW: dilation,
                                     padTop: padTop, padLeft: padLeft, groups: c)
                let input = rng.bytes(g.batch * g.inH * g.inW * c)
                let weights = rng.weights(kH * kW * c), bias = rng.bias(c)
                let scales = rng.scales(c, extreme: rep % 4 == 2)
                let zpIn = Int32(rng.pick([0, 128, 255, rng.int(0...255)]))
                let zpOut = Int32(rng.pick([0, 128, 255, rng.int(0...255)]))
                let params = rep % 2 == 1 ? Int8OutputParams(zeroPoint: zpOut, qmin: zpOut, qmax: max(zpOut, min(255, zpOut + 60)))
                    : Int8OutputParams(zeroPoint: zpOut)
                let outCount = g.batch * g.outH * g.outW * c
                var want = [UInt8](repeating: 0, count: outCount)
                Int8Reference.depthwise(g, input: input, inputZeroPoint: zpIn, weights: weights, bias: bias,
                                        scales: scales, output: params, into: &want)
                let p = Int8ConvKernels.packDepthwise(g, weights: weights, bias: bias, scales: scales,
                                                      inputZeroPoint: zpIn, output: params, isa: .avx512VNNI)
                let what = "dw tap groups case \(ci).\(rep) \(g) zp \(zpIn)->\(zpOut)"
                XCTAssertEqual(p.scratchBytes > 0, stride == 1, what)
                for tasks in [1, 4] {
                    assertBitExact(runInt8(p, input: input, outCount: outCount, tasks: tasks), want, "\(what) tasks \(tasks)")
                }
                assertBitExact(runInt8(p, input: input, outCount: outCount, tasks: 1, scratch: false), want,
                               "\(what) per-pixel")
            }
        }
    }

    /// Huge and tiny effective scales with extreme zero points: outputs pile up at
    /// the clamp bounds (asserted, so the test really covers saturation) and stay bit-exact.
    func testSaturationAndExtremeZeroPoints() {
        var rng = Int8Rng(seed: 0x5EED_0004)
        let g = int8ConvGeometry(h: 9, w: 7, inC: 33, outC: 65, k: 3, stride: 1, pad: 1)
        let input = rng.bytes(g.inH * g.inW * g.inC), weights = rng.weights(65 * 9 * 33), bias = rng.bias(65)
        for (scale, zpIn, zpOut) in [(Float(1e3), Int32(0), Int32(255)), (1e3, 255, 0), (1e3, 128, 128),
                                     (1e-6, 255, 255), (1e-6, 0, 0), (1e-6, 128, 128)] {
            let scales = [Float](repeating: scale, count: 65)
            let params = Int8OutputParams(zeroPoint: zpOut, qmin: 0, qmax: 255)
            var want = [UInt8](repeating: 0, count: g.outH * g.outW * 65)
            Int8Reference.conv(g, input: input, inputZeroPoint: zpIn, weights: weights, bias: bias, scales: scales,
                               output: params, into: &want)
            if scale > 1 {
                XCTAssertGreaterThan(want.filter { $0 == 0 || $0 == 255 }.count, want.count * 9 / 10, "saturates")
            } else {
                XCTAssertTrue(want.allSatisfy { abs(Int32($0) - zpOut) <= 1 }, "tiny scale stays at the zero point")
            }
            for isa in Int8ISA.supported {
                let p = Int8ConvKernels.packDense(g, weights: weights, bias: bias, scales: scales, inputZeroPoint: zpIn,
                                                  output: params, isa: isa)
                assertBitExact(runInt8(p, input: input, outCount: want.count, tasks: 2), want,
                               "\(isa.name) scale \(scale) zp \(zpIn)->\(zpOut)")
            }
        }
    }

    /// Exact ties round to even in every variant (acc * 0.5 with odd acc).
    func testRequantizationTiesRoundToEven() {
        XCTAssertEqual(QuantScheme.requantize(5, scale: 0.5, zeroPoint: 0, qmin: 0, qmax: 255), 2)
        XCTAssertEqual(QuantScheme.requantize(7, scale: 0.5, zeroPoint: 0, qmin: 0, qmax: 255), 4)
        XCTAssertEqual(QuantScheme.requantize(-5, scale: 0.5, zeroPoint: 10, qmin: 0, qmax: 255), 8)
        XCTAssertEqual(QuantScheme.requantize(-7, scale: 0.5, zeroPoint: 10, qmin: 0, qmax: 255), 6)
        XCTAssertEqual(QuantScheme.requantize(1_000_000, scale: 1, zeroPoint: 10, qmin: 0, qmax: 200), 200)
        // GEMM with K = 1, w = 1, a - zp = acc: outputs are rne(acc / 2) + 100.
        let accs = Array(-20...20)
        let a = accs.map { UInt8($0 + 128) }
        let want = accs.map { UInt8(100 + Int((Double($0) / 2).rounded(.toNearestOrEven))) }
        var packed = [UInt8](repeating: 0, count: vseg_q8_packed_gemm_size(1, 1, 1))
        vseg_q8_pack_gemm(1, 1, 1, [Int8(1)], nil, [Float(0.5)], 128, &packed)
        var cp = Int8OutputParams(zeroPoint: 100).c
        for isa in Int8ISA.supported {
            var got = [UInt8](repeating: 0, count: accs.count)
            vseg_q8_gemm(isa.rawValue, accs.count, 1, 1, a, 1, packed, &got, 1, &cp)
            XCTAssertEqual(got, want, isa.name)
        }
    }
}
