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
    /// Colour order of the frame bytes.
    @inline(__always)
    static func ordered(_ rgb: SIMD3<Float>, bgr: Bool) -> SIMD3<Float> { bgr ? SIMD3(rgb.z, rgb.y, rgb.x) : rgb }

    @inline(__always)
    static func blendPixel(_ p: UnsafeMutablePointer<UInt8>, _ colour: SIMD3<Float>, _ a: Float) {
        let s = SIMD3<Float>(Float(p[0]), Float(p[1]), Float(p[2]))
        var v = s + (colour - s) * a + 0.5
        v = v.clamped(lowerBound: SIMD3(repeating: 0), upperBound: SIMD3(repeating: 255.49))
        p[0] = UInt8(v.x); p[1] = UInt8(v.y); p[2] = UInt8(v.z)
    }

    /// Soft blend: `a = clamp(probability, 0, 1) * alpha` per pixel. `probability` has one float per pixel.
    public static func blendSoft(pixels: UnsafeMutablePointer<UInt8>, count: Int, bgr: Bool = false,
                                 probability: UnsafePointer<Float>, colour: SIMD3<UInt8>, alpha: Float) {
        let c = ordered(SIMD3<Float>(colour), bgr: bgr)
        var i = 0
        // Chunk of 8 pixels: the alpha math vectorizes; the byte blend stays per pixel.
        while i &+ 8 <= count {
            var a = SIMD8<Float>(UnsafeBufferPointer(start: probability + i, count: 8))
            a = a.clamped(lowerBound: SIMD8(repeating: 0), upperBound: SIMD8(repeating: 1)) * alpha
            for j in 0..<8 where a[j] > 0 { blendPixel(pixels + (i &+ j) &* 3, c, a[j]) }
            i &+= 8
        }
        while i < count {
            let a = min(max(probability[i], 0), 1) * alpha
            if a > 0 { blendPixel(pixels + i &* 3, c, a) }
            i &+= 1
        }
    }

    /// Hard blend: `a = alpha` where `labels[i] != 0`.
    public static func blendHard(pixels: UnsafeMutablePointer<UInt8>, count: Int, bgr: Bool = false,
                                 labels: UnsafePointer<UInt8>, colour: SIMD3<UInt8>, alpha: Float) {
        let c = ordered(SIMD3<Float>(colour), bgr: bgr)
        for i in 0..<count where labels[i] != 0 { blendPixel(pixels + i &* 3, c, alpha) }
    }

    /// Palette blend: each pixel towards `palette[label]` (packed r, g, b) with `alpha`.
    /// Labels beyond the palette are left alone.
    public static func blendLabels(pixels: UnsafeMutablePointer<UInt8>, count: Int, bgr: Bool = false,
                                   labels: UnsafePointer<UInt8>, palette: UnsafeBufferPointer<UInt8>,
                                   alpha: Float, skipBackground: Bool = true) {
        let n = palette.count / 3
        for i in 0..<count {
            let l = Int(labels[i])
            if l >= n || (skipBackground && l == 0) { continue }
            let c = ordered(SIMD3(Float(palette[3 &* l]), Float(palette[3 &* l &+ 1]), Float(palette[3 &* l &+ 2])), bgr: bgr)
            blendPixel(pixels + i &* 3, c, alpha)
        }
    }
}

extension SIMD3 where Scalar == Float {
    init(_ v: SIMD3<UInt8>) { self.init(Float(v.x), Float(v.y), Float(v.z)) }
}
