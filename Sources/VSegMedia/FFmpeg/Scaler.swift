import CFFmpeg
import VSegCore

/// An image in someone else's memory: up to four planes with strides.
struct ImageRef {
    var planes: (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?)
    var strides: (Int32, Int32, Int32, Int32)
    var width: Int32
    var height: Int32
    var format: AVPixelFormat
    /// YUV matrix (AVColorSpace raw value) and range; ignored for RGB.
    var colorspace: Int32 = Int32(AVCOL_SPC_UNSPECIFIED.rawValue)
    var fullRange: Bool = false

    init(_ buffer: PixelBuffer) {
        let p = PlanePointers(buffer)
        planes = p.data
        strides = p.linesize
        width = Int32(buffer.width)
        height = Int32(buffer.height)
        format = buffer.format.avPixelFormat
    }

    init(_ frame: UnsafeMutablePointer<AVFrame>) {
        let f = frame.pointee
        planes = (f.data.0, f.data.1, f.data.2, f.data.3)
        strides = (f.linesize.0, f.linesize.1, f.linesize.2, f.linesize.3)
        width = f.width
        height = f.height
        format = AVPixelFormat(rawValue: f.format)
        colorspace = Int32(f.colorspace.rawValue)
        fullRange = f.color_range == AVCOL_RANGE_JPEG
    }
}

/// Converts between pixel formats and sizes with swscale, keeping one cached
/// context per geometry. Identical geometry is a plane copy.
///
/// Uses bicubic filtering and honours the source's YUV matrix and range, which
/// is what the ffmpeg CLI's auto-inserted scaler does, so outputs compare with
/// `ffmpeg -i X out.png` within rounding.
final class Scaler {
    private var ctx: OpaquePointer?
    private struct Key: Equatable {
        var sw: Int32, sh: Int32, sf: Int32, dw: Int32, dh: Int32, df: Int32, cs: Int32, full: Bool
    }
    private var key: Key?

    deinit { sws_freeContext(ctx) }

    func convert(_ src: ImageRef, into dst: ImageRef) throws {
        if src.format == dst.format, src.width == dst.width, src.height == dst.height {
            copyPlanes(src, dst)
            return
        }
        let k = Key(sw: src.width, sh: src.height, sf: src.format.rawValue, dw: dst.width, dh: dst.height,
                    df: dst.format.rawValue, cs: src.colorspace, full: src.fullRange)
        if k != key || ctx == nil {
            sws_freeContext(ctx)
            ctx = sws_getContext(src.width, src.height, src.format, dst.width, dst.height, dst.format,
                                 SWS_BICUBIC, nil, nil, nil)
            guard ctx != nil else {
                key = nil
                throw MediaError.invalidOption(name: "pixelFormat",
                                               value: "\(pixelFormatName(src.format))->\(pixelFormatName(dst.format))",
                                               expected: "a conversion swscale supports")
            }
            key = k
            let inv = sws_getCoefficients(src.colorspace)
            let out = sws_getCoefficients(SWS_CS_DEFAULT)
            sws_setColorspaceDetails(ctx, inv, src.fullRange ? 1 : 0, out, dst.fullRange ? 1 : 0, 0, 1 << 16, 1 << 16)
        }
        var s = src, d = dst
        withUnsafeBytes(of: &s.planes) { sp in
            withUnsafeBytes(of: &s.strides) { ss in
                withUnsafeBytes(of: &d.planes) { dp in
                    withUnsafeBytes(of: &d.strides) { ds in
                        _ = sws_scale(ctx,
                                      sp.baseAddress!.assumingMemoryBound(to: UnsafePointer<UInt8>?.self),
                                      ss.baseAddress!.assumingMemoryBound(to: Int32.self),
                                      0, src.height,
                                      dp.baseAddress!.assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self),
                                      ds.baseAddress!.assumingMemoryBound(to: Int32.self))
                    }
                }
            }
        }
    }

    private func copyPlanes(_ src: ImageRef, _ dst: ImageRef) {
        var s = src, d = dst
        withUnsafeMutableBytes(of: &s.planes) { sp in
            withUnsafeMutableBytes(of: &s.strides) { ss in
                withUnsafeMutableBytes(of: &d.planes) { dp in
                    withUnsafeMutableBytes(of: &d.strides) { ds in
                        av_image_copy(dp.baseAddress!.assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self),
                                      ds.baseAddress!.assumingMemoryBound(to: Int32.self),
                                      sp.baseAddress!.assumingMemoryBound(to: UnsafePointer<UInt8>?.self),
                                      ss.baseAddress!.assumingMemoryBound(to: Int32.self),
                                      src.format, src.width, src.height)
                    }
                }
            }
        }
    }
}

func pixelFormatName(_ f: AVPixelFormat) -> String {
    guard let n = av_get_pix_fmt_name(f) else { return "unknown" }
    return String(cString: n)
}
