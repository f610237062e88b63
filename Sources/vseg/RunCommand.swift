#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import VSegCore
import VSegMedia
import VSegPipeline

/// `vseg run [PIPELINE.yaml] --input URI --output PATH ...`
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Read a video, run the stages on dedicated threads, write the outputs.",
        discussion: """
        Without a pipeline file, --input and --output are required. With one \
        (pipelines/*.yaml), the flags override its values: --input replaces source.uri, \
        --output replaces the whole sinks list, and --set changes any key.

        Files never drop a frame. Live sources (cameras, udp://, rtsp://) keep only the \
        latest frame per stage and count every drop. Ctrl-C stops the source, drains the \
        queues and finalizes every output (exit 130); a second Ctrl-C exits at once.

        Without --model (and without a pipeline file) the person in the video is \
        segmented with MediaPipe's selfie model and tinted in the output.

        --precision int8 runs the model through the INT8 executor with its calibration \
        table: --qtable, else <model file stem>.qtable in $VSEG_CALIBRATION_DIR, \
        ./calibration or the checkout's calibration/. Without one the run stops with the \
        vseg calibrate command that makes it (exit 4). In a pipeline file: model.precision \
        and model.qtable; the flags override them.

        Examples:
          vseg run -i samples/carphone_pristine.mp4 -o out/carphone_overlay.mp4
          vseg run -i samples/carphone_pristine.mp4 --precision int8 -o out/carphone_int8.mp4
          vseg run -i samples/bikes.mp4 --model none -o out/bikes.mp4
          vseg run -i dashcam.mov --model none --start 60 --duration 30 -o clip.mp4 --crf 20
          vseg run -i udp://127.0.0.1:5600 --model none -o rec.mp4 -o udp://10.0.0.2:5601
          vseg run -i samples/bikes.mp4 --model none -o frames.y4m -o png/
          vseg run pipelines/transcode.yaml --set sinks.0.crf=18
        """
    )

    @Argument(help: ArgumentHelp("Pipeline YAML file (see pipelines/).", valueName: "pipeline.yaml"))
    var pipeline: String?

    @OptionGroup var input: InputOptions
    @OptionGroup var output: OutputOptions

    /// The model `vseg run` uses when neither --model nor a pipeline file names one.
    static let defaultModel = "selfie"

    @Option(help: ArgumentHelp("Model: none (record/transcode), a built-in name, or a .tflite/.onnx path (default: selfie without a pipeline file).", valueName: "none|name|path"))
    var model: String?

    @OptionGroup var precision: PrecisionOptions

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a pipeline key, e.g. --set sinks.0.crf=18 (repeatable).", valueName: "key.path=value"))
    var overrides: [String] = []

    @OptionGroup var display: DisplayOptions

    func validate() throws {
        if pipeline == nil {
            if input.input == nil { throw ValidationError("--input is required when no pipeline YAML is given") }
            if output.output.isEmpty { throw ValidationError("--output is required when no pipeline YAML is given") }
        }
        if let m = model, m.isEmpty { throw ValidationError("--model must not be empty; use --model none to record without a model") }
        for o in overrides where !o.contains("=") {
            throw ValidationError("--set \(o): expected key.path=value")
        }
    }

    /// The pipeline file (if any), overridden by --set, then by the flags.
    func makeConfig() throws -> PipelineConfig {
        var c = try PipelineLoader.load(path: pipeline, overrides: overrides)
        if let i = input.input { c.source.uri = i }
        if let n = input.frames { c.source.options.maxFrames = n }
        if let s = input.start { c.source.options.start = s }
        if let d = input.duration { c.source.options.duration = d }
        // Without a pipeline file the main job is segmentation with the default model;
        // a pipeline file decides for itself (a missing model block means none).
        if let m = model { c.model.name = m } else if pipeline == nil { c.model.name = Self.defaultModel }
        if let p = precision.parsed {
            c.model.precision = p
            // --precision fp32 over a pipeline's int8 block drops its table too.
            if p == .fp32 { c.model.qtable = nil }
        }
        if let q = precision.qtable { c.model.qtable = q }
        if c.model.qtable != nil, c.model.precision != .int8 {
            throw PipelineError.usage("--qtable is only used with --precision int8 (or model.precision: int8 in the pipeline)")
        }
        if c.model.precision == .int8, c.model.isNone {
            throw PipelineError.usage("--precision int8 needs a model; drop it or give --model")
        }
        if !output.output.isEmpty {
            let template = c.sinks.first?.options ?? SinkOptions()
            c.sinks = output.output.map { SinkConfig(uri: $0, options: template) }
        }
        for i in c.sinks.indices {
            if let p = output.preset { c.sinks[i].options.preset = p }
            if let q = output.crf { c.sinks[i].options.crf = q }
        }
        if display.stats { c.runner.stats = true }
        return c
    }

    func run() throws {
        let config = try makeConfig()
        let quiet = display.quiet
        MediaLog.handler = { message in if !quiet { fputs("info: \(message)\n", stderr) } }

        // A missing or foreign INT8 table is a model error before any output file exists.
        if !config.model.isNone { _ = try SegmentationStage.quantTable(config.model, input: config.source.uri) }
        let built = try PipelineBuilder().build(config)
        let runner = built.makeRunner()
        let signals = SignalHandler { runner.stop(interrupted: true) }
        signals.install()
        defer { signals.uninstall() }

        var progress: ProgressReporter? = nil
        if !quiet && ProgressReporter.stderrIsTerminal {
            progress = ProgressReporter(runner: runner, totalFrames: expectedFrames(built.source.info, config))
            progress?.start()
        }
        let summary = runner.run()
        progress?.finish()

        if !quiet, let seg = built.stages.first as? SegmentationStage, let table = seg.quantTablePath,
           let q = seg.session?.quantizationReport {
            fputs("info: int8 with \(table): \(q.int8Nodes) nodes INT8, \(q.fp32Nodes) FP32, \(q.fp32Convs.count) convs kept FP32\n", stderr)
        }
        if !quiet {
            fputs(summary.line + "\n", stderr)
            if config.runner.stats { for s in summary.stages { fputs("  " + s.line + "\n", stderr) } }
        }
        if let e = summary.error {
            if let u = e as? UserFacingError { throw u }
            throw PipelineError.stageFailed(stage: summary.errorStage, reason: "\(e)")
        }
        if summary.exitCode != .ok { throw ArgumentParser.ExitCode(summary.exitCode.rawValue) }
    }

    /// Frames the progress bar counts to: the container's count, cut by --frames/--duration.
    private func expectedFrames(_ info: SourceInfo, _ config: PipelineConfig) -> Int? {
        guard !info.isLive else { return nil }
        var total = info.frameCount
        let fps = info.frameRate.doubleValue
        if total == nil, let d = info.duration, fps > 0 { total = Int((d * fps).rounded()) }
        if let s = config.source.options.start, let t = total, fps > 0 { total = max(0, t - Int((s * fps).rounded())) }
        if let d = config.source.options.duration, fps > 0 { total = min(total ?? .max, Int((d * fps).rounded())) }
        if let n = config.source.options.maxFrames { total = min(total ?? n, n) }
        return total
    }
}
