#if canImport(Glibc)
import Glibc
#endif
import CFFmpeg
import VSegCore

/// Encodes frames into a container file (mp4, mkv, mov, ts) or an MPEG-TS
/// network stream (`udp://host:port`).
///
/// - H.264 through libx264 (preset/crf/tune from `SinkOptions`), falling back
///   to FFmpeg's mpeg4 encoder when libx264 is missing.
/// - Timestamps come from the frames, so variable frame rate survives; the
///   output starts at 0 (the first frame's pts is subtracted from every stream).
/// - Audio from an `AudioPassthrough` is copied untouched when the container
///   accepts its codec, interleaved by time, and cut at the last video frame.
/// - `finish()` flushes the encoder and writes the trailer, so a run stopped by
///   SIGINT or a source error still leaves a playable file.
public final class EncodedVideoSink: FrameSink {
    public let destination: String
    public private(set) var framesWritten = 0
    /// "libx264" or the fallback actually used.
    public private(set) var encoderName: String
    /// Whether the source's audio goes into the output.
    public private(set) var copiesAudio: Bool

    private var oc: UnsafeMutablePointer<AVFormatContext>?
    private var enc: UnsafeMutablePointer<AVCodecContext>?
    private let vst: UnsafeMutablePointer<AVStream>
    private var ast: UnsafeMutablePointer<AVStream>?
    private var audio: AudioPassthrough?
    private let convFrame: UnsafeMutablePointer<AVFrame>
    private let wrapFrame: UnsafeMutablePointer<AVFrame>
    private let pkt: UnsafeMutablePointer<AVPacket>
    private let irq: UnsafeMutablePointer<vseg_interrupt>
    private let scaler = Scaler()
    private let width: Int32, height: Int32
    private let encTimeBase: AVRational
    private let isNetwork: Bool
    private var first: Timestamp?
    private var zeroSeconds = 0.0
    private var lastPts = Int64.min
    private var videoEndSeconds = 0.0
    private var finished = false

    public init(path: String, source: SourceInfo, options: SinkOptions = SinkOptions(), audio: AudioPassthrough? = nil) throws {
        FFmpegLogLevel.configure()
        try options.validate()
        destination = path
        let scheme = uriScheme(path)
        isNetwork = scheme != nil
        guard let container = options.container ?? EncodedVideoSink.containerName(for: path) else {
            throw MediaError.unknownOutputExtension(path: path)
        }
        var url = path
        if scheme == "udp", !path.contains("pkt_size") { url += path.contains("?") ? "&pkt_size=1316" : "?pkt_size=1316" }
        if !isNetwork { try EncodedVideoSink.checkWritableDirectory(of: path) }

        irq = vseg_interrupt_create()
        convFrame = av_frame_alloc()
        wrapFrame = av_frame_alloc()
        pkt = av_packet_alloc()
        var ctx: UnsafeMutablePointer<AVFormatContext>?
        let r = avformat_alloc_output_context2(&ctx, nil, container, url)
        guard r >= 0, let octx = ctx else {
            EncodedVideoSink.free(irq, convFrame, wrapFrame, pkt)
            throw MediaError.unknownOutputExtension(path: path)
        }
        oc = octx
        vseg_install_interrupt(octx, irq)
        width = Int32(max(2, source.width & ~1))
        height = Int32(max(2, source.height & ~1))
        let rate = source.frameRate.isValid ? source.frameRate : Rational(25, 1)
        encTimeBase = source.timeBase.isValid ? source.timeBase.av : AVRational(num: rate.den, den: rate.num)

        // Everything below can fail; deinit releases what was made.
        self.audio = nil
        vst = avformat_new_stream(octx, nil)!
        encoderName = ""
        copiesAudio = false
        do {
            let (codecCtx, name) = try EncodedVideoSink.openEncoder(path: path, options: options, source: source,
                                                                    width: width, height: height, timeBase: encTimeBase,
                                                                    rate: rate, globalHeader: (octx.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0,
                                                                    live: isNetwork || source.isLive)
            enc = codecCtx
            encoderName = name
            avcodec_parameters_from_context(vst.pointee.codecpar, codecCtx)
            vst.pointee.time_base = encTimeBase
            vst.pointee.avg_frame_rate = rate.av
            if options.copyAudio, let a = audio {
                if avformat_query_codec(octx.pointee.oformat, a.parameters.pointee.codec_id, FF_COMPLIANCE_NORMAL) == 1,
                   let s = avformat_new_stream(octx, nil) {
                    avcodec_parameters_copy(s.pointee.codecpar, a.parameters)
                    s.pointee.codecpar.pointee.codec_tag = 0
                    s.pointee.time_base = a.timeBase.av
                    ast = s
                    self.audio = a
                    copiesAudio = true
                } else {
                    MediaLog.info("\(path): container '\(container)' cannot hold \(a.codecName) audio; writing video only")
                }
            }
            if (octx.pointee.oformat.pointee.flags & AVFMT_NOFILE) == 0 {
                vseg_interrupt_arm(irq, isNetwork ? 10 : 0)
                let o = avio_open2(&octx.pointee.pb, url, AVIO_FLAG_WRITE, &octx.pointee.interrupt_callback, nil)
                vseg_interrupt_arm(irq, 0)
                if o < 0 { throw MediaError.outputUnwritable(path: path, reason: avErrorString(o)) }
            }
            if isNetwork { octx.pointee.flags |= AVFMT_FLAG_FLUSH_PACKETS; octx.pointee.max_delay = 100_000 }
            var muxOptions: OpaquePointer?
            defer { av_dict_free(&muxOptions) }
            if options.fragmented && (container == "mp4" || container == "mov") {
                av_dict_set(&muxOptions, "movflags", "+frag_keyframe+empty_moov+default_base_moof", 0)
                octx.pointee.flags |= AVFMT_FLAG_FLUSH_PACKETS  // each fragment reaches the disk as it is made
            }
            let h = avformat_write_header(octx, &muxOptions)
            if h < 0 { throw MediaError.writeFailed(path: path, reason: avErrorString(h)) }
            convFrame.pointee.format = enc!.pointee.pix_fmt.rawValue
            convFrame.pointee.width = width
            convFrame.pointee.height = height
            if av_frame_get_buffer(convFrame, 0) < 0 { throw MediaError.writeFailed(path: path, reason: "out of memory") }
        } catch {
            finished = true
            closeOutput(writeTrailer: false)
            throw error
        }
    }

    deinit {
        if !finished { try? finish() }
        closeOutput(writeTrailer: false)
        EncodedVideoSink.free(irq, convFrame, wrapFrame, pkt)
    }

    private static func free(_ irq: UnsafeMutablePointer<vseg_interrupt>, _ a: UnsafeMutablePointer<AVFrame>,
                             _ b: UnsafeMutablePointer<AVFrame>, _ p: UnsafeMutablePointer<AVPacket>) {
        var fa: UnsafeMutablePointer<AVFrame>? = a, fb: UnsafeMutablePointer<AVFrame>? = b
        av_frame_free(&fa); av_frame_free(&fb)
        var pp: UnsafeMutablePointer<AVPacket>? = p
        av_packet_free(&pp)
        vseg_interrupt_destroy(irq)
    }

    public func write(_ frame: Frame) throws {
        guard !finished, let enc = enc else { return }
        if first == nil { first = frame.timestamp; zeroSeconds = frame.pts }
        let f0 = first!
        var pts: Int64
        if frame.timestamp.timeBase == f0.timeBase {
            pts = av_rescale_q(frame.timestamp.value - f0.value, f0.timeBase.av, encTimeBase)
        } else {
            pts = Int64(((frame.pts - zeroSeconds) / (Double(encTimeBase.num) / Double(encTimeBase.den))).rounded())
        }
        if pts <= lastPts { pts = lastPts + 1 }  // encoders need strictly increasing pts
        lastPts = pts

        let input: UnsafeMutablePointer<AVFrame>
        let buf = frame.buffer
        if buf.format.avPixelFormat == enc.pointee.pix_fmt && Int32(buf.width) == width && Int32(buf.height) == height {
            // Hand the pixels over without a copy (the encoder copies non-refcounted frames itself).
            let planes = PlanePointers(buf)
            wrapFrame.pointee.format = enc.pointee.pix_fmt.rawValue
            wrapFrame.pointee.width = width
            wrapFrame.pointee.height = height
            wrapFrame.pointee.data.0 = planes.data.0; wrapFrame.pointee.data.1 = planes.data.1
            wrapFrame.pointee.data.2 = planes.data.2; wrapFrame.pointee.data.3 = planes.data.3
            wrapFrame.pointee.linesize.0 = planes.linesize.0; wrapFrame.pointee.linesize.1 = planes.linesize.1
            wrapFrame.pointee.linesize.2 = planes.linesize.2; wrapFrame.pointee.linesize.3 = planes.linesize.3
            input = wrapFrame
        } else {
            if av_frame_make_writable(convFrame) < 0 { throw MediaError.writeFailed(path: destination, reason: "out of memory") }
            try scaler.convert(ImageRef(buf), into: ImageRef(convFrame))
            input = convFrame
        }
        input.pointee.pts = pts
        input.pointee.pict_type = AV_PICTURE_TYPE_NONE
        let frameSeconds = frame.pts
        let dur = frame.duration.map { Double($0) * frame.timestamp.timeBase.doubleValue }
            ?? (enc.pointee.framerate.num > 0 ? Double(enc.pointee.framerate.den) / Double(enc.pointee.framerate.num) : 0.04)
        videoEndSeconds = max(videoEndSeconds, frameSeconds + dur)
        try writeAudio(before: frameSeconds)
        let r = avcodec_send_frame(enc, input)
        if r < 0 { throw MediaError.writeFailed(path: destination, reason: "encoder: \(avErrorString(r))") }
        try drainPackets()
    }

    private func drainPackets() throws {
        guard let enc = enc, let oc = oc else { return }
        while true {
            let r = avcodec_receive_packet(enc, pkt)
            if r == vseg_averror_eagain() || r == vseg_averror_eof() { return }
            if r < 0 { throw MediaError.writeFailed(path: destination, reason: "encoder: \(avErrorString(r))") }
            av_packet_rescale_ts(pkt, enc.pointee.time_base, vst.pointee.time_base)
            pkt.pointee.stream_index = vst.pointee.index
            let w = av_interleaved_write_frame(oc, pkt)
            if w < 0 { throw MediaError.writeFailed(path: destination, reason: avErrorString(w)) }
            framesWritten += 1
        }
    }

    /// Muxes the queued audio packets that start before `limit` (source seconds).
    private func writeAudio(before limit: Double) throws {
        guard let a = audio, let ast = ast, let oc = oc else { return }
        let atb = a.timeBase
        let shift = Int64((zeroSeconds / atb.doubleValue).rounded())
        while let p = a.pop(before: limit) {
            var packet: UnsafeMutablePointer<AVPacket>? = p
            defer { av_packet_free(&packet) }
            if p.pointee.pts != vseg_av_nopts_value() {
                p.pointee.pts -= shift
                if p.pointee.pts < 0 { continue }  // before the first video frame (e.g. after --start)
            }
            if p.pointee.dts != vseg_av_nopts_value() { p.pointee.dts -= shift }
            av_packet_rescale_ts(p, atb.av, ast.pointee.time_base)
            p.pointee.stream_index = ast.pointee.index
            p.pointee.pos = -1
            let w = av_interleaved_write_frame(oc, p)
            if w < 0 { throw MediaError.writeFailed(path: destination, reason: avErrorString(w)) }
        }
    }

    public func finish() throws {
        if finished { return }
        finished = true
        var failure: Error?
        do {
            if let enc = enc {
                avcodec_send_frame(enc, nil)
                try drainPackets()
            }
            if first != nil, let a = audio {
                // A whole-file transcode keeps all the audio; a cut run stops it with the video.
                try writeAudio(before: a.readToEnd ? .infinity : videoEndSeconds)
            }
        } catch { failure = error }
        closeOutput(writeTrailer: true)
        if let e = trailerError ?? failure { throw e }
    }

    private var trailerError: MediaError?

    private func closeOutput(writeTrailer: Bool) {
        if let octx = oc {
            if writeTrailer {
                // Network outputs get a bounded time to flush, so a dead peer cannot hang shutdown.
                vseg_interrupt_arm(irq, isNetwork ? 5 : 0)
                let r = av_write_trailer(octx)
                if r < 0 { trailerError = .writeFailed(path: destination, reason: avErrorString(r)) }
            }
            if (octx.pointee.oformat.pointee.flags & AVFMT_NOFILE) == 0, octx.pointee.pb != nil {
                avio_closep(&octx.pointee.pb)
            }
            avformat_free_context(octx)
            oc = nil
        }
        avcodec_free_context(&enc)
    }
}
