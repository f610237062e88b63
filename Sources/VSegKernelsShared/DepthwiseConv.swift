import VSegCore

// Shared kernel source (see KernelSIMD.swift): compiled once per ISA.
//
// Depthwise conv, direct on NHWC, vectorized over channels. Multiplier 1
// only (outC == inC); a multiplier > 1 goes to the reference twin (none of the
// MediaPipe models use one). Interior pixels (all taps inside the input) of any
// kernel size take a path without bounds checks, four pixels per weight load;
// border pixels a general one.

/// Channels per work unit when rows alone are too few to split among tasks.
let dwChannelBlock = 4 * V.scalarCount

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
        let rowStride = g.inW * C
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
            let row = DWRow(g: g, inImage: input + b * g.inH * rowStride, outRow: output + r * g.outW * C,
                            iy0: iy0, kyLo: kyLo, kyHi: kyHi, oxFirst: oxFirst, oxEnd: oxEnd, cp: cp, weights: wBase,
                            bias: packed)
            var c = cBegin
            while c + VW <= cEnd { dwRowChannels(row, c: c, V.self); c += VW }
            // Channel tail: a half vector, then scalars.
            if c + H.scalarCount <= cEnd { dwRowChannels(row, c: c, H.self); c += H.scalarCount }
            while c < cEnd { dwRowChannel(row, c: c); c += 1 }
        }
    }
}

/// One output row of a depthwise conv, fixed for all its channel vectors.
struct DWRow {
    let g: ConvGeometry
    let inImage: UnsafePointer<Float>, outRow: UnsafeMutablePointer<Float>
    let iy0: Int, kyLo: Int, kyHi: Int, oxFirst: Int, oxEnd: Int, cp: Int
    let weights: UnsafePointer<Float>, bias: UnsafePointer<Float>

   
    init(g: ConvGeometry, inImage: UnsafePointer<Float>, outRow: UnsafeMutablePointer<Float>, iy0: Int, kyLo: Int,
         kyHi: Int, oxFirst: Int, oxEnd: Int, cp: Int, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>) {
        self.g = g; self.inImage = inImage; self.outRow = outRow; self.iy0 = iy0; self.kyLo = kyLo
        self.kyHi = kyHi; self.oxFirst = oxFirst; self.oxEnd = oxEnd; self.cp = cp; self.weights = weights
        self.bias = bias
    }
}

/// Channels `c..<c + W.scalarCount` of one output row: the interior columns
/// without bounds checks, the border columns with them.
@inline(never)
func dwRowChannels<W: KernelVector>(_ r: DWRow, c: Int, _: W.Type) {
    let g = r.g, C = g.outC
    let dy = g.dilationH * g.inW * C, dx = g.dilationW * C
    let lo = W(repeating: g.outMin), hi = W(repeating: g.outMax)
    let bias: W = loadG(r.bias + c, as: W.self)
    let w = r.weights + c
    let fullRows = r.kyLo == 0 && r.kyHi == g.kH
    if fullRows && r.oxEnd > r.oxFirst {
        let ix0 = r.oxFirst * g.strideW - g.padLeft
        dwInterior(k: (g.kH, g.kW), n: r.oxEnd - r.oxFirst, input: r.inImage + (r.iy0 * g.inW + ix0) * C + c,
                   inStep: g.strideW * C, dy: dy, dx: dx, w: w, cp: r.cp, bias: bias,
                   output: r.outRow + r.oxFirst * C + c, outStep: C, lo: lo, hi: hi)
    }
    for ox in 0..<g.outW where !(fullRows && ox >= r.oxFirst && ox < r.oxEnd) {
        let ix0 = ox * g.strideW - g.padLeft
        // Points at (iy0, ix0, c), possibly outside the image: only offset, never read there.
        let base = r.inImage + (r.iy0 * g.inW + ix0) * C + c
        var acc = bias
        for ky in r.kyLo..<r.kyHi {
            for kx in 0..<g.kW {
                let ix = ix0 + kx * g.dilationW
                if ix < 0 || ix >= g.inW { continue }
                acc = fmaG(acc, loadG(base + ky * dy + kx * dx, as: W.self), loadG(w + (ky * g.kW + kx) * r.cp, as: W.self))
            }
        }
        storeG(clampG(acc, lo, hi), r.outRow + ox * C + c)
    }
}

/// One channel of one output row (the last few channels of an odd count).
@inline(never)
func dwRowChannel(_ r: DWRow, c: Int) {
    let g = r.g, C = g.outC
    for ox in 0..<g.outW {
        let ix0 = ox * g.strideW - g.padLeft
        var acc = r.bias[c]
        for ky in r.kyLo..<r.kyHi {
            let iy = r.iy0 + ky * g.dilationH
            for kx in 0..<g.kW {
                let ix = ix0 + kx * g.dilationW
                if ix < 0 || ix >= g.inW { continue }
                acc = fma(acc, r.inImage[(iy * g.inW + ix) * C + c], r.weights[(ky * g.kW + kx) * r.cp + c])
            }
        }
        r.outRow[ox * C + c] = clampS(acc, g.outMin, g.outMax)
    }
}

/// One channel vector of `n` consecutive interior output pixels (every tap
/// inside the input). Four pixels per step share each weight load.
@inline(never)
func dwInterior<W: KernelVector>(k: (h: Int, w: Int), n: Int, input: UnsafePointer<Float>, inStep: Int, dy: Int,
                                 dx: Int, w: UnsafePointer<Float>, cp: Int, bias: W, output: UnsafeMutablePointer<Float>,
                                 outStep: Int, lo: W, hi: W) {
    var x = 0
    var inp = input, out = output
    while x + 4 <= n {
        var a0 = bias, a1 = bias, a2 = bias, a3 = bias
        var wt = w
        var row = inp
        for _ in 0..<k.h {
            var p = row
            for _ in 0..<k.w {
                let wv: W = loadG(wt, as: W.self)
                a0 = fmaG(a0, loadG(p, as: W.self), wv)
                a1 = fmaG(a1, loadG(p + inStep, as: W.self), wv)
                a2 = fmaG(a2, loadG(p + 2 * inStep, as: W.self), wv)
                a3 = fmaG(a3, loadG(p + 3 * inStep, as: W.self), wv)
                wt += cp; p += dx
            }
            row += dy
        }
        storeG(clampG(a0, lo, hi), out)
        storeG(clampG(a1, lo, hi), out + outStep)
        storeG(clampG(a2, lo, hi), out + 2 * outStep)
        storeG(clampG(a3, lo, hi), out + 3 * outStep)
        x += 4; inp += 4 * inStep; out += 4 * outStep
    }
    while x < n {
        var a0 = bias
        var wt = w
        var row = inp
        for _ in 0..<k.h {
            var p = row
            for _ in 0..<k.w {
                a0 = fmaG(a0, loadG(p, as: W.self), loadG(wt, as: W.self))
                wt += cp; p += dx
            }
            row += dy
        }
        storeG(clampG(a0, lo, hi), out)
        x += 1; inp += inStep; out += outStep
    }
}
