import VSegCore

// Shared kernel source (see KernelSIMD.swift): compiled once per ISA.
//
// Depthwise conv, direct on NHWC, vectorized over channels. Multiplier 1
// only (outC == inC); a multiplier > 1 goes to the reference twin (none of the
// MediaPipe models use one). Interior pixels (all taps inside the input) of any
// kernel size take a path without bounds checks, four pixels per weight load;
// border pixels a general one.

/// Channels per work unit when rows alone are too few to split among tasks.
@usableFromInline let dwChannelBlock = 4 * V.scalarCount

extension ISAConv {
    public static func depthwiseSupported(_ g: ConvGeometry) -> Bool { g.groups == g.inC && g.outC == g.inC }

    public static func depthwisePackedFloats(_ g: ConvGeometry) -> Int {
        roundUp(g.outC, VW) * (1 + g.kH * g.kW)
    }

    /// `weights`: `[kH, kW, C]`. Packed: `Cp` biases, then `kH * kW` rows of `Cp`
    /// weights (`Cp` = C rounded up to a vector, zero padded).
    public static func packDepthwise(_ g: ConvGeometry, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                     into dst: UnsafeMutablePointer<Float>) {
        let c = g.outC, cp = roundUp(c, VW), taps = g.kH * g.kW
        dst.initialize(repeating: 0, count: cp * (1 + taps))
        for j in 0..<c { dst[j] = bias?[j] ?? 0 }
        for t in 0..<taps { for j in 0..<c { dst[cp + t * cp + j] = weights[t * c + j] } }
    }

    public static func depthwiseScratchFloats(_ g: ConvGeometry) -> Int { 0 }

    static func depthwiseGrid(_ g: ConvGeometry) -> (rows: Int, channelBlocks: Int) {
        (g.batch * g.outH, ceilDiv(g.outC, dwChannelBlock))
    }

    public static func depthwiseTaskCount(_ g: ConvGeometry, threads: Int) -> Int {
        let (r, cb) = depthwiseGrid(g)
        return gridTaskCount(mBlocks: r, nPanels: cb, threads: threads)
    }

    public static func depthwise(_ g: ConvGeometry, packed: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                 output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                 task: Int, taskCount: Int) {
        let (rows, cBlocks) = depthwiseGrid(g)
        let (rRange, cbRange) = gridSplit(mBlocks: rows, nPanels: cBlocks, tasks: taskCount, task: task)
        if rRange.isEmpty || cbRange.isEmpty { return }
        let C = g.outC, cp = roundUp(C, VW)
        let cBegin = cbRange.lowerBound * dwChannelBlock
        let cEnd = min(C, cbRange.upperBound * dwChannelBlock)
        let cVecEnd = cBegin + (cEnd - cBegin) / VW * VW
        let rowStride = g.inW * C, pixStride = C
        let lo = V(repeating: g.outMin), hi = V(repeating: g.outMax)
        // Output columns whose taps are all inside the input.
        let oxFirst = max(0, ceilDiv(g.padLeft, g.strideW))
        let lastReach = (g.kW - 1) * g.dilationW - g.padLeft  // ix of the last tap minus ox * strideW
        let oxEnd = max(oxFirst, min(g.outW, g.inW - lastReach > 0 ? ceilDiv(g.inW - lastReach, g.strideW) : 0))
        let wBase = packed + cp

        for r in rRange {
            let b = r / g.outH, oy = r - b * g.outH
            let iy0 = oy * g.strideH - g.padTop
            // Valid kernel rows for this output row.
            var kyLo = 0, kyHi = g.kH
            while kyLo < g.kH && iy0 + kyLo * g.dilationH < 0 { kyLo += 1 }
            while kyHi > kyLo && iy0 + (kyHi - 1) * g.dilationH >= g.inH { kyHi -= 1 }
            let fullRows = kyLo == 0 && kyHi == g.kH
            let inImage = input + b * g.inH * rowStride
            let outRow = output + r * g.outW * C

            var c = cBegin
            while c < cVecEnd {
                let bias = load(packed + c)
                let w = wBase + c
                let dy = g.dilationH * rowStride, dx = g.dilationW * pixStride
                // Columns [oxFirst, oxEnd) of a row with all kernel rows inside: no bounds checks.
                if fullRows && oxEnd > oxFirst {
                    let ix0 = oxFirst * g.strideW - g.padLeft
                    dwInterior(k: (g.kH, g.kW), n: oxEnd - oxFirst, input: inImage + (iy0 * g.inW + ix0) * C + c,
                               inStep: g.strideW * C, dy: dy, dx: dx, w: w, cp: cp, bias: bias,
                               output: outRow + oxFirst * C + c, outStep: C, lo: lo, hi: hi)
                }
                for ox in 0..<g.outW where !(fullRows && ox >= oxFirst && ox < oxEnd) {
                    let ix0 = ox * g.strideW - g.padLeft
                    // Points at (iy0, ix0, c), possibly outside the image: only offset, never read there.
                    let base = inImage + (iy0 * g.inW + ix0) * C + c
                    var acc = bias
                    for ky in kyLo..<kyHi {
                        for kx in 0..<g.kW {
                            let ix = ix0 + kx * g.dilationW
                            if ix < 0 || ix >= g.inW { continue }
                            acc = fma(acc, load(base + ky * dy + kx * dx), load(w + (ky * g.kW + kx) * cp))
                        }
                    }
                    store(clampV(acc, lo, hi), outRow + ox * C + c)
                }
                c += VW
            }
            // Channel tail (fewer than a vector): scalar.
            while c < cEnd {
                for ox in 0..<g.outW {
                    let ix0 = ox * g.strideW - g.padLeft
                    var acc = packed[c]
                    for ky in kyLo..<kyHi {
                        let iy = iy0 + ky * g.dilationH
                        for kx in 0..<g.kW {
                            let ix = ix0 + kx * g.dilationW
                            if ix < 0 || ix >= g.inW { continue }
                            acc = fma(acc, inImage[(iy * g.inW + ix) * C + c], wBase[(ky * g.kW + kx) * cp + c])
                        }
                    }
                    outRow[ox * C + c] = clampS(acc, g.outMin, g.outMax)
                }
                c += 1
            }
        }
    }
}

/// One channel vector of `n` consecutive interior output pixels (every tap
/// inside the input). Four pixels per step share each weight load.
@inline(never) @usableFromInline
func dwInterior(k: (h: Int, w: Int), n: Int, input: UnsafePointer<Float>, inStep: Int, dy: Int, dx: Int,
                w: UnsafePointer<Float>, cp: Int, bias: V, output: UnsafeMutablePointer<Float>, outStep: Int,
                lo: V, hi: V) {
    var x = 0
    var inp = input, out = output
    while x + 4 <= n {
        var a0 = bias, a1 = bias, a2 = bias, a3 = bias
        var wt = w
        var row = inp
        for _ in 0..<k.h {
            var p = row
            for _ in 0..<k.w {
                let wv = load(wt)
                a0 = fma(a0, load(p), wv)
                a1 = fma(a1, load(p + inStep), wv)
                a2 = fma(a2, load(p + 2 * inStep), wv)
                a3 = fma(a3, load(p + 3 * inStep), wv)
                wt += cp; p += dx
            }
            row += dy
        }
        store(clampV(a0, lo, hi), out)
        store(clampV(a1, lo, hi), out + outStep)
        store(clampV(a2, lo, hi), out + 2 * outStep)
        store(clampV(a3, lo, hi), out + 3 * outStep)
        x += 4; inp += 4 * inStep; out += 4 * outStep
    }
    while x < n {
        var a0 = bias
        var wt = w
        var row = inp
        for _ in 0..<k.h {
            var p = row
            for _ in 0..<k.w {
                a0 = fma(a0, load(p), load(wt))
                wt += cp; p += dx
            }
            row += dy
        }
        store(clampV(a0, lo, hi), out)
        x += 1; inp += inStep; out += outStep
    }
}
