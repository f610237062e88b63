#if canImport(Glibc)
import Glibc
#endif
import CFFmpeg
import VSegCore

/// Choosing the container and the encoder, and checking the destination.
extension EncodedVideoSink {
    /// FFmpeg muxer for an output path, or nil when vseg does not write that type.
    public static func containerName(for path: String) -> String? {
        if let scheme = uriScheme(path) {
            return ["udp", "tcp", "srt", "rtp"].contains(scheme) ? "mpegts" : nil
        }
        switch pathExtension(path) {
        case "mp4", "m4v": return "mp4"
        case "mov": return "mov"
        case "mkv": return "matroska"
        case "ts", "m2ts": return "mpegts"
        case "avi": return "avi"
        default: return nil
        }
    }

    static func checkWritableDirectory(of path: String) throws {
        let dir = parentDirectory(path)
        var st = stat()
        if stat(dir, &st) != 0 {
            throw MediaError.outputUnwritable(path: path, reason: "directory \(dir) does not exist")
        }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            throw MediaError.outputUnwritable(path: path, reason: "\(dir) is not a directory")
        }
        if access(dir, W_OK) != 0 {
            throw MediaError.outputUnwritable(path: path, reason: "directory \(dir): \(String(cString: strerror(errno)))")
        }
    }

    static func openEncoder(path: String, options: SinkOptions, source: SourceInfo, width: Int32, height: Int32,
                                    timeBase: AVRational, rate: Rational, globalHeader: Bool, live: Bool) throws
        -> (UnsafeMutablePointer<AVCodecContext>, String) {
        var candidates: [String]
        switch options.codec {
        case "h264", "libx264", "x264": candidates = ["libx264", "mpeg4"]
        default: candidates = [options.codec]
        }
        var lastReason = "no encoder named \(candidates.joined(separator: " or "))"
        for (i, name) in candidates.enumerated() {
            guard !hiddenEncoders.contains(name), let codec = avcodec_find_encoder_by_name(name) else { continue }
            guard let ctx = avcodec_alloc_context3(codec) else { continue }
            ctx.pointee.width = width
            ctx.pointee.height = height
            ctx.pointee.time_base = timeBase
            ctx.pointee.framerate = rate.av
            ctx.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
            ctx.pointee.pix_fmt = EncodedVideoSink.pickPixelFormat(codec)
            ctx.pointee.thread_count = Int32(options.encoderThreads)
            if options.gop > 0 { ctx.pointee.gop_size = Int32(options.gop) } else if live {
                ctx.pointee.gop_size = Int32(max(1, rate.doubleValue.rounded()))
            }
            if globalHeader { ctx.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER) }
            if source.pixelFormat == .rgb24 || source.pixelFormat == .bgr24 {
                // We convert RGB with the BT.601 limited-range matrix; say so in the stream.
                ctx.pointee.colorspace = AVCOL_SPC_SMPTE170M
                ctx.pointee.color_range = AVCOL_RANGE_MPEG
            }
            if name == "libx264" {
                av_opt_set(ctx.pointee.priv_data, "preset", options.preset, 0)
                av_opt_set(ctx.pointee.priv_data, "crf", String(options.crf), 0)
                if let tune = options.tune ?? (live ? "zerolatency" : nil) { av_opt_set(ctx.pointee.priv_data, "tune", tune, 0) }
            } else if name == "mpeg4" {
                // Constant quality roughly matching crf 23 at veryfast.
                ctx.pointee.flags |= Int32(AV_CODEC_FLAG_QSCALE)
                ctx.pointee.global_quality = Int32(FF_QP2LAMBDA) * Int32(max(2, min(31, options.crf / 6)))
                if ctx.pointee.gop_size > 300 || ctx.pointee.gop_size <= 0 { ctx.pointee.gop_size = 250 }
            }
            let r = avcodec_open2(ctx, codec, nil)
            if r >= 0 {
                if i > 0 { MediaLog.info("\(path): \(candidates[0]) unavailable, encoding with \(name)") }
                return (ctx, name)
            }
            lastReason = "\(name): \(avErrorString(r))"
            var c: UnsafeMutablePointer<AVCodecContext>? = ctx
            avcodec_free_context(&c)
        }
        throw MediaError.encoderUnavailable(path: path, reason: lastReason)
    }

    /// Encoders treated as missing (tests simulate an FFmpeg without libx264).
    nonisolated(unsafe) static var hiddenEncoders: Set<String> = []

    static func pickPixelFormat(_ codec: UnsafePointer<AVCodec>) -> AVPixelFormat {
        guard var p = codec.pointee.pix_fmts else { return AV_PIX_FMT_YUV420P }
        let first = p.pointee
        while p.pointee != AV_PIX_FMT_NONE {
            if p.pointee == AV_PIX_FMT_YUV420P { return AV_PIX_FMT_YUV420P }
            p += 1
        }
        return first
    }
}
