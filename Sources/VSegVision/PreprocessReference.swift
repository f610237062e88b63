/// Plain twin of `Preprocessor`: the same sampling written per output pixel
/// in Double, without tables, for the equivalence test. Not for the frame path.
public enum PreprocessReference {
    /// Weights of the source pixels for output position `p` along one axis.
    static func weights(_ p: Int, srcCount: Int, scale: Double, offset: Double) -> [(Int, Double)] {
        let a = (Double(p) - offset) / scale, b = (Double(p) + 1 - offset) / scale
        if 1 / scale >= 2 {
            // Area: each source pixel weighs by how much of [a, b) ∩ [0, src) it covers.
            let lo = max(a, 0), hi = min(b, Double(srcCount))
            var out: [(Int, Double)] = []
            if hi > lo {
                for i in 0..<srcCount {
                    let ov = min(hi, Double(i + 1)) - max(lo, Double(i))
                    if ov > 0 { out.append((i, ov / (hi - lo))) }
                }
            }
            if !out.isEmpty { return out }
        }
        // Bilinear: the output centre lands between two source centres.
        let c = (a + b) / 2 - 0.5
        let f = c.rounded(.down)
        let clamp = { (i: Int) in min(max(i, 0), srcCount - 1) }
        return [(clamp(Int(f)), 1 - (c - f)), (clamp(Int(f) + 1), c - f)]
    }

    /// `source` is packed RGB (or BGR) bytes, `srcW * srcH * 3`; returns `modelH * modelW * 3` floats.
    public static func run(source: [UInt8], srcW: Int, srcH: Int, sourceIsBGR: Bool = false,
                           modelW: Int, modelH: Int, input: InputSpec) throws -> [Float] {
        let t = ImageTransform(sourceWidth: srcW, sourceHeight: srcH, modelWidth: modelW, modelHeight: modelH,
                               policy: input.resize)
        let norm = try input.normalization(model: "reference")
        var out = [Float](repeating: 0, count: modelW * modelH * 3)
        let columns = (0..<modelW).map { weights($0, srcCount: srcW, scale: t.scaleX, offset: t.offsetX) }
        for y in 0..<modelH {
            let cy = (Double(y) + 0.5 - t.offsetY) / t.scaleY
            let wy = weights(y, srcCount: srcH, scale: t.scaleY, offset: t.offsetY)
            for x in 0..<modelW {
                let cx = (Double(x) + 0.5 - t.offsetX) / t.scaleX
                let wx = columns[x]
                let inside = cx >= 0 && cx < Double(srcW) && cy >= 0 && cy < Double(srcH)
                for m in 0..<3 {
                    // Model channel m reads source channel m, or 2 - m when the orders differ.
                    let sc = sourceIsBGR == (input.channels == .bgr) ? m : 2 - m
                    var v = 0.0
                    if inside {
                        for (iy, a) in wy { for (ix, b) in wx { v += a * b * Double(source[(iy * srcW + ix) * 3 + sc]) } }
                    }
                    let value = Float(v) * norm.scale[m] + norm.offset[m]
                    switch input.layout {
                    case .nhwc: out[(y * modelW + x) * 3 + m] = value
                    case .nchw: out[m * modelW * modelH + y * modelW + x] = value
                    }
                }
            }
        }
        return out
    }
}
