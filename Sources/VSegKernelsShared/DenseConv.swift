import VSegCore

// Shared kernel source (see KernelSIMD.swift): compiled once per ISA.
//
// Dense conv as an indirect GEMM: M = batch * outH * outW output
// pixels, N = outC, K = kH * kW * inC. No im2col: for each block of MR output
// pixels the task writes kH * kW * MR pointers to input rows (a zero row for
// padding) into its scratch, and the microkernel reads the input in place.
// A 1x1 stride-1 conv is then a plain GEMM on the NHWC input (one tap).
// Grouped convs pack each group's panels in turn; a panel of group g reads
// input channels g * inC/groups ..< (g + 1) * inC/groups of the same rows.

/// Pixel blocks whose row pointers are built at once; their panels are then
/// swept over all of them, so each weight panel is reused from L1/L2 for
/// `chunkBlocks * MR` pixels.
let chunkBlocks = 8

/// The fast kernels of this ISA. Every entry takes an already-resolved NHWC geometry.
public enum ISAConv {
    public static var isa: String { kernelISAName }

    /// Dense convs the fast path covers (others go to the reference twin).
    public static func denseSupported(_ g: ConvGeometry) -> Bool { g.groups >= 1 }

    public static func densePackedFloats(_ g: ConvGeometry) -> Int {
        let (cin, cout) = (g.inC / g.groups, g.outC / g.groups)
        return g.groups * ceilDiv(cout, panelWidth(cout)) * panelFloats(n: cout, taps: g.kH * g.kW, kc: cin)
    }

    /// `weights`: OHWI `[outC, kH, kW, inC / groups]`. Packed group by group.
    public static func packDense(_ g: ConvGeometry, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 into dst: UnsafeMutablePointer<Float>) {
        let taps = g.kH * g.kW
        let (cin, cout) = (g.inC / g.groups, g.outC / g.groups)
        let groupFloats = ceilDiv(cout, panelWidth(cout)) * panelFloats(n: cout, taps: taps, kc: cin)
        for group in 0..<g.groups {
            packPanels(n: cout, taps: taps, kc: cin, bias: bias.map { $0 + group * cout },
                       into: dst + group * groupFloats) { o, t, k in
                weights[((group * cout + o) * taps + t) * cin + k]
            }
        }
    }

    public static func denseScratchFloats(_ g: ConvGeometry) -> Int {
        pointerAreaFloats(chunkBlocks * MR * (g.kH * g.kW + 1) + g.kH * g.kW) + g.inC
    }

    static func denseGrid(_ g: ConvGeometry) -> (mBlocks: Int, nPanels: Int) {
        let cout = g.outC / g.groups
        return (ceilDiv(g.batch * g.outH * g.outW, MR), g.groups * ceilDiv(cout, panelWidth(cout)))
    }

    public static func denseTaskCount(_ g: ConvGeometry, threads: Int) -> Int {
        let (mb, np) = denseGrid(g)
        return gridTaskCount(mBlocks: mb, nPanels: np, threads: threads)
    }

    /// Runs task `task` of `taskCount`; `packed` from `packDense`. No allocation.
    public static func dense(_ g: ConvGeometry, packed: UnsafePointer<Float>, input: UnsafePointer<Float>,
                             output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                             task: Int, taskCount: Int) {
        let (mBlocks, nPanels) = denseGrid(g)
        let (mRange, nRange) = gridSplit(mBlocks: mBlocks, nPanels: nPanels, tasks: taskCount, task: task)
        if mRange.isEmpty || nRange.isEmpty { return }
        // kc: channels one group reads; pix: floats per input pixel.
        let taps = g.kH * g.kW, kc = g.inC / g.groups, pix = g.inC
        let cout = g.outC / g.groups, width = panelWidth(cout), panelsPerGroup = ceilDiv(cout, width)
        let aPerBlock = taps * MR
        let (area, rest) = pointerArea(scratch, count: chunkBlocks * MR * (taps + 1) + taps)
        let aPtrs = area
        let cPtrs = UnsafeMutableRawPointer(area + chunkBlocks * aPerBlock)
            .bindMemory(to: UnsafeMutablePointer<Float>.self, capacity: chunkBlocks * MR)
        // Offset of each tap from the tap-(0,0) input row, for pixels whose taps are all inside.
        let tapOffset = UnsafeMutableRawPointer(area + chunkBlocks * MR * (taps + 1)).bindMemory(to: Int.self, capacity: taps)
        for ky in 0..<g.kH {
            for kx in 0..<g.kW { tapOffset[ky * g.kW + kx] = (ky * g.dilationH * g.inW + kx * g.dilationW) * pix }
        }
        let (inH, inW, kH, kW) = (g.inH, g.inW, g.kH, g.kW)
        let (sH, sW, dH, dW) = (g.strideH, g.strideW, g.dilationH, g.dilationW)
        let lastY = (kH - 1) * dH, lastX = (kW - 1) * dW
        let plainGEMM = kH == 1 && kW == 1 && sH == 1 && sW == 1 && g.padTop == 0 && g.padLeft == 0
            && g.outH == inH && g.outW == inW
        let zero = rest
        zero.initialize(repeating: 0, count: pix)
        let zeroRow = UnsafePointer(zero)
        let pixels = g.batch * g.outH * g.outW
        let panelSize = panelFloats(n: cout, taps: taps, kc: kc)
        let hw = g.outH * g.outW

        var mb = mRange.lowerBound
        while mb < mRange.upperBound {
            let count = min(chunkBlocks, mRange.upperBound - mb)
            // Row pointers for `count` pixel blocks.
            for blk in 0..<count {
                let m0 = (mb + blk) * MR
                let mr = min(MR, pixels - m0)
                let a = aPtrs + blk * aPerBlock
                let c = cPtrs + blk * MR
                if plainGEMM {
                    // 1x1, stride 1, no padding: pixel m reads input row m.
                    for i in 0..<MR {
                        let m = m0 + min(i, mr - 1)
                        a[i] = input + m * pix
                        c[i] = output + m * g.outC
                    }
                    continue
                }
                // One division per block, then walk the pixels.
                var b = m0 / hw
                var oy = (m0 - b * hw) / g.outW
                var ox = m0 - b * hw - oy * g.outW
                for i in 0..<mr {
                    c[i] = output + (m0 + i) * g.outC
                    let inBatch = input + b * inH * inW * pix
                    let iy0 = oy * sH - g.padTop, ix0 = ox * sW - g.padLeft
                    if iy0 >= 0 && ix0 >= 0 && iy0 + lastY < inH && ix0 + lastX < inW {
                        let base = inBatch + (iy0 * inW + ix0) * pix
                        for t in 0..<taps { a[t * MR + i] = base + tapOffset[t] }
                    } else {
                        var t = 0
                        for ky in 0..<kH {
                            let iy = iy0 + ky * dH
                            if UInt(bitPattern: iy) >= UInt(inH) {
                                for _ in 0..<kW { a[t * MR + i] = zeroRow; t += 1 }
                                continue
                            }
                            let rowBase = inBatch + iy * inW * pix
                            var ix = ix0
                            for _ in 0..<kW {
                                a[t * MR + i] = UInt(bitPattern: ix) < UInt(inW) ? rowBase + ix * pix : zeroRow
                                ix += dW; t += 1
                            }
                        }
                    }
                    ox += 1
                    if ox == g.outW { ox = 0; oy += 1; if oy == g.outH { oy = 0; b += 1 } }
                }
                // Rows past the end repeat the last pixel (the microkernel reads, never writes them).
                for i in mr..<MR {
                    c[i] = c[mr - 1]
                    for t in 0..<taps { a[t * MR + i] = a[t * MR + mr - 1] }
                }
            }
            for panel in nRange {
                let w = packed + panel * panelSize
                let group = panel / panelsPerGroup
                let n0 = group * cout + (panel - group * panelsPerGroup) * width
                let nr = min(width, (group + 1) * cout - n0)
                let aOffset = group * kc
                for blk in 0..<count {
                    let mr = min(MR, pixels - (mb + blk) * MR)
                    let a = aPtrs + blk * aPerBlock, c = cPtrs + blk * MR
                    if cout == 1 {
                        dotKernel(mr: mr, taps: taps, kc: kc, a: a, aOffset: aOffset, w: w, c: c, cOffset: n0,
                                  lo: g.outMin, hi: g.outMax)
                    } else if nr <= VW {
                        gemmMicrokernel1(mr: mr, nr: nr, taps: taps, kc: kc, a: a, aOffset: aOffset, w: w, c: c,
                                         cOffset: n0, lo: g.outMin, hi: g.outMax)
                    } else {
                        gemmMicrokernel(mr: mr, nr: nr, taps: taps, kc: kc, a: a, aOffset: aOffset, w: w, c: c,
                                        cOffset: n0, lo: g.outMin, hi: g.outMax)
                    }
                }
            }
            mb += count
        }
    }
}
