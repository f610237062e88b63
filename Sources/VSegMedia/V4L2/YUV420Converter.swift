/// Camera frames to 4:2:0 (yuv420p: Y, U, V planes; nv12: Y plane then interleaved
/// UV), the layout encoders want. Planes sit back to back as `PixelBuffer` keeps
/// them: Y rows `width` bytes apart, chroma rows `(width + 1) / 2` samples apart.
///
/// Both stay in BT.601 limited range, the range webcams send, so YUYV needs no
/// colour maths: luma is copied and each chroma sample is the rounded mean of the
/// two rows it covers. RGB24 (MJPEG through libv4l2) goes through the usual 8-bit
/// BT.601 matrix, with chroma taken from the mean of each 2x2 block:
///
///     Y = (( 66 R + 129 G +  25 B + 128) >> 8) +  16
///     U = ((-38 R -  74 G + 112 B + 128) >> 8) + 128
///     V = ((112 R -  94 G -  18 B + 128) >> 8) + 128
enum YUV420Converter {
    /// YUYV rows (`sourceStride` bytes apart) to yuv420p or nv12 (`interleaved`).
    static func fromYUYV(_ source: UnsafeRawPointer, sourceStride: Int, into dst: UnsafeMutableRawPointer,
                         width: Int, height: Int, interleaved: Bool) {
        let src = source.assumingMemoryBound(to: UInt8.self)
        let y = dst.assumingMemoryBound(to: UInt8.self)
        let cw = (width + 1) / 2, ch = (height + 1) / 2
        let chroma = y + width * height
        for row in 0..<height {
            let s = src + row &* sourceStride, d = y + row &* width
            for x in 0..<width { d[x] = s[x &* 2] }
        }
        for crow in 0..<ch {
            let a = src + (2 &* crow) &* sourceStride
            let b = src + min(2 &* crow &+ 1, height - 1) &* sourceStride
            for cx in 0..<cw {
                let o = cx &* 4
                let u = UInt8(truncatingIfNeeded: (UInt16(a[o &+ 1]) &+ UInt16(b[o &+ 1]) &+ 1) >> 1)
                let v = UInt8(truncatingIfNeeded: (UInt16(a[o &+ 3]) &+ UInt16(b[o &+ 3]) &+ 1) >> 1)
                store(chroma, u, v, crow: crow, cx: cx, cw: cw, ch: ch, interleaved: interleaved)
            }
        }
    }

    /// RGB24 rows to yuv420p or nv12.
    static func fromRGB(_ source: UnsafeRawPointer, sourceStride: Int, into dst: UnsafeMutableRawPointer,
                        width: Int, height: Int, interleaved: Bool) {
        let src = source.assumingMemoryBound(to: UInt8.self)
        let y = dst.assumingMemoryBound(to: UInt8.self)
        let cw = (width + 1) / 2, ch = (height + 1) / 2
        let chroma = y + width * height
        for row in 0..<height {
            let s = src + row &* sourceStride, d = y + row &* width
            for x in 0..<width {
                let o = x &* 3
                let r = Int32(s[o]), g = Int32(s[o &+ 1]), b = Int32(s[o &+ 2])
                d[x] = UInt8(truncatingIfNeeded: ((66 &* r &+ 129 &* g &+ 25 &* b &+ 128) >> 8) &+ 16)
            }
        }
        for crow in 0..<ch {
            let rowA = src + (2 &* crow) &* sourceStride
            let rowB = src + min(2 &* crow &+ 1, height - 1) &* sourceStride
            for cx in 0..<cw {
                let x0 = 2 &* cx, x1 = min(2 &* cx &+ 1, width - 1)
                let p = rowA + x0 &* 3, q = rowA + x1 &* 3, m = rowB + x0 &* 3, n = rowB + x1 &* 3
                let r = (Int32(p[0]) &+ Int32(q[0]) &+ Int32(m[0]) &+ Int32(n[0]) &+ 2) >> 2
                let g = (Int32(p[1]) &+ Int32(q[1]) &+ Int32(m[1]) &+ Int32(n[1]) &+ 2) >> 2
                let b = (Int32(p[2]) &+ Int32(q[2]) &+ Int32(m[2]) &+ Int32(n[2]) &+ 2) >> 2
                let u = ((-38 &* r &- 74 &* g &+ 112 &* b &+ 128) >> 8) &+ 128
                let v = ((112 &* r &- 94 &* g &- 18 &* b &+ 128) >> 8) &+ 128
                store(chroma, UInt8(truncatingIfNeeded: u), UInt8(truncatingIfNeeded: v),
                      crow: crow, cx: cx, cw: cw, ch: ch, interleaved: interleaved)
            }
        }
    }

    @inline(__always)
    private static func store(_ chroma: UnsafeMutablePointer<UInt8>, _ u: UInt8, _ v: UInt8,
                              crow: Int, cx: Int, cw: Int, ch: Int, interleaved: Bool) {
        if interleaved {
            let o = crow &* cw &* 2 &+ cx &* 2
            chroma[o] = u
            chroma[o &+ 1] = v
        } else {
            chroma[crow &* cw &+ cx] = u
            chroma[cw &* ch &+ crow &* cw &+ cx] = v
        }
    }
}
