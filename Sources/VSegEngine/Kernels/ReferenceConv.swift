import VSegCore

/// Plain-loop twins of the optimized convolution kernels. NHWC activations,
/// batch `g.batch`, output clamped to `[g.outMin, g.outMax]`. They accumulate
/// in Double so that they are a trustworthy yardstick for the Float kernels,
/// and they are also the fallback for shapes the fast paths do not cover
/// (grouped dense conv, depthwise multiplier > 1, grouped transposed conv).
///
/// `pixels` restricts the work to a range of flattened output pixels
/// (`(b * outH + y) * outW + x`), so a fallback can still be split into tasks.
public enum ReferenceConv {
    /// Dense (grouped) conv. `weights`: OHWI `[outC, kH, kW, inC / groups]`.
    public static func dense(_ g: ConvGeometry, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                             input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                             pixels: Range<Int>? = nil) {
        let cinPerGroup = g.inC / g.groups, coutPerGroup = g.outC / g.groups
        let range = pixels ?? 0..<(g.batch * g.outH * g.outW)
        for p in range {
            let b = p / (g.outH * g.outW), oy = (p / g.outW) % g.outH, ox = p % g.outW
            for oc in 0..<g.outC {
                let group = oc / coutPerGroup
                var acc = Double(bias?[oc] ?? 0)
                for ky in 0..<g.kH {
                    let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                    if iy < 0 || iy >= g.inH { continue }
                    for kx in 0..<g.kW {
                        let ix = ox * g.strideW - g.padLeft + kx * g.dilationW
                        if ix < 0 || ix >= g.inW { continue }
                        let inBase = ((b * g.inH + iy) * g.inW + ix) * g.inC + group * cinPerGroup
                        let wBase = ((oc * g.kH + ky) * g.kW + kx) * cinPerGroup
                        for ic in 0..<cinPerGroup {
                            acc += Double(input[inBase + ic]) * Double(weights[wBase + ic])
                        }
                    }
                }
                output[p * g.outC + oc] = clamp(Float(acc), g)
            }
        }
    }

    /// Depthwise conv: `groups == inC`, `outC == inC * multiplier`; output channel
    /// `c * multiplier + m` reads input channel `c`. `weights`: `[kH, kW, outC]`.
    public static func depthwise(_ g: ConvGeometry, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                                 pixels: Range<Int>? = nil) {
        let multiplier = g.outC / g.inC
        let range = pixels ?? 0..<(g.batch * g.outH * g.outW)
        for p in range {
            let b = p / (g.outH * g.outW), oy = (p / g.outW) % g.outH, ox = p % g.outW
            for oc in 0..<g.outC {
                let ic = oc / multiplier
                var acc = Double(bias?[oc] ?? 0)
                for ky in 0..<g.kH {
                    let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                    if iy < 0 || iy >= g.inH { continue }
                    for kx in 0..<g.kW {
                        let ix = ox * g.strideW - g.padLeft + kx * g.dilationW
                        if ix < 0 || ix >= g.inW { continue }
                        acc += Double(input[((b * g.inH + iy) * g.inW + ix) * g.inC + ic])
                            * Double(weights[(ky * g.kW + kx) * g.outC + oc])
                    }
                }
                output[p * g.outC + oc] = clamp(Float(acc), g)
            }
        }
    }

    /// Transposed conv (TFLite TRANSPOSE_CONV / ONNX ConvTranspose). `weights`:
    /// OHWI `[outC, kH, kW, inC / groups]`. Input pixel (iy, ix) and tap (ky, kx)
    /// land on output `(iy * strideH + ky * dilationH - padTop, ...)`; `padTop`/`padLeft`
    /// are the rows/columns cropped from the top/left of the full output.
    public static func transposed(_ g: ConvGeometry, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                  input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                                  pixels: Range<Int>? = nil) {
        let cinPerGroup = g.inC / g.groups, coutPerGroup = g.outC / g.groups
        let range = pixels ?? 0..<(g.batch * g.outH * g.outW)
        // Gather form: each output pixel sums the (input pixel, tap) pairs that land on it.
        for p in range {
            let b = p / (g.outH * g.outW), oy = (p / g.outW) % g.outH, ox = p % g.outW
            for oc in 0..<g.outC {
                let group = oc / coutPerGroup
                var acc = Double(bias?[oc] ?? 0)
                for ky in 0..<g.kH {
                    let ny = oy + g.padTop - ky * g.dilationH
                    if ny < 0 || ny % g.strideH != 0 { continue }
                    let iy = ny / g.strideH
                    if iy >= g.inH { continue }
                    for kx in 0..<g.kW {
                        let nx = ox + g.padLeft - kx * g.dilationW
                        if nx < 0 || nx % g.strideW != 0 { continue }
                        let ix = nx / g.strideW
                        if ix >= g.inW { continue }
                        let inBase = ((b * g.inH + iy) * g.inW + ix) * g.inC + group * cinPerGroup
                        let wBase = ((oc * g.kH + ky) * g.kW + kx) * cinPerGroup
                        for ic in 0..<cinPerGroup {
                            acc += Double(input[inBase + ic]) * Double(weights[wBase + ic])
                        }
                    }
                }
                output[p * g.outC + oc] = clamp(Float(acc), g)
            }
        }
    }

    @inline(__always)
    static func clamp(_ v: Float, _ g: ConvGeometry) -> Float {
        // NaN passes through (min/max would silently turn it into a bound).
        v < g.outMin ? g.outMin : (v > g.outMax ? g.outMax : v)
    }
}
