/// YUYV 4:2:2 (Y0 U Y1 V per pixel pair) to packed RGB24 (or BGR24).
///
/// Webcams send BT.601 limited range ("studio swing": Y in 16...235, U/V in
/// 16...240 around 128). The conversion is the standard one:
///
///     R = 1.164 (Y-16)                 + 1.596 (V-128)
///     G = 1.164 (Y-16) - 0.392 (U-128) - 0.813 (V-128)
///     B = 1.164 (Y-16) + 2.017 (U-128)
///
/// in 8.8 fixed point (coefficients x256: 298, 409, 100, 208, 516), rounded and
/// clamped to 0...255. The fixed-point result stays within 1 of the real-valued
/// formula for every input, which the tests check against a float computation.
public enum YUYVConverter {
    /// Converts `height` rows. `sourceStride`/`destinationStride` are bytes per row
    /// (drivers may pad rows). `width` must be even, as YUYV requires. `bgr` swaps
    /// the red and blue bytes of the output.
    public static func convert(source: UnsafeRawPointer, sourceStride: Int,
                               destination: UnsafeMutableRawPointer, destinationStride: Int,
                               width: Int, height: Int, bgr: Bool = false) {
        precondition(width > 0 && width % 2 == 0, "YUYV width must be even")
        precondition(sourceStride >= width * 2 && destinationStride >= width * 3, "row stride too small")
        let pairs = width / 2
        for row in 0..<height {
            let src = (source + row &* sourceStride).assumingMemoryBound(to: UInt8.self)
            let dst = (destination + row &* destinationStride).assumingMemoryBound(to: UInt8.self)
            if bgr { convertRow(src, dst, pairs: pairs, red: 2, blue: 0) } else { convertRow(src, dst, pairs: pairs, red: 0, blue: 2) }
        }
    }

    @inline(__always)
    static func convertRow(_ src: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<UInt8>, pairs: Int, red: Int, blue: Int) {
        var s = 0, d = 0
        for _ in 0..<pairs {
            let u = Int32(src[s &+ 1]) &- 128
            let v = Int32(src[s &+ 3]) &- 128
            // Chroma terms are shared by the two pixels of the pair.
            let rv = 409 &* v &+ 128
            let guv = -100 &* u &- 208 &* v &+ 128
            let bu = 516 &* u &+ 128
            let c0 = 298 &* (Int32(src[s]) &- 16)
            let c1 = 298 &* (Int32(src[s &+ 2]) &- 16)
            dst[d &+ red] = clamp((c0 &+ rv) >> 8)
            dst[d &+ 1] = clamp((c0 &+ guv) >> 8)
            dst[d &+ blue] = clamp((c0 &+ bu) >> 8)
            dst[d &+ 3 &+ red] = clamp((c1 &+ rv) >> 8)
            dst[d &+ 4] = clamp((c1 &+ guv) >> 8)
            dst[d &+ 3 &+ blue] = clamp((c1 &+ bu) >> 8)
            s &+= 4
            d &+= 6
        }
    }

    /// The luma plane expanded to full range (the grey an RGB conversion gives for
    /// neutral chroma): `gray = (298 (Y-16) + 128) >> 8`, clamped.
    public static func gray(source: UnsafeRawPointer, sourceStride: Int,
                            destination: UnsafeMutableRawPointer, destinationStride: Int, width: Int, height: Int) {
        for row in 0..<height {
            let src = (source + row &* sourceStride).assumingMemoryBound(to: UInt8.self)
            let dst = (destination + row &* destinationStride).assumingMemoryBound(to: UInt8.self)
            for x in 0..<width {
                dst[x] = clamp((298 &* (Int32(src[x &* 2]) &- 16) &+ 128) >> 8)
            }
        }
    }

    @inline(__always)
    static func clamp(_ x: Int32) -> UInt8 {
        // Branch-free, so noisy pictures cost no mispredictions: negative values are
        // masked to 0, and anything above 255 gets all bits set (255 once truncated).
        let t = x & ~(x >> 31)
        return UInt8(truncatingIfNeeded: t | ((255 &- t) >> 31))
    }
}
