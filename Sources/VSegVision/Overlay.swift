import VSegCore

/// In-place colour blends of segmentation results onto RGB24/BGR24 frames.
///
/// Every blend is `out = src + (colour - src) * a`, computed in float and
/// rounded to nearest, with the per-pixel `a` in [0, 1]:
/// - `blendSoft`: `a = probability * alpha` (soft edges follow the mask's own gradient);
/// - `blendHard`: `a = alpha` where the label is set, 0 elsewhere;
/// - `blendLabels`: palette colour of each pixel's class, `a = alpha`, class 0 skipped
///   when `skipBackground` (so the background keeps its own colours).
/// All run on caller-owned memory and allocate nothing.
public enum Overlay {
    // Plain scalar loops over raw pointers: the compiler keeps everything in
    // registers, and skipping untouched pixels (a == 0, most of a frame's
    // background) beats a vector blend of every byte. The result of each
    // blend is a convex combination of two bytes, so `v + 0.5` stays below
    // 256 and truncation rounds to nearest without a clamp.

    @inline(__always)
    static func blendPixel(_ p: UnsafeMutablePointer<UInt8>, _ c0: Float, _ c1: Float, _ c2: Float, _ a: Float) {
        let s0 = Float(p[0]), s1 = Float(p[1]), s2 = Float(p[2])
        p[0] = UInt8(s0 + (c0 - s0) * a + 0.5)
        p[1] = UInt8(s1 + (c1 - s1) * a + 0.5)
        p[2] = UInt8(s2 + (c2 - s2) * a + 0.5)
    }

    /// Colour channels in frame byte order.
    @inline(__always)
    static func channels(_ c: SIMD3<UInt8>, bgr: Bool) -> (Float, Float, Float) {
        bgr ? (Float(c.z), Float(c.y), Float(c.x)) : (Float(c.x), Float(c.y), Float(c.z))
    }

    /// Soft blend: `a = clamp(probability, 0, 1) * alpha` per pixel. `probability` has one float per pixel.
    public static func blendSoft(pixels: UnsafeMutablePointer<UInt8>, count: Int, bgr: Bool = false,
                                 probability: UnsafePointer<Float>, colour: SIMD3<UInt8>, alpha: Float) {
        let (c0, c1, c2) = channels(colour, bgr: bgr)
        let alpha = min(max(alpha, 0), 1)
        for i in 0..<count {
            let q = probability[i]
            let a = (q < 0 ? 0 : (q > 1 ? 1 : q)) * alpha
            if a > 0 { blendPixel(pixels + i &* 3, c0, c1, c2, a) }
        }
    }

    /// Hard blend: `a = alpha` where `labels[i] != 0`.
    public static func blendHard(pixels: UnsafeMutablePointer<UInt8>, count: Int, bgr: Bool = false,
                                 labels: UnsafePointer<UInt8>, colour: SIMD3<UInt8>, alpha: Float) {
        let (c0, c1, c2) = channels(colour, bgr: bgr)
        let alpha = min(max(alpha, 0), 1)
        for i in 0..<count where labels[i] != 0 { blendPixel(pixels + i &* 3, c0, c1, c2, alpha) }
    }

    /// Palette blend: each pixel towards `palette[label]` (packed r, g, b) with `alpha`.
    /// Labels beyond the palette are left alone.
    public static func blendLabels(pixels: UnsafeMutablePointer<UInt8>, count: Int, bgr: Bool = false,
                                   labels: UnsafePointer<UInt8>, palette: UnsafeBufferPointer<UInt8>,
                                   alpha: Float, skipBackground: Bool = true) {
        let n = palette.count / 3
        let alpha = min(max(alpha, 0), 1)
        guard let pal = palette.baseAddress else { return }
        let (r, b) = bgr ? (2, 0) : (0, 2)
        for i in 0..<count {
            let l = Int(labels[i])
            if l >= n || (skipBackground && l == 0) { continue }
            let e = pal + 3 &* l
            blendPixel(pixels + i &* 3, Float(e[r]), Float(e[1]), Float(e[b]), alpha)
        }
    }
}

