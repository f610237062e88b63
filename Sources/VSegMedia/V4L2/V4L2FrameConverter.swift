import VSegCore

/// Turns one dequeued buffer (YUYV, or RGB24 from libv4l2) into the pixel format
/// the source hands out. Every path writes straight into a pooled `PixelBuffer`.
struct V4L2FrameConverter {
    let capture: FourCC
    let output: PixelFormat
    let width: Int
    let height: Int
    /// Bytes per row of the driver's buffer.
    let sourceStride: Int

    /// The output formats a capture format can become.
    static func outputs(for capture: FourCC) -> [PixelFormat] {
        capture == .yuyv ? [.rgb24, .bgr24, .gray8, .yuyv422, .yuv420p, .nv12] : [.rgb24, .bgr24, .gray8, .yuv420p, .nv12]
    }

    /// Bytes of the driver buffer a complete frame needs.
    var bytesNeeded: Int { sourceStride * (height - 1) + width * (capture == .yuyv ? 2 : 3) }

    func convert(_ src: UnsafeRawPointer, into out: PixelBuffer) {
        let dst = out.data, dstStride = out.rowBytes
        switch (capture == .yuyv, output) {
        case (true, .yuv420p), (true, .nv12):
            YUV420Converter.fromYUYV(src, sourceStride: sourceStride, into: dst, width: width, height: height,
                                     interleaved: output == .nv12)
        case (false, .yuv420p), (false, .nv12):
            YUV420Converter.fromRGB(src, sourceStride: sourceStride, into: dst, width: width, height: height,
                                    interleaved: output == .nv12)
        case (true, .rgb24), (true, .bgr24):
            YUYVConverter.convert(source: src, sourceStride: sourceStride, destination: dst, destinationStride: dstStride,
                                  width: width, height: height, bgr: output == .bgr24)
        case (true, .gray8):
            YUYVConverter.gray(source: src, sourceStride: sourceStride, destination: dst, destinationStride: dstStride,
                               width: width, height: height)
        case (true, _), (false, .rgb24):
            // Same layout (YUYV passthrough or RGB24 as libv4l2 gives it): copy the rows.
            for row in 0..<height {
                (dst + row &* dstStride).copyMemory(from: src + row &* sourceStride, byteCount: dstStride)
            }
        case (false, .bgr24):
            for row in 0..<height {
                let s = (src + row &* sourceStride).assumingMemoryBound(to: UInt8.self)
                let d = (dst + row &* dstStride).assumingMemoryBound(to: UInt8.self)
                for x in 0..<width {
                    let o = x &* 3
                    d[o] = s[o &+ 2]; d[o &+ 1] = s[o &+ 1]; d[o &+ 2] = s[o]
                }
            }
        case (false, _):
            // gray8 from RGB24: full-range BT.601 luma, 8.8 fixed point (0.299, 0.587, 0.114).
            for row in 0..<height {
                let s = (src + row &* sourceStride).assumingMemoryBound(to: UInt8.self)
                let d = (dst + row &* dstStride).assumingMemoryBound(to: UInt8.self)
                for x in 0..<width {
                    let o = x &* 3
                    let y = 77 &* UInt32(s[o]) &+ 150 &* UInt32(s[o &+ 1]) &+ 29 &* UInt32(s[o &+ 2]) &+ 128
                    d[x] = UInt8(truncatingIfNeeded: y >> 8)
                }
            }
        }
    }
}
