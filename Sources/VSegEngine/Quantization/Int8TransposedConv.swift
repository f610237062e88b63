import CKernels
import VSegCore

/// INT8 transposed conv (groups 1) as one indirect GEMM per output phase.
///
/// Output pixel (oy, ox) reads input (iy, ix) through tap (ky, kx) when
/// `oy + padTop = iy * strideH + ky * dilationH` (same for x). For a fixed
/// phase `((oy + padTop) mod strideH, (ox + padLeft) mod strideW)` the set of
/// taps is fixed, so each phase is an ordinary conv with a sub-kernel: its
/// weights are packed once, its indirection offsets (input row per pixel and
/// tap, -1 outside the input) are built at prepare, and one `vseg_q8_igemm`
/// call covers the pixels of one output row and one x phase (output stride
/// `strideW * outC`). A phase with no taps (kernel smaller than stride) is the
/// requantized bias. Tasks split output rows. Twin: `Int8Reference.transposed`.
final class Int8TransposedConv: PreparedOp {
    let g: ConvGeometry
    let isa: Int32
    let reference: Bool
    let weights: [Int8], bias: [Int32]?, scales: [Float], zpIn: Int32, out: Int8OutputParams
    let input: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>
    let threads: Int
    /// Per phase (ph * strideW + pw): taps and packed weights (nil when no taps).
    private var taps: [Int] = []
    private var packs: [UnsafeMutableRawPointer?] = []
    /// Requantized bias per phase without taps: `outC` bytes.
    private let constantRow: UnsafeMutablePointer<UInt8>
    /// Offsets per (row, pw), starting at `offsetStart[row * strideW + pw]`.
    private let offsets: UnsafeMutablePointer<Int64>
    private var offsetStart: [Int] = []
    private let zero: UnsafeMutablePointer<UInt8>
    private let params: UnsafeMutablePointer<vseg_q8_output_params>

    init(g: ConvGeometry, weights: [Int8], bias: [Int32]?, scales: [Float], zpIn: Int32, out: Int8OutputParams,
         input: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, threads: Int, reference: Bool) {
        self.g = g; self.weights = weights; self.bias = bias; self.scales = scales; self.zpIn = zpIn; self.out = out
        self.input = input; self.output = output; self.threads = threads; self.reference = reference
        isa = Int8ISA.selected.rawValue
        zero = .allocate(capacity: max(g.inC, 1))
        zero.initialize(repeating: UInt8(zpIn), count: max(g.inC, 1))
        params = .allocate(capacity: 1)
        params.initialize(to: out.c)
        constantRow = .allocate(capacity: max(g.outC, 1))
        for oc in 0..<g.outC {
            constantRow[oc] = QuantScheme.requantize(bias?[oc] ?? 0, scale: scales[oc], zeroPoint: out.zeroPoint,
                                                     qmin: out.qmin, qmax: out.qmax)
        }
        func phaseTaps(_ phase: Int, k: Int, s: Int, d: Int) -> [Int] {
            (0..<k).filter { (((phase - $0 * d) % s) + s) % s == 0 }
        }
        let tapY = (0..<g.strideH).map { phaseTaps($0, k: g.kH, s: g.strideH, d: g.dilationH) }
        let tapX = (0..<g.strideW).map { phaseTaps($0, k: g.kW, s: g.strideW, d: g.dilationW) }
        if !reference {
            for ph in 0..<g.strideH {
                for pw in 0..<g.strideW {
                    let t = tapY[ph].count * tapX[pw].count
                    taps.append(t)
                    guard t > 0 else { packs.append(nil); continue }
                    var w = [Int8](repeating: 0, count: g.outC * t * g.inC)
                    for oc in 0..<g.outC {
                        var k = 0
                        for ky in tapY[ph] {
                            for kx in tapX[pw] {
                                let src = ((oc * g.kH + ky) * g.kW + kx) * g.inC
                                let dst = (oc * t + k) * g.inC
                                for ic in 0..<g.inC { w[dst + ic] = weights[src + ic] }
                                k += 1
                            }
                        }
                    }
                    let p = UnsafeMutableRawPointer.allocate(byteCount: max(vseg_q8_packed_gemm_size(g.outC, t, g.inC), 1),
                                                             alignment: 64)
                    w.withUnsafeBufferPointer { wp in
                        scales.withUnsafeBufferPointer { sp in
                            withOptionalPointer(bias) { bp in
                                vseg_q8_pack_gemm(g.outC, t, g.inC, wp.baseAddress!, bp, sp.baseAddress!, zpIn, p)
                            }
                        }
                    }
                    packs.append(p)
                }
            }
        }
        // Offsets: rows in order, x phases in order, pixels of that phase, taps.
        var total = 0
        let rows = g.batch * g.outH
        if !reference {
            offsetStart.reserveCapacity(rows * g.strideW)
            for row in 0..<rows {
                let ph = (row % g.outH + g.padTop) % g.strideH
                for pw in 0..<g.strideW {
                    offsetStart.append(total)
                    total += Self.pixels(pw, g) * taps[ph * g.strideW + pw]
                }
            }
        }
        offsets = .allocate(capacity: max(total, 1))
        if !reference {
            for row in 0..<rows {
                let b = row / g.outH, oy = row % g.outH
                let fy = oy + g.padTop, ph = fy % g.strideH
                for pw in 0..<g.strideW {
                    let t = taps[ph * g.strideW + pw]
                    guard t > 0 else { continue }
                    var o = offsetStart[row * g.strideW + pw]
                    var ox = Self.firstX(pw, g)
                    while ox < g.outW {
                        let fx = ox + g.padLeft
                        for ky in tapY[ph] {
                            let iy = (fy - ky * g.dilationH) / g.strideH
                            let vy = fy - ky * g.dilationH >= 0 && iy < g.inH
                            for kx in tapX[pw] {
                                let ix = (fx - kx * g.dilationW) / g.strideW
                                let vx = fx - kx * g.dilationW >= 0 && ix < g.inW
                                offsets[o] = vy && vx ? Int64(((b * g.inH + iy) * g.inW + ix) * g.inC) : -1
                                o += 1
                            }
                        }
                        ox += g.strideW
                    }
                }
            }
        }
    }

    deinit {
        for p in packs { p?.deallocate() }
        offsets.deallocate()
        zero.deallocate()
        params.deallocate()
        constantRow.deallocate()
    }

    /// First output column of x phase `pw`.
    static func firstX(_ pw: Int, _ g: ConvGeometry) -> Int { ((pw - g.padLeft) % g.strideW + g.strideW) % g.strideW }
    /// Output columns of x phase `pw`.
    static func pixels(_ pw: Int, _ g: ConvGeometry) -> Int {
        let x0 = firstX(pw, g)
        return x0 < g.outW ? (g.outW - 1 - x0) / g.strideW + 1 : 0
    }

    func run(_ pool: ThreadPool) {
        if reference {
            weights.withUnsafeBufferPointer { w in
                scales.withUnsafeBufferPointer { s in
                    withOptionalPointer(bias) { b in
                        Int8Reference.transposed(g, input: input, inputZeroPoint: zpIn, weights: w.baseAddress!, bias: b,
                                                 scales: s.baseAddress!, output: out, into: output)
                    }
                }
            }
            return
        }
        let rows = g.batch * g.outH
        let tasks = Int8ConvKernels.tasks(units: rows, threads: threads)
        pool.parallelFor(tasks) { t in self.rows(splitRange(rows, parts: tasks, t)) }
    }

    private func rows(_ range: Range<Int>) {
        let g = self.g
        taps.withUnsafeBufferPointer { taps in
            packs.withUnsafeBufferPointer { packs in
                offsetStart.withUnsafeBufferPointer { starts in
                    for row in range {
                        let ph = (row % g.outH + g.padTop) % g.strideH
                        let rowOut = output + row * g.outW * g.outC
                        for pw in 0..<g.strideW {
                            let m = Self.pixels(pw, g)
                            if m == 0 { continue }
                            let x0 = Self.firstX(pw, g)
                            let t = taps[ph * g.strideW + pw]
                            if let p = packs[ph * g.strideW + pw] {
                                vseg_q8_igemm(isa, m, g.outC, t, g.inC, offsets + starts[row * g.strideW + pw], input, zero,
                                              p, rowOut + x0 * g.outC, g.strideW * g.outC, params)
                            } else {
                                var ox = x0
                                while ox < g.outW {
                                    (rowOut + ox * g.outC).update(from: constantRow, count: g.outC)
                                    ox += g.strideW
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
