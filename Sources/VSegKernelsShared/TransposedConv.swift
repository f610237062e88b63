import VSegCore

// Shared kernel source (see KernelSIMD.swift): compiled once per ISA.
//
// Transposed conv in gather form, as an indirect GEMM per output phase.
// Output pixel (oy, ox) receives input (iy, ix) through tap (ky, kx) when
// oy + padTop = iy * strideH + ky * dilationH (same for x). For a fixed phase
// (oy mod strideH, ox mod strideW) the set of taps that can contribute is fixed,
// so the output is computed phase by phase: each phase is a dense indirect GEMM
// over its pixels with only its own taps (a zero row where the input pixel falls
// outside). Every output element is written once, bias included; nothing is
// scattered or accumulated across tasks. Groups == 1 only.

/// Taps of phase (py, px), in (ky, kx) order, passed to `body(t, ky, kx)`.
@inline(__always)
func forEachPhaseTap(_ g: ConvGeometry, py: Int, px: Int, _ body: (Int, Int, Int) -> Void) {
    var t = 0
    for ky in 0..<g.kH where ((py + g.padTop - ky * g.dilationH) % g.strideH + g.strideH) % g.strideH == 0 {
        for kx in 0..<g.kW where ((px + g.padLeft - kx * g.dilationW) % g.strideW + g.strideW) % g.strideW == 0 {
            body(t, ky, kx); t += 1
        }
    }
}

@inline(__always)
func phaseTapCount(_ g: ConvGeometry, py: Int, px: Int) -> Int {
    var n = 0
    forEachPhaseTap(g, py: py, px: px) { _, _, _ in n += 1 }
    return n
}

/// Output rows/columns of phase p along one axis.
@inline(__always)
func phaseExtent(_ out: Int, _ stride: Int, _ p: Int) -> Int { p < out ? ceilDiv(out - p, stride) : 0 }

extension ISAConv {
    public static func transposedSupported(_ g: ConvGeometry) -> Bool { g.groups == 1 }

    public static func transposedPackedFloats(_ g: ConvGeometry) -> Int {
        var total = 0
        for py in 0..<g.strideH {
            for px in 0..<g.strideW {
                total += ceilDiv(g.outC, panelWidth(g.outC)) * panelFloats(n: g.outC, taps: phaseTapCount(g, py: py, px: px), kc: g.inC)
            }
        }
        return total
    }

    /// `weights`: OHWI `[outC, kH, kW, inC]`. Packed phase by phase (py major),
    /// each as GEMM panels over that phase's taps.
    public static func packTransposed(_ g: ConvGeometry, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                      into dst: UnsafeMutablePointer<Float>) {
        var offset = 0
        let kc = g.inC
        for py in 0..<g.strideH {
            for px in 0..<g.strideW {
                // Map phase tap index -> kernel tap index, stack-free: recompute on demand.
                let taps = phaseTapCount(g, py: py, px: px)
                var tapIndex = [Int](repeating: 0, count: taps)  // prepare-time only
                forEachPhaseTap(g, py: py, px: px) { t, ky, kx in tapIndex[t] = ky * g.kW + kx }
                let kernelTaps = g.kH * g.kW
                packPanels(n: g.outC, taps: taps, kc: kc, bias: bias, into: dst + offset) { o, t, k in
                    weights[(o * kernelTaps + tapIndex[t]) * kc + k]
                }
                offset += ceilDiv(g.outC, panelWidth(g.outC)) * panelFloats(n: g.outC, taps: taps, kc: kc)
            }
        }
    }

    public static func transposedScratchFloats(_ g: ConvGeometry) -> Int {
        pointerAreaFloats(chunkBlocks * MR * (maxPhaseTaps(g) + 1)) + g.inC
            + g.strideH * (g.kH + 1) + g.strideW * (g.kW + 1)
    }

    /// Upper bound on the taps of any phase: along y, the kernel rows of one
    /// phase are `strideH / gcd(strideH, dilationH)` apart (same along x). An
    /// FCN's 64x64 stride-32 upsampler needs 4 row pointers per pixel, not 4096.
    static func maxPhaseTaps(_ g: ConvGeometry) -> Int {
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let periodY = g.strideH / gcd(g.strideH, g.dilationH), periodX = g.strideW / gcd(g.strideW, g.dilationW)
        return ceilDiv(g.kH, periodY) * ceilDiv(g.kW, periodX)
    }

    /// Work is enumerated as segments (batch b, phase row r, phase (py, px)):
    /// the pixels of one output row that belong to one phase, cut into blocks of
    /// MR. Rows outer, phases inner, so consecutive segments read the same input
    /// rows (phase-major order re-read the whole input once per phase).
    static func transposedGrid(_ g: ConvGeometry) -> (mBlocks: Int, nPanels: Int) {
        var rows = 0, colBlocks = 0
        for py in 0..<g.strideH { rows += phaseExtent(g.outH, g.strideH, py) }
        for px in 0..<g.strideW { colBlocks += ceilDiv(phaseExtent(g.outW, g.strideW, px), MR) }
        return (g.batch * rows * colBlocks, ceilDiv(g.outC, panelWidth(g.outC)))
    }

    public static func transposedTaskCount(_ g: ConvGeometry, threads: Int) -> Int {
        let (mb, np) = transposedGrid(g)
        return gridTaskCount(mBlocks: mb, nPanels: np, threads: threads)
    }

    public static func transposed(_ g: ConvGeometry, packed: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                  output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                  task: Int, taskCount: Int) {
        let (mBlocks, nPanels) = transposedGrid(g)
        let (mRange, nRange) = gridSplit(mBlocks: mBlocks, nPanels: nPanels, tasks: taskCount, task: task)
        if mRange.isEmpty || nRange.isEmpty { return }
        let kc = g.inC
        let (sH, sW) = (g.strideH, g.strideW)
        let maxTaps = maxPhaseTaps(g)
        let aPerBlock = maxTaps * MR
        let (area, rest) = pointerArea(scratch, count: chunkBlocks * MR * (maxTaps + 1))
        let cPtrs = UnsafeMutableRawPointer(area + chunkBlocks * aPerBlock)
            .bindMemory(to: UnsafeMutablePointer<Float>.self, capacity: chunkBlocks * MR)
        rest.initialize(repeating: 0, count: kc)
        let zeroRow = UnsafePointer(rest)
        // Per phase row py: the input-row offsets of its kernel rows (iy = phase row + offY),
        // and their count; the same per phase column px.
        let offY = UnsafeMutableRawPointer(rest + kc)
            .bindMemory(to: Int32.self, capacity: sH * (g.kH + 1) + sW * (g.kW + 1))
        let nkyOf = offY + sH * g.kH, offX = nkyOf + sH, nkxOf = offX + sW * g.kW
        for py in 0..<sH {
            var n = 0
            for ky in 0..<g.kH where ((py + g.padTop - ky * g.dilationH) % sH + sH) % sH == 0 {
                offY[py * g.kH + n] = Int32((py + g.padTop - ky * g.dilationH) / sH); n += 1
            }
            nkyOf[py] = Int32(n)
        }
        for px in 0..<sW {
            var n = 0
            for kx in 0..<g.kW where ((px + g.padLeft - kx * g.dilationW) % sW + sW) % sW == 0 {
                offX[px * g.kW + n] = Int32((px + g.padLeft - kx * g.dilationW) / sW); n += 1
            }
            nkxOf[px] = Int32(n)
        }
        let inImage = g.inH * g.inW * kc

        var segment0 = 0  // global index of the first block of the current segment
        for b in 0..<g.batch {
            for r in 0..<phaseExtent(g.outH, sH, 0) {
                if segment0 >= mRange.upperBound { return }
                var phaseWeights = packed  // phases are packed py-major, as walked here
                for py in 0..<sH {
                    let nky = Int(nkyOf[py])
                    let rowLive = r < phaseExtent(g.outH, sH, py)
                    for px in 0..<sW {
                        let nkx = Int(nkxOf[px])
                        let taps = nky * nkx
                        let panelSize = panelFloats(n: g.outC, taps: taps, kc: kc)
                        defer { phaseWeights += nPanels * panelSize }
                        if !rowLive { continue }
                        let colsP = phaseExtent(g.outW, sW, px)
                        let blocks = ceilDiv(colsP, MR)
                        let lo = max(mRange.lowerBound, segment0), hi = min(mRange.upperBound, segment0 + blocks)
                        defer { segment0 += blocks }
                        if lo >= hi { continue }
                        let oy = py + r * sH
                        let outRow = output + (b * g.outH + oy) * g.outW * g.outC
                        let inBatch = input + b * inImage
                        var mb = lo
                        while mb < hi {
                            let count = min(chunkBlocks, hi - mb)
                            for blk in 0..<count {
                                let col0 = (mb - segment0 + blk) * MR
                                let mr = min(MR, colsP - col0)
                                let a = area + blk * aPerBlock
                                let c = cPtrs + blk * MR
                                for i in 0..<mr {
                                    let col = col0 + i
                                    c[i] = outRow + (px + col * sW) * g.outC
                                    var t = 0
                                    for j in 0..<nky {
                                        let iy = r + Int(offY[py * g.kH + j])
                                        let rowOK = iy >= 0 && iy < g.inH
                                        for l in 0..<nkx {
                                            let ix = col + Int(offX[px * g.kW + l])
                                            a[t * MR + i] = (rowOK && ix >= 0 && ix < g.inW)
                                                ? inBatch + (iy * g.inW + ix) * kc : zeroRow
                                            t += 1
                                        }
                                    }
                                }
                                for i in mr..<MR {
                                    c[i] = c[mr - 1]
                                    for t in 0..<taps { a[t * MR + i] = a[t * MR + mr - 1] }
                                }
                            }
                            for panel in nRange {
                                let w = phaseWeights + panel * panelSize
                                let n0 = panel * NR
                                let nr = min(NR, g.outC - n0)
                                for blk in 0..<count {
                                    let mr = min(MR, colsP - (mb - segment0 + blk) * MR)
                                    let a = area + blk * aPerBlock, c = cPtrs + blk * MR
                                    if g.outC == 1 {
                                        dotKernel(mr: mr, taps: taps, kc: kc, a: a, aOffset: 0, w: w, c: c, cOffset: 0,
                                                  lo: g.outMin, hi: g.outMax)
                                    } else if nr <= VW {
                                        gemmMicrokernel1(mr: mr, nr: nr, taps: taps, kc: kc, a: a, aOffset: 0, w: w, c: c,
                                                         cOffset: n0, lo: g.outMin, hi: g.outMax)
                                    } else {
                                        gemmMicrokernel(mr: mr, nr: nr, taps: taps, kc: kc, a: a, aOffset: 0, w: w, c: c,
                                                        cOffset: n0, lo: g.outMin, hi: g.outMax)
                                    }
                                }
                            }
                            mb += count
                        }
                    }
                }
            }
        }
    }
}
