#if canImport(Glibc)
import Glibc
#endif
import CFFmpeg
import VSegCore

/// Anything libavformat opens: files (mp4/mkv/mov/avi/ts), image sequences
/// (`dir/%06d.png`, `dir/*.jpg`, or a directory of images), and network
/// streams (`udp://`, `rtsp://`, `http://`, ...). Decodes on FFmpeg's threads
/// and hands out frames converted once by swscale to `options.pixelFormat`.
///
/// Files never drop frames. Network sources are live: blocking reads are
/// bounded by `openTimeout`/`readTimeout`, and when the sender stops the source
/// reopens with backoff (each reconnect is logged through `MediaLog`), keeping
/// timestamps increasing across the gap and frames at the first geometry.
public final class FFmpegSource: FrameSource, AudioPassthroughProvider {
    public private(set) var info: SourceInfo
    /// Reconnects made so far (live sources).
    public internal(set) var reconnects = 0
    /// Packets the decoder rejected as corrupt (the stream continued).
    public internal(set) var corruptPackets = 0

    let uri: String
    let openURI: String
    let options: SourceOptions
    let forcedFormat: String?
    let demuxerOptions: [(String, String)]
    let irq: UnsafeMutablePointer<vseg_interrupt>
    var input: Input?
    let frame: UnsafeMutablePointer<AVFrame>
    let packet: UnsafeMutablePointer<AVPacket>
    let scaler = Scaler()
    var pool: PixelBufferPool
    var audio: AudioPassthrough?

    var emitted = 0
    var nextIndex = 0
    var firstSeconds: Double?
    var done = false
    var draining = false
    /// Why a file stopped early; reported after the decoder has handed out its frames.
    var pendingError: String?
    var lastInPts: Int64?
    /// Video packets demuxed (checked against the container's sample count at EOF).
    var videoPackets = 0
    /// Live streams: output pts = input pts + offset, kept increasing across reconnects.
    var tsOffset: Int64 = 0
    var lastOutPts: Int64?
    var lastStep: Int64 = 1
    var rebaseNext = true
    /// After a seek the frame index comes from the pts (files with a known rate).
    var indexFromPts = false

    /// One opened demuxer + decoder.
    final class Input {
        var fmt: UnsafeMutablePointer<AVFormatContext>?
        var dec: UnsafeMutablePointer<AVCodecContext>?
        var videoIndex: Int32 = -1
        var audioIndex: Int32 = -1
        deinit { closeNow() }
        /// Releases the socket/file now, even while a caller still holds this object.
        func closeNow() {
            avcodec_free_context(&dec)
            avformat_close_input(&fmt)
        }
        var stream: UnsafeMutablePointer<AVStream> { fmt!.pointee.streams[Int(videoIndex)]! }
        /// MP4/MOV store one index entry per sample, so nb_frames is exact there
        /// (AVI and others only estimate it).
        var hasExactSampleCount: Bool {
            guard let f = fmt, stream.pointee.nb_frames > 0 else { return false }
            return String(cString: f.pointee.iformat.pointee.name).hasPrefix("mov")
        }
    }

    public init(uri: String, options: SourceOptions = SourceOptions()) throws {
        FFmpegLogLevel.configure()
        try options.validate()
        self.uri = uri
        self.options = options
        let resolved = try FFmpegSource.resolve(uri: uri, options: options)
        self.openURI = resolved.uri
        self.forcedFormat = resolved.format
        self.demuxerOptions = resolved.demuxerOptions
        irq = vseg_interrupt_create()
        frame = av_frame_alloc()
        packet = av_packet_alloc()
        var live = options.live ?? resolved.live
        // Placeholder until the input is open; replaced below.
        info = SourceInfo(uri: uri, width: 1, height: 1, pixelFormat: options.pixelFormat, frameRate: Rational(0, 1),
                          timeBase: Rational(1, 1), frameCount: nil, duration: nil, isLive: live, codec: "")
        pool = PixelBufferPool(width: 1, height: 1, format: options.pixelFormat)
        do {
            let inp = try openInput(live: live)
            input = inp
            // An HTTP URL without a duration is a live feed (MJPEG camera, live HLS).
            if options.live == nil, let scheme = uriScheme(openURI), scheme.hasPrefix("http") || scheme == "hls",
               inp.fmt!.pointee.duration <= 0 || inp.fmt!.pointee.duration == vseg_av_nopts_value() {
                live = true
            }
            info = makeInfo(inp, live: live)
            pool = PixelBufferPool(width: info.width, height: info.height, format: info.pixelFormat, capacity: 24)
            if let start = options.start, !live { try seek(inp, to: start) }
        } catch {
            releaseAll()
            throw error
        }
    }

    deinit { releaseAll() }

    private var released = false
    private func releaseAll() {
        if released { return }
        released = true
        input = nil
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
        vseg_interrupt_destroy(irq)
    }

    public func interrupt() { if !released { vseg_interrupt_trigger(irq) } }

    public func close() {
        audio?.markEnded()
        input?.closeNow()
        input = nil
    }

    public func enableAudioPassthrough() -> AudioPassthrough? {
        if info.isLive { return nil }
        if let a = audio { return a }
        guard let inp = input, inp.audioIndex >= 0, let st = inp.fmt?.pointee.streams[Int(inp.audioIndex)] else { return nil }
        audio = AudioPassthrough(stream: st)
        return audio
    }

    // MARK: opening

    func openInput(live: Bool) throws -> Input {
        let inp = Input()
        guard let ctx = avformat_alloc_context() else { throw MediaError.openFailed(uri: uri, reason: "out of memory") }
        vseg_install_interrupt(ctx, irq)
        var dict: OpaquePointer?
        for (k, v) in demuxerOptions { av_dict_set(&dict, k, v, 0) }
        defer { av_dict_free(&dict) }
        var ifmt: UnsafePointer<AVInputFormat>?
        if let f = forcedFormat {
            ifmt = av_find_input_format(f)
            if ifmt == nil {
                avformat_free_context(ctx)
                throw MediaError.invalidOption(name: "inputFormat", value: f, expected: "an FFmpeg demuxer name (ffmpeg -demuxers)")
            }
        }
        let timeout = options.openTimeout
        let isNetwork = uriScheme(openURI) != nil
        vseg_interrupt_arm(irq, isNetwork ? timeout : 0)
        var fmtPtr: UnsafeMutablePointer<AVFormatContext>? = ctx
        var r = avformat_open_input(&fmtPtr, openURI, ifmt, &dict)
        if r < 0 { throw openError(r, timeout: timeout) }
        inp.fmt = fmtPtr
        // Stream info may need a keyframe from a live sender: allow it more time than the first byte.
        vseg_interrupt_arm(irq, isNetwork ? max(timeout, 1) * 3 : 0)
        r = avformat_find_stream_info(fmtPtr, nil)
        if r < 0 { throw openError(r, timeout: timeout * 3) }

        var decoder: UnsafePointer<AVCodec>?
        r = av_find_best_stream(fmtPtr, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0)
        if r == vseg_averror_decoder_not_found() {
            let idx = firstStream(fmtPtr!, AVMEDIA_TYPE_VIDEO)
            let name = idx.map { String(cString: avcodec_get_name(fmtPtr!.pointee.streams[$0]!.pointee.codecpar.pointee.codec_id)) } ?? "unknown"
            throw MediaError.unsupportedCodec(uri: uri, codec: name)
        }
        guard r >= 0, let codec = decoder else { throw MediaError.noVideoStream(uri: uri) }
        inp.videoIndex = r
        let st = fmtPtr!.pointee.streams[Int(r)]!
        guard let dec = avcodec_alloc_context3(codec) else { throw MediaError.openFailed(uri: uri, reason: "out of memory") }
        inp.dec = dec
        avcodec_parameters_to_context(dec, st.pointee.codecpar)
        dec.pointee.pkt_timebase = st.pointee.time_base
        dec.pointee.thread_count = Int32(options.decoderThreads)
        // Frame threads add a frame of latency per thread: fine for files, not for live.
        dec.pointee.thread_type = live ? FF_THREAD_SLICE : (FF_THREAD_FRAME | FF_THREAD_SLICE)
        if live { dec.pointee.flags |= Int32(AV_CODEC_FLAG_LOW_DELAY) }
        r = avcodec_open2(dec, codec, nil)
        if r < 0 { throw MediaError.unsupportedCodec(uri: uri, codec: String(cString: codec.pointee.name)) }
        let a = av_find_best_stream(fmtPtr, AVMEDIA_TYPE_AUDIO, -1, inp.videoIndex, nil, 0)
        inp.audioIndex = a >= 0 ? a : -1
        // Drop what nobody reads so the demuxer does not queue it.
        for i in 0..<Int(fmtPtr!.pointee.nb_streams) where Int32(i) != inp.videoIndex && Int32(i) != inp.audioIndex {
            fmtPtr!.pointee.streams[i]!.pointee.discard = AVDISCARD_ALL
        }
        vseg_interrupt_arm(irq, 0)
        if fmtPtr!.pointee.pb != nil, fmtPtr!.pointee.pb.pointee.error < 0 && !live {
            throw MediaError.notMedia(uri: uri, reason: avErrorString(fmtPtr!.pointee.pb.pointee.error))
        }
        return inp
    }

    private func firstStream(_ fmt: UnsafeMutablePointer<AVFormatContext>, _ type: AVMediaType) -> Int? {
        for i in 0..<Int(fmt.pointee.nb_streams) where fmt.pointee.streams[i]!.pointee.codecpar.pointee.codec_type == type { return i }
        return nil
    }

    private func openError(_ r: Int32, timeout: Double) -> MediaError {
        if vseg_interrupt_timed_out(irq) != 0 { return .timedOut(uri: uri, seconds: timeout) }
        if r == vseg_averror(ENOENT) { return .notFound(path: uri) }
        if r == vseg_averror_invaliddata() || r == vseg_averror_demuxer_not_found() || r == vseg_averror_eof() {
            return .notMedia(uri: uri, reason: avErrorString(r))
        }
        return .openFailed(uri: uri, reason: avErrorString(r))
    }

    func makeInfo(_ inp: Input, live: Bool) -> SourceInfo {
        let st = inp.stream.pointee
        let par = st.codecpar.pointee
        let srcW = Int(par.width), srcH = Int(par.height)
        var w = options.width ?? srcW, h = options.height ?? srcH
        if options.width != nil && options.height == nil, srcW > 0 { h = max(1, (srcH * w + srcW / 2) / srcW) }
        if options.height != nil && options.width == nil, srcH > 0 { w = max(1, (srcW * h + srcH / 2) / srcH) }
        w = max(1, w); h = max(1, h)
        let rate = Rational(av_guess_frame_rate(inp.fmt, inp.stream, nil))
        let fmtDuration = inp.fmt!.pointee.duration
        var duration: Double? = fmtDuration > 0 && fmtDuration != vseg_av_nopts_value() ? Double(fmtDuration) / Double(AV_TIME_BASE) : nil
        if st.duration > 0 && st.duration != vseg_av_nopts_value() { duration = Double(st.duration) * Rational(st.time_base).doubleValue }
        var count: Int? = st.nb_frames > 0 ? Int(st.nb_frames) : nil
        if count == nil, let d = duration, rate.isValid { count = Int((d * rate.doubleValue).rounded()) }
        if live { count = nil; duration = nil }
        // What this run will actually produce, so progress bars end at 100%.
        if let start = options.start, let d = duration {
            let left = max(0, d - start)
            if let c = count { count = min(c, Int((left * rate.doubleValue).rounded())) }
            duration = left
        }
        if let limit = options.duration {
            if let c = count, rate.isValid { count = min(c, Int((limit * rate.doubleValue).rounded(.up))) }
            duration = min(duration ?? limit, limit)
        }
        if let n = options.maxFrames { count = min(count ?? n, n) }
        let codec = String(cString: avcodec_get_name(par.codec_id))
        return SourceInfo(uri: uri, width: w, height: h, pixelFormat: options.pixelFormat,
                          frameRate: rate.isValid ? rate : Rational(0, 1), timeBase: Rational(st.time_base),
                          frameCount: count, duration: duration, isLive: live, codec: codec)
    }

    private func seek(_ inp: Input, to seconds: Double) throws {
        var target = Int64(seconds * Double(AV_TIME_BASE))
        let start = inp.fmt!.pointee.start_time
        if start != vseg_av_nopts_value() { target += start }
        let r = avformat_seek_file(inp.fmt, -1, Int64.min, target, target, 0)
        if r < 0 {
            throw MediaError.invalidOption(name: "start", value: "\(seconds)", expected: "a time inside the input (\(avErrorString(r)))")
        }
        avcodec_flush_buffers(inp.dec)
        indexFromPts = true
    }
}
