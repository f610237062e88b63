#if canImport(Glibc)
import Glibc
#endif
import VSegCore

/// How to open a source. Every field has a default, so `SourceOptions()` reads
/// any file as RGB24 frames at its own size. Decodes from YAML/JSON with any
/// subset of the keys (same names as the properties).
public struct SourceOptions: Codable, Sendable, Equatable {
    /// Pixel format of the frames handed out (the source converts once, with swscale).
    public var pixelFormat: PixelFormat = .rgb24
    /// Output width/height. Files and streams are scaled to it; cameras request it. Nil: native size.
    public var width: Int? = nil
    public var height: Int? = nil
    /// Requested camera frame rate, image-sequence rate, or test-pattern rate. Nil: native.
    public var frameRate: Double? = nil
    /// Seek here (seconds) before the first frame. Files only.
    public var start: Double? = nil
    /// Stop after this many frames.
    public var maxFrames: Int? = nil
    /// Stop after this many seconds of media time (measured from the first frame).
    public var duration: Double? = nil
    /// Force the demuxer ("mpegts", "image2", ...) or the camera's pixel format ("yuyv", "mjpeg").
    public var inputFormat: String? = nil
    /// Seconds to wait for a stream to open (network sources; 0 waits forever).
    public var openTimeout: Double = 5
    /// Seconds without data before a live stream counts as stopped (then reconnects).
    public var readTimeout: Double = 3
    /// Reconnect attempts after a live stream stops (0 = fail at the first stop).
    public var reconnectAttempts: Int = 10
    /// Longest pause between reconnect attempts (the backoff doubles from 0.25 s up to this).
    public var reconnectMaxDelay: Double = 4
    /// Decoder threads (0 = one per core).
    public var decoderThreads: Int = 0
    /// Treat the source as live (flow-limited, reconnecting). Nil: decided from the URI.
    public var live: Bool? = nil
    /// V4L2 mmap buffers.
    public var bufferCount: Int = 4

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case pixelFormat, width, height, frameRate, start, maxFrames, duration, inputFormat, openTimeout
        case readTimeout, reconnectAttempts, reconnectMaxDelay, decoderThreads, live, bufferCount
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var o = SourceOptions()
        o.pixelFormat = try c.decodeIfPresent(PixelFormat.self, forKey: .pixelFormat) ?? o.pixelFormat
        o.width = try c.decodeIfPresent(Int.self, forKey: .width)
        o.height = try c.decodeIfPresent(Int.self, forKey: .height)
        o.frameRate = try c.decodeIfPresent(Double.self, forKey: .frameRate)
        o.start = try c.decodeIfPresent(Double.self, forKey: .start)
        o.maxFrames = try c.decodeIfPresent(Int.self, forKey: .maxFrames)
        o.duration = try c.decodeIfPresent(Double.self, forKey: .duration)
        o.inputFormat = try c.decodeIfPresent(String.self, forKey: .inputFormat)
        o.openTimeout = try c.decodeIfPresent(Double.self, forKey: .openTimeout) ?? o.openTimeout
        o.readTimeout = try c.decodeIfPresent(Double.self, forKey: .readTimeout) ?? o.readTimeout
        o.reconnectAttempts = try c.decodeIfPresent(Int.self, forKey: .reconnectAttempts) ?? o.reconnectAttempts
        o.reconnectMaxDelay = try c.decodeIfPresent(Double.self, forKey: .reconnectMaxDelay) ?? o.reconnectMaxDelay
        o.decoderThreads = try c.decodeIfPresent(Int.self, forKey: .decoderThreads) ?? o.decoderThreads
        o.live = try c.decodeIfPresent(Bool.self, forKey: .live)
        o.bufferCount = try c.decodeIfPresent(Int.self, forKey: .bufferCount) ?? o.bufferCount
        self = o
    }

    /// Checks ranges; call before opening.
    public func validate() throws {
        if let w = width, w <= 0 || w > 16384 { throw MediaError.invalidOption(name: "width", value: "\(w)", expected: "1...16384") }
        if let h = height, h <= 0 || h > 16384 { throw MediaError.invalidOption(name: "height", value: "\(h)", expected: "1...16384") }
        if let f = frameRate, !(f > 0 && f <= 1000) { throw MediaError.invalidOption(name: "frameRate", value: "\(f)", expected: "a rate in (0, 1000]") }
        if let s = start, !(s >= 0) { throw MediaError.invalidOption(name: "start", value: "\(s)", expected: "seconds >= 0") }
        if let n = maxFrames, n <= 0 { throw MediaError.invalidOption(name: "frames", value: "\(n)", expected: "a positive frame count") }
        if let d = duration, !(d > 0) { throw MediaError.invalidOption(name: "duration", value: "\(d)", expected: "seconds > 0") }
        if !(openTimeout >= 0) { throw MediaError.invalidOption(name: "openTimeout", value: "\(openTimeout)", expected: "seconds >= 0") }
        if !(readTimeout > 0) { throw MediaError.invalidOption(name: "readTimeout", value: "\(readTimeout)", expected: "seconds > 0") }
        if reconnectAttempts < 0 { throw MediaError.invalidOption(name: "reconnectAttempts", value: "\(reconnectAttempts)", expected: ">= 0") }
        if decoderThreads < 0 || decoderThreads > 64 { throw MediaError.invalidOption(name: "decoderThreads", value: "\(decoderThreads)", expected: "0...64") }
        if bufferCount < 2 || bufferCount > 32 { throw MediaError.invalidOption(name: "bufferCount", value: "\(bufferCount)", expected: "2...32") }
    }
}

/// How to write a sink. Every field has a default; decodes from any subset of keys.
public struct SinkOptions: Codable, Sendable, Equatable {
    /// Video codec: "h264" (libx264, falling back to mpeg4), "mpeg4", or any FFmpeg encoder name.
    public var codec: String = "h264"
    /// x264 preset.
    public var preset: String = "veryfast"
    /// x264 constant rate factor (0...51; lower is better quality).
    public var crf: Int = 23
    /// x264 tune ("zerolatency" for live output). Nil: none, except udp:// which defaults to zerolatency.
    public var tune: String? = nil
    /// Keyframe interval in frames (0: encoder default; udp:// defaults to one per second).
    public var gop: Int = 0
    /// Encoder threads (0: auto).
    public var encoderThreads: Int = 0
    /// Copy the source's first audio stream into the output when the container allows it.
    public var copyAudio: Bool = true
    /// Force the container ("mp4", "matroska", "mpegts"); nil: from the extension or scheme.
    public var container: String? = nil
    /// PNG zlib level 0...9 (PNG sequences).
    public var pngCompression: Int = 3
    /// MP4/MOV only: write fragments as it goes (moov first, one fragment per
    /// keyframe), so even a killed process or a power cut leaves a playable file.
    public var fragmented: Bool = false

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case codec, preset, crf, tune, gop, encoderThreads, copyAudio, container, pngCompression, fragmented
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var o = SinkOptions()
        o.codec = try c.decodeIfPresent(String.self, forKey: .codec) ?? o.codec
        o.preset = try c.decodeIfPresent(String.self, forKey: .preset) ?? o.preset
        o.crf = try c.decodeIfPresent(Int.self, forKey: .crf) ?? o.crf
        o.tune = try c.decodeIfPresent(String.self, forKey: .tune)
        o.gop = try c.decodeIfPresent(Int.self, forKey: .gop) ?? o.gop
        o.encoderThreads = try c.decodeIfPresent(Int.self, forKey: .encoderThreads) ?? o.encoderThreads
        o.copyAudio = try c.decodeIfPresent(Bool.self, forKey: .copyAudio) ?? o.copyAudio
        o.container = try c.decodeIfPresent(String.self, forKey: .container)
        o.pngCompression = try c.decodeIfPresent(Int.self, forKey: .pngCompression) ?? o.pngCompression
        o.fragmented = try c.decodeIfPresent(Bool.self, forKey: .fragmented) ?? o.fragmented
        self = o
    }

    public func validate() throws {
        if crf < 0 || crf > 51 { throw MediaError.invalidOption(name: "crf", value: "\(crf)", expected: "0...51") }
        let presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"]
        if !presets.contains(preset) {
            throw MediaError.invalidOption(name: "preset", value: preset, expected: presets.joined(separator: "|"))
        }
        if gop < 0 { throw MediaError.invalidOption(name: "gop", value: "\(gop)", expected: ">= 0") }
        if encoderThreads < 0 || encoderThreads > 64 { throw MediaError.invalidOption(name: "encoderThreads", value: "\(encoderThreads)", expected: "0...64") }
        if pngCompression < 0 || pngCompression > 9 { throw MediaError.invalidOption(name: "pngCompression", value: "\(pngCompression)", expected: "0...9") }
    }
}

/// Where media modules report things worth a log line (reconnects, fallbacks,
/// skipped audio). Defaults to stderr; the pipeline points it at its logger.
public enum MediaLog {
    private static let lock = Lock()
    nonisolated(unsafe) private static var _handler: @Sendable (String) -> Void = { msg in
        fputs("vseg: " + msg + "\n", stderr)
    }

    public static var handler: @Sendable (String) -> Void {
        get { lock.withLock { _handler } }
        set { lock.withLock { _handler = newValue } }
    }

    public static func info(_ message: String) { handler(message) }
}
