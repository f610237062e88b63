import ArgumentParser

/// Input selection and trimming, shared by commands that read video.
struct InputOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Video file, URL (udp://, rtsp://, http://), image pattern, /dev/videoN or pattern:WxH@FPS.", valueName: "uri"))
    var input: String?

    @Option(help: ArgumentHelp("Stop after N frames.", valueName: "n"))
    var frames: Int?

    @Option(help: ArgumentHelp("Start at this time in seconds (files).", valueName: "seconds"))
    var start: Double?

    @Option(help: ArgumentHelp("Read this many seconds of media.", valueName: "seconds"))
    var duration: Double?

    func validate() throws {
        if let n = frames, n <= 0 { throw ValidationError("--frames must be a positive number of frames, got \(n)") }
        if let s = start, !(s >= 0) { throw ValidationError("--start must be seconds >= 0, got \(s)") }
        if let d = duration, !(d > 0) { throw ValidationError("--duration must be seconds > 0, got \(d)") }
        if let i = input, i.isEmpty { throw ValidationError("--input must not be empty") }
    }
}

/// Output selection and encoder settings.
struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("""
        Output: .mp4/.mkv/.mov (H.264), .ts, udp://HOST:PORT (MPEG-TS), .y4m, .rgb (raw RGB24 + .json sidecar), \
        a PNG pattern (dir/%06d.png) or a directory ending in '/'. Repeat for several outputs.
        """, valueName: "path"))
    var output: [String] = []

    @Option(help: ArgumentHelp("x264 preset (ultrafast ... veryslow).", valueName: "preset"))
    var preset: String?

    @Option(help: ArgumentHelp("x264 quality, 0 (lossless) ... 51 (worst); default 23.", valueName: "n"))
    var crf: Int?

    static let presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"]

    func validate() throws {
        if let c = crf, !(0...51).contains(c) { throw ValidationError("--crf must be 0...51, got \(c)") }
        if let p = preset, !Self.presets.contains(p) {
            throw ValidationError("--preset must be one of \(Self.presets.joined(separator: ", ")); got '\(p)'")
        }
        if output.contains(where: \.isEmpty) { throw ValidationError("--output must not be empty") }
    }
}

/// Terminal output.
struct DisplayOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "No progress, stats or summary; errors only.")
    var quiet = false

    @Flag(help: "Print per-stage stats (fps, latency p50/p95/p99, queue depth, drops) after the summary.")
    var stats = false
}
