import CFFmpeg
import VSegCore

/// What `vseg probe` shows for a file or stream: the container and every
/// stream with its codec, geometry, rate, duration and frame count.
public struct MediaProbe: Sendable, Equatable {
    public struct Stream: Sendable, Equatable {
        public var index: Int
        /// "video", "audio", "subtitle", "data".
        public var kind: String
        public var codec: String
        public var width: Int?
        public var height: Int?
        public var pixelFormat: String?
        public var frameRate: Rational?
        public var sampleRate: Int?
        public var channels: Int?
        public var duration: Double?
        /// From the container index, or counted by reading the packets when `countFrames` was set.
        public var frameCount: Int?
        public var bitRate: Int?
    }

    public var uri: String
    /// Demuxer long name and short name ("QuickTime / MOV (mov,mp4,m4a,3gp,3g2,mj2)").
    public var container: String
    public var duration: Double?
    public var bitRate: Int?
    public var streams: [Stream]

    /// Opens `uri` with libavformat and describes it. With `countFrames`, streams
    /// whose container does not store a frame count (mkv, ts) are counted by
    /// reading every packet (files only; fast, no decoding).
    public static func probe(uri: String, options: SourceOptions = SourceOptions(), countFrames: Bool = true) throws -> MediaProbe {
        FFmpegLogLevel.configure()
        let resolved = try FFmpegSource.resolve(uri: uri, options: options)
        let irq = vseg_interrupt_create()!
        defer { vseg_interrupt_destroy(irq) }
        guard var ctx = avformat_alloc_context() else { throw MediaError.openFailed(uri: uri, reason: "out of memory") }
        vseg_install_interrupt(ctx, irq)
        var dict: OpaquePointer?
        for (k, v) in resolved.demuxerOptions { av_dict_set(&dict, k, v, 0) }
        defer { av_dict_free(&dict) }
        let ifmt = resolved.format.flatMap { av_find_input_format($0) }
        let network = uriScheme(resolved.uri) != nil
        vseg_interrupt_arm(irq, network ? options.openTimeout : 0)
        var p: UnsafeMutablePointer<AVFormatContext>? = ctx
        var r = avformat_open_input(&p, resolved.uri, ifmt, &dict)
        if r < 0 {
            if vseg_interrupt_timed_out(irq) != 0 { throw MediaError.timedOut(uri: uri, seconds: options.openTimeout) }
            if r == vseg_averror_invaliddata() || r == vseg_averror_eof() { throw MediaError.notMedia(uri: uri, reason: avErrorString(r)) }
            throw MediaError.openFailed(uri: uri, reason: avErrorString(r))
        }
        ctx = p!
        defer { var c: UnsafeMutablePointer<AVFormatContext>? = ctx; avformat_close_input(&c) }
        vseg_interrupt_arm(irq, network ? max(options.openTimeout, 1) * 3 : 0)
        r = avformat_find_stream_info(ctx, nil)
        if r < 0 { throw MediaError.notMedia(uri: uri, reason: avErrorString(r)) }

        let f = ctx.pointee
        let iformat = f.iformat.pointee
        var report = MediaProbe(uri: uri,
                                container: "\(String(cString: iformat.long_name)) (\(String(cString: iformat.name)))",
                                duration: f.duration > 0 && f.duration != vseg_av_nopts_value() ? Double(f.duration) / Double(AV_TIME_BASE) : nil,
                                bitRate: f.bit_rate > 0 ? Int(f.bit_rate) : nil, streams: [])
        for i in 0..<Int(f.nb_streams) {
            let st = f.streams[i]!
            let par = st.pointee.codecpar.pointee
            var s = Stream(index: i, kind: av_get_media_type_string(par.codec_type).map { String(cString: $0) } ?? "unknown",
                           codec: String(cString: avcodec_get_name(par.codec_id)))
            let tb = Rational(st.pointee.time_base)
            if st.pointee.duration > 0 && st.pointee.duration != vseg_av_nopts_value() { s.duration = Double(st.pointee.duration) * tb.doubleValue }
            if st.pointee.nb_frames > 0 { s.frameCount = Int(st.pointee.nb_frames) }
            if par.bit_rate > 0 { s.bitRate = Int(par.bit_rate) }
            if par.codec_type == AVMEDIA_TYPE_VIDEO {
                s.width = Int(par.width); s.height = Int(par.height)
                s.pixelFormat = pixelFormatName(AVPixelFormat(rawValue: par.format))
                let rate = Rational(av_guess_frame_rate(ctx, st, nil))
                s.frameRate = rate.isValid ? rate : nil
            } else if par.codec_type == AVMEDIA_TYPE_AUDIO {
                s.sampleRate = Int(par.sample_rate)
                s.channels = Int(par.ch_layout.nb_channels)
            }
            report.streams.append(s)
        }
        let live = liveSchemes.contains(uriScheme(resolved.uri) ?? "")
        if countFrames && !live && report.streams.contains(where: { $0.frameCount == nil && ($0.kind == "video" || $0.kind == "audio") }) {
            vseg_interrupt_arm(irq, network ? 30 : 0)
            var counts = [Int](repeating: 0, count: report.streams.count)
            let pkt = av_packet_alloc()
            defer { var q = pkt; av_packet_free(&q) }
            while av_read_frame(ctx, pkt) >= 0 {
                let i = Int(pkt!.pointee.stream_index)
                if i < counts.count { counts[i] += 1 }
                av_packet_unref(pkt)
            }
            for i in report.streams.indices where report.streams[i].frameCount == nil { report.streams[i].frameCount = counts[i] }
        }
        vseg_interrupt_arm(irq, 0)
        return report
    }

    /// Human-readable report, one stream per block.
    public func render() -> String {
        var lines = ["input: \(uri)", "  container: \(container)"]
        lines.append("  duration: " + (duration.map { "\(round3($0)) s" } ?? "unknown (live or unindexed)"))
        if let b = bitRate { lines.append("  bit rate: \(b / 1000) kb/s") }
        for s in streams {
            var line = "  stream #\(s.index) \(s.kind): \(s.codec)"
            if let w = s.width, let h = s.height { line += ", \(w)x\(h)" }
            if let pf = s.pixelFormat { line += ", \(pf)" }
            if let r = s.frameRate { line += ", \(round3(r.doubleValue)) fps (\(r))" }
            if let sr = s.sampleRate { line += ", \(sr) Hz" }
            if let c = s.channels { line += ", \(c) ch" }
            if let d = s.duration { line += ", \(round3(d)) s" }
            if let n = s.frameCount { line += ", \(n) \(s.kind == "video" ? "frames" : "packets")" }
            if let b = s.bitRate { line += ", \(b / 1000) kb/s" }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    private func round3(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
}
