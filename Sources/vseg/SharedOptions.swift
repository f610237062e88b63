import ArgumentParser
import VSegEngine
import VSegPipeline

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

/// `--precision` and `--qtable`, shared by the commands that run a model.
struct PrecisionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("""
        Arithmetic: fp32 or int8. int8 needs a calibration table: --qtable, else <model file stem>.qtable in \
        $VSEG_CALIBRATION_DIR, ./calibration or the checkout's calibration/ (make one with vseg calibrate).
        """, valueName: "fp32|int8"))
    var precision: String?

    @Option(help: ArgumentHelp("INT8 calibration table (with --precision int8).", valueName: "path"))
    var qtable: String?

    /// The parsed --precision (nil when not given).
    var parsed: InferencePrecision? { precision.flatMap(InferencePrecision.init(rawValue:)) }

    func validate() throws {
        if let p = precision, InferencePrecision(rawValue: p) == nil {
            throw ValidationError("--precision must be \(InferencePrecision.allCases.map(\.rawValue).joined(separator: " or ")), got '\(p)'")
        }
        if let q = qtable, q.isEmpty { throw ValidationError("--qtable must not be empty") }
    }

    /// For commands without a pipeline file: --qtable only makes sense with --precision int8.
    func validateStandalone() throws {
        try validate()
        if qtable != nil, parsed != .int8 { throw ValidationError("--qtable is only used with --precision int8") }
    }

    /// A session for `m` (loaded from `modelPath`) in the asked precision, and the
    /// table an INT8 one was built with. `input` only completes the `vseg calibrate`
    /// command of a missing-table error.
    func session(_ m: Model, modelPath: String, threads: Int, profile: Bool = false, input: String? = nil) throws
        -> (session: Session, table: String?) {
        guard parsed == .int8 else { return (try Session(model: m, threads: threads, profile: profile), nil) }
        let (table, path) = try QuantTableLocator.load(modelPath: modelPath, explicit: qtable, model: modelPath, input: input)
        return (try Session(model: m, threads: threads, profile: profile, precision: .int8(table.tensorQuantization)), path)
    }
}
