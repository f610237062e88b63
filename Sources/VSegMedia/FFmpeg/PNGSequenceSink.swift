#if canImport(Glibc)
import Glibc
#endif
import CFFmpeg
import VSegCore

/// One PNG per frame through FFmpeg's PNG encoder (frame-threaded).
///
/// The path is a directory (`out/frames/`, created if missing; files are
/// `000001.png`, `000002.png`, ...), a printf pattern (`out/f_%04d.png`), or
/// a plain `name.png` (written as `name_000001.png`, ...). Numbering starts at
/// 1 like the ffmpeg CLI, so `ffmpeg -i in.mp4 dir/%06d.png` names the same files.
/// Gray8 frames stay gray; everything else is written as RGB24.
public final class PNGSequenceSink: FrameSink {
    public let destination: String
    public private(set) var framesWritten = 0
    /// The filename pattern actually used.
    public let pattern: String
    private var enc: UnsafeMutablePointer<AVCodecContext>?
    private let convFrame: UnsafeMutablePointer<AVFrame>
    private let pkt: UnsafeMutablePointer<AVPacket>
    private let scaler = Scaler()
    private let width: Int32, height: Int32
    private var sent = 0
    private var finished = false

    public init(path: String, source: SourceInfo, options: SinkOptions = SinkOptions()) throws {
        FFmpegLogLevel.configure()
        try options.validate()
        destination = path
        pattern = try PNGSequenceSink.preparePattern(path)
        width = Int32(source.width)
        height = Int32(source.height)
        convFrame = av_frame_alloc()
        pkt = av_packet_alloc()
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG), let ctx = avcodec_alloc_context3(codec) else {
            throw MediaError.encoderUnavailable(path: path, reason: "this FFmpeg has no PNG encoder")
        }
        enc = ctx
        ctx.pointee.width = width
        ctx.pointee.height = height
        ctx.pointee.pix_fmt = source.pixelFormat == .gray8 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24
        let rate = source.frameRate.isValid ? source.frameRate : Rational(25, 1)
        ctx.pointee.time_base = AVRational(num: rate.den, den: rate.num)
        ctx.pointee.thread_count = Int32(options.encoderThreads)
        ctx.pointee.thread_type = FF_THREAD_FRAME
        ctx.pointee.compression_level = Int32(options.pngCompression)
        let r = avcodec_open2(ctx, codec, nil)
        if r < 0 { throw MediaError.encoderUnavailable(path: path, reason: "png: \(avErrorString(r))") }
        convFrame.pointee.format = ctx.pointee.pix_fmt.rawValue
        convFrame.pointee.width = width
        convFrame.pointee.height = height
        if av_frame_get_buffer(convFrame, 0) < 0 { throw MediaError.writeFailed(path: path, reason: "out of memory") }
    }

    deinit {
        if !finished { try? finish() }
        avcodec_free_context(&enc)
        var f: UnsafeMutablePointer<AVFrame>? = convFrame
        av_frame_free(&f)
        var p: UnsafeMutablePointer<AVPacket>? = pkt
        av_packet_free(&p)
    }

    /// Turns the user's path into a filename pattern, creating the directory.
    static func preparePattern(_ path: String) throws -> String {
        var st = stat()
        let isDir = stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
        if path.hasSuffix("/") || isDir {
            let dir = path.hasSuffix("/") ? String(path.dropLast()) : path
            if !isDir {
                try EncodedVideoSink.checkWritableDirectory(of: dir)
                if mkdir(dir, 0o755) != 0 && errno != EEXIST {
                    throw MediaError.outputUnwritable(path: path, reason: String(cString: strerror(errno)))
                }
            } else if access(dir, W_OK) != 0 {
                throw MediaError.outputUnwritable(path: path, reason: String(cString: strerror(errno)))
            }
            return dir + "/%06d.png"
        }
        guard pathExtension(path) == "png" else { throw MediaError.unknownOutputExtension(path: path) }
        try EncodedVideoSink.checkWritableDirectory(of: path)
        if path.contains("%") {
            guard formatNumber(path, 1) != nil else {
                throw MediaError.invalidOption(name: "output", value: path, expected: "one %d or %0Nd in the PNG pattern")
            }
            return path
        }
        return String(path.dropLast(4)) + "_%06d.png"
    }

    /// Expands the single `%d`/`%0Nd` in `pattern`; nil when there is not exactly one.
    static func formatNumber(_ pattern: String, _ n: Int) -> String? {
        let chars = Array(pattern)
        var i = 0
        var out = ""
        var expanded = false
        while i < chars.count {
            if chars[i] == "%" {
                var j = i + 1
                var width = 0
                while j < chars.count, let d = chars[j].wholeNumberValue { width = width * 10 + d; j += 1 }
                guard j < chars.count, chars[j] == "d", !expanded else { return nil }
                let digits = String(n)
                out += String(repeating: "0", count: max(0, width - digits.count)) + digits
                expanded = true
                i = j + 1
                continue
            }
            out.append(chars[i])
            i += 1
        }
        return expanded ? out : nil
    }

    public func write(_ frame: Frame) throws {
        guard !finished, let enc = enc else { return }
        if av_frame_make_writable(convFrame) < 0 { throw MediaError.writeFailed(path: destination, reason: "out of memory") }
        try scaler.convert(ImageRef(frame.buffer), into: ImageRef(convFrame))
        convFrame.pointee.pts = Int64(sent)
        sent += 1
        let r = avcodec_send_frame(enc, convFrame)
        if r < 0 { throw MediaError.writeFailed(path: destination, reason: "png encoder: \(avErrorString(r))") }
        try drain()
    }

    private func drain() throws {
        guard let enc = enc else { return }
        while true {
            let r = avcodec_receive_packet(enc, pkt)
            if r == vseg_averror_eagain() || r == vseg_averror_eof() { return }
            if r < 0 { throw MediaError.writeFailed(path: destination, reason: "png encoder: \(avErrorString(r))") }
            defer { av_packet_unref(pkt) }
            let name = PNGSequenceSink.formatNumber(pattern, framesWritten + 1)!
            let file = try OutputFile(path: name)
            try file.write(pkt.pointee.data, count: Int(pkt.pointee.size))
            try file.close()
            framesWritten += 1
        }
    }

    public func finish() throws {
        if finished { return }
        finished = true
        if let enc = enc {
            avcodec_send_frame(enc, nil)
            try drain()
        }
    }
}
