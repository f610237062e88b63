import VSegCore

/// Plain-loop integer twins of the INT8 C kernels (QuantScheme.swift). They use
/// the unfolded form `bias + sum (a - zpIn) * w` and treat padding as real zero
/// (= zpIn), so agreeing with the kernels also checks the packed-bias fold.
public enum Int8Reference {
    /// `c[i * cStride + j] = requant(bias[j] + sum_kk (a[i * aStride + kk] - zpIn) * w[j * k + kk])`.
    /// `w`: int8 `[n][k]` (one row per output channel), `scales`: `[n]`.
    public static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<UInt8>, aStride: Int, inputZeroPoint zpIn: Int32,
                            weights w: UnsafePointer<Int8>, bias: UnsafePointer<Int32>?, scales: UnsafePointer<Float>,
                            output p: Int8OutputParams, c: UnsafeMutablePointer<UInt8>, cStride: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var acc = bias?[j] ?? 0
                for kk in 0..<k {
                    acc += (Int32(a[i * aStride + kk]) - zpIn) * Int32(w[j * k + kk])
                }
                c[i * cStride + j] = QuantScheme.requantize(acc, scale: scales[j], zeroPoint: p.zeroPoint,
                                                            qmin: p.qmin, qmax: p.qmax)
            }
        }
    }

    /// Dense conv, groups 1, NHWC uint8. `weights`: OHWI `[outC, kH, kW, inC]`.
    public static func conv(_ g: ConvGeometry, input: UnsafePointer<UInt8>, inputZeroPoint zpIn: Int32,
                            weights: UnsafePointer<Int8>, bias: UnsafePointer<Int32>?, scales: UnsafePointer<Float>,
                            output p: Int8OutputParams, into output: UnsafeMutablePointer<UInt8>) {
        conv(g, input: input, inputZeroPoint: zpIn, weights: weights, bias: bias) { i, oc, acc in
            output[i] = QuantScheme.requantize(acc, scale: scales[oc], zeroPoint: p.zeroPoint, qmin: p.qmin, qmax: p.qmax)
        }
    }

    /// Dense conv with float32 output (`Int8OutputParams.float`; `scales[c] = inputScale * weightScale[c]`).
    public static func conv(_ g: ConvGeometry, input: UnsafePointer<UInt8>, inputZeroPoint zpIn: Int32,
                            weights: UnsafePointer<Int8>, bias: UnsafePointer<Int32>?, scales: UnsafePointer<Float>,
                            output p: Int8OutputParams, intoFloat output: UnsafeMutablePointer<Float>) {
        conv(g, input: input, inputZeroPoint: zpIn, weights: weights, bias: bias) { i, oc, acc in
            output[i] = QuantScheme.dequantizeAccumulator(acc, scale: scales[oc], min: p.floatMin, max: p.floatMax)
        }
    }

    /// Dense conv accumulators, handed to `store(outputIndex, channel, acc)`.
    static func conv(_ g: ConvGeometry, input: UnsafePointer<UInt8>, inputZeroPoint zpIn: Int32,
                     weights: UnsafePointer<Int8>, bias: UnsafePointer<Int32>?, store: (Int, Int, Int32) -> Void) {
        precondition(g.groups == 1, "reference INT8 conv is groups == 1")
        for b in 0..<g.batch {
            for oy in 0..<g.outH {
                for ox in 0..<g.outW {
                    let pixel = (b * g.outH + oy) * g.outW + ox
                    for oc in 0..<g.outC {
                        var acc = bias?[oc] ?? 0
                        for ky in 0..<g.kH {
                            let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                            if iy < 0 || iy >= g.inH { continue }
                            for kx in 0..<g.kW {
                                let ix = ox * g.strideW - g.padLeft + kx * g.dilationW
                                if ix < 0 || ix >= g.inW { continue }
                                let inBase = ((b * g.inH + iy) * g.inW + ix) * g.inC
                                let wBase = ((oc * g.kH + ky) * g.kW + kx) * g.inC
                                for ic in 0..<g.inC {
                                    acc += (Int32(input[inBase + ic]) - zpIn) * Int32(weights[wBase + ic])
                                }
                            }
                        }
                        store(pixel * g.outC + oc, oc, acc)
                    }
                }
            }
        }
    }

    /// Depthwise conv, multiplier 1 (`groups == inC == outC`). `weights`: `[kH, kW, C]`.
    public static func depthwise(_ g: ConvGeometry, input: UnsafePointer<UInt8>, inputZeroPoint zpIn: Int32,
                                 weights: UnsafePointer<Int8>, bias: UnsafePointer<Int32>?, scales: UnsafePointer<Float>,
                                 output p: Int8OutputParams, into output: UnsafeMutablePointer<UInt8>) {
        precondition(g.groups == g.inC && g.outC == g.inC, "reference INT8 depthwise is multiplier 1")
        let cc = g.inC
        for b in 0..<g.batch {
            for oy in 0..<g.outH {
                for ox in 0..<g.outW {
                    let pixel = (b * g.outH + oy) * g.outW + ox
                    for c in 0..<cc {
                        var acc = bias?[c] ?? 0
                        for ky in 0..<g.kH {
                            let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                            if iy < 0 || iy >= g.inH { continue }
                            for kx in 0..<g.kW {
                                let ix = ox * g.strideW - g.padLeft + kx * g.dilationW
                                if ix < 0 || ix >= g.inW { continue }
                                acc += (Int32(input[((b * g.inH + iy) * g.inW + ix) * cc + c]) - zpIn)
                                    * Int32(weights[(ky * g.kW + kx) * cc + c])
                            }
                        }
                        output[pixel * cc + c] = QuantScheme.requantize(
                            acc, scale: scales[c], zeroPoint: p.zeroPoint, qmin: p.qmin, qmax: p.qmax)
                    }
                }
            }
        }
    }

    /// Transposed conv, groups 1, NHWC uint8, `weights` OHWI `[outC, kH, kW, inC]`;
    /// `g.padTop/padLeft` are cropped from the full output (gather form).
    public static func transposed(_ g: ConvGeometry, input: UnsafePointer<UInt8>, inputZeroPoint zpIn: Int32,
                                  weights: UnsafePointer<Int8>, bias: UnsafePointer<Int32>?, scales: UnsafePointer<Float>,
                                  output p: Int8OutputParams, into output: UnsafeMutablePointer<UInt8>) {
        transposed(g, input: input, inputZeroPoint: zpIn, weights: weights, bias: bias) { i, oc, acc in
            output[i] = QuantScheme.requantize(acc, scale: scales[oc], zeroPoint: p.zeroPoint, qmin: p.qmin, qmax: p.qmax)
        }
    }

    /// Transposed conv with float32 output (`Int8OutputParams.float`).
    public static func transposed(_ g: ConvGeometry, input: UnsafePointer<UInt8>, inputZeroPoint zpIn: Int32,
                                  weights: UnsafePointer<Int8>, bias: UnsafePointer<Int32>?, scales: UnsafePointer<Float>,
                                  output p: Int8OutputParams, intoFloat output: UnsafeMutablePointer<Float>) {
        transposed(g, input: input, inputZeroPoint: zpIn, weights: weights, bias: bias) { i, oc, acc in
            output[i] = QuantScheme.dequantizeAccumulator(acc, scale: scales[oc], min: p.floatMin, max: p.floatMax)
        }
    }

    /// Transposed conv accumulators, handed to `store(outputIndex, channel, acc)`.
    static func transposed(_ g: ConvGeometry, input: UnsafePointer<UInt8>, inputZeroPoint zpIn: Int32,
                           weights: UnsafePointer<Int8>, bias: UnsafePointer<Int32>?, store: (Int, Int, Int32) -> Void) {
        for b in 0..<g.batch {
            for oy in 0..<g.outH {
                for ox in 0..<g.outW {
                    let pixel = (b * g.outH + oy) * g.outW + ox
                    for oc in 0..<g.outC {
                        var acc = bias?[oc] ?? 0
                        for ky in 0..<g.kH {
                            let fy = oy + g.padTop - ky * g.dilationH
                            if fy < 0 || fy % g.strideH != 0 || fy / g.strideH >= g.inH { continue }
                            for kx in 0..<g.kW {
                                let fx = ox + g.padLeft - kx * g.dilationW
                                if fx < 0 || fx % g.strideW != 0 || fx / g.strideW >= g.inW { continue }
                                let inBase = ((b * g.inH + fy / g.strideH) * g.inW + fx / g.strideW) * g.inC
                                let wBase = ((oc * g.kH + ky) * g.kW + kx) * g.inC
                                for ic in 0..<g.inC {
                                    acc += (Int32(input[inBase + ic]) - zpIn) * Int32(weights[wBase + ic])
                                }
                            }
                        }
                        store(pixel * g.outC + oc, oc, acc)
                    }
                }
            }
        }
    }
}
