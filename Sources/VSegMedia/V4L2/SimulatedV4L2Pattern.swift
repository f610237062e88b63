/// The picture a `SimulatedV4L2Device` sends, and the camera it pretends to be.
/// Both are public so tests can compute the expected pixels on their own.
public enum SimulatedV4L2Pattern {
    /// YUYV sample of pixel (x, y) in frame `frame`: luma varies per pixel, chroma per
    /// pixel pair, and all three move with the frame counter, so a frame's content
    /// tells which frame it is. Values stay in the limited range (16...235/240).
    public static func yuv(x: Int, y: Int, frame: Int) -> (y: UInt8, u: UInt8, v: UInt8) {
        let pair = x / 2
        let luma = 16 + (x &* 3 &+ y &* 5 &+ frame &* 7) % 220
        let u = 16 + (pair &* 11 &+ y &* 2 &+ frame) % 225
        let v = 16 + (pair &* 13 &+ y &* 3 &+ frame &* 5) % 225
        return (UInt8(luma), UInt8(u), UInt8(v))
    }

    /// RGB24 pixel (x, y) of frame `frame`, for the libv4l2-converted (RGB3) path.
    public static func rgb(x: Int, y: Int, frame: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        (UInt8((x &+ frame) & 0xff), UInt8((y &* 2 &+ frame) & 0xff), UInt8((x ^ y ^ frame) & 0xff))
    }

    /// Fills one buffer with frame `frame` in `format` (YUYV or RGB3), rows `rowBytes` bytes apart.
    static func fill(_ base: UnsafeMutableRawPointer, format: FourCC, width: Int, height: Int, rowBytes: Int, frame: Int) {
        let p = base.assumingMemoryBound(to: UInt8.self)
        for row in 0..<height {
            let line = p + row * rowBytes
            if format == .yuyv {
                // The same values as `yuv(x:y:frame:)`, stepped instead of recomputed
                // (each component advances by a constant and wraps).
                var luma = (row &* 5 &+ frame &* 7) % 220
                var u = (row &* 2 &+ frame) % 225, v = (row &* 3 &+ frame &* 5) % 225
                var x = 0
                while x < width {
                    line[x &* 2] = UInt8(16 &+ luma)
                    luma &+= 3; if luma >= 220 { luma &-= 220 }
                    line[x &* 2 &+ 2] = UInt8(16 &+ luma)
                    luma &+= 3; if luma >= 220 { luma &-= 220 }
                    line[x &* 2 &+ 1] = UInt8(16 &+ u)
                    line[x &* 2 &+ 3] = UInt8(16 &+ v)
                    u &+= 11; if u >= 225 { u &-= 225 }
                    v &+= 13; if v >= 225 { v &-= 225 }
                    x &+= 2
                }
            } else {
                for x in 0..<width {
                    let c = rgb(x: x, y: row, frame: frame)
                    line[x * 3] = c.r; line[x * 3 + 1] = c.g; line[x * 3 + 2] = c.b
                }
            }
        }
    }

    /// A typical USB webcam: YUYV up to 1280x720 (slow at the top sizes, as USB 2
    /// allows), MJPEG up to 1920x1080 at 30 fps, and libv4l2's emulated RGB24.
    public static func typicalWebcam() -> [V4L2FormatInfo] {
        let fast = [V4L2Fraction(1, 30), V4L2Fraction(1, 15)]
        let yuyvSizes = [V4L2Size(width: 640, height: 480), V4L2Size(width: 320, height: 240),
                         V4L2Size(width: 1280, height: 720), V4L2Size(width: 160, height: 120)]
        var yuyvIntervals: [V4L2Size: V4L2FrameIntervals] = [:]
        for s in yuyvSizes {
            yuyvIntervals[s] = s.width >= 1280 ? .discrete([V4L2Fraction(1, 10), V4L2Fraction(1, 5)]) : .discrete(fast)
        }
        let mjpegSizes = yuyvSizes + [V4L2Size(width: 1920, height: 1080)]
        var mjpegIntervals: [V4L2Size: V4L2FrameIntervals] = [:]
        for s in mjpegSizes { mjpegIntervals[s] = .discrete(fast) }
        return [
            V4L2FormatInfo(fourcc: .yuyv, description: "YUYV 4:2:2", sizes: .discrete(yuyvSizes), intervals: yuyvIntervals),
            V4L2FormatInfo(fourcc: .mjpeg, description: "Motion-JPEG", isCompressed: true,
                           sizes: .discrete(mjpegSizes), intervals: mjpegIntervals),
            V4L2FormatInfo(fourcc: .rgb24, description: "RGB3", isEmulated: true,
                           sizes: .discrete(mjpegSizes), intervals: mjpegIntervals),
        ]
    }
}
