#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VSegCore
import VSegMedia

/// A graph ready to run: the opened source, its stages and the opened sinks.
public struct BuiltPipeline {
    public var source: FrameSource
    public var stages: [PipelineStage]
    public var sinks: [FrameSink]
    public var runnerOptions: RunnerOptions

    public init(source: FrameSource, stages: [PipelineStage], sinks: [FrameSink], runnerOptions: RunnerOptions) {
        self.source = source; self.stages = stages; self.sinks = sinks; self.runnerOptions = runnerOptions
    }

    /// Wraps it in a runner.
    public func makeRunner() -> PipelineRunner {
        PipelineRunner(source: source, stages: stages, sinks: sinks, options: runnerOptions)
    }
}

/// Turns a `PipelineConfig` into opened sources, stages and sinks. Each step is
/// a replaceable closure, so tests can swap in in-memory parts.
public struct PipelineBuilder {
    /// Opens the source (default: VSegMedia's `openSource`).
    public var openSource: (SourceConfig) throws -> FrameSource
    /// Builds the stages for the model/overlay blocks (before the source is
    /// opened; stages see the source's geometry in `prepare`).
    public var makeStages: (PipelineConfig) throws -> [PipelineStage]
    /// Opens one sink; `audioFrom` is the source for the first encoded output (whose audio it copies), else nil.
    public var openSink: (SinkConfig, SourceInfo, FrameSource?) throws -> FrameSink

    public init(openSource: @escaping (SourceConfig) throws -> FrameSource = PipelineBuilder.defaultOpenSource,
                makeStages: @escaping (PipelineConfig) throws -> [PipelineStage] = PipelineBuilder.defaultStages,
                openSink: @escaping (SinkConfig, SourceInfo, FrameSource?) throws -> FrameSink = PipelineBuilder.defaultOpenSink) {
        self.openSource = openSource
        self.makeStages = makeStages
        self.openSink = openSink
    }

    /// Checks the config, opens the source, builds the stages, opens the sinks.
    /// On failure everything opened so far is closed/finalized again.
    public func build(_ config: PipelineConfig) throws -> BuiltPipeline {
        try Self.check(config)
        // Stages come first so the source opens in the pixel format the first
        // stage wants (they see the source's geometry later, in `prepare`).
        let stages = try makeStages(config)
        var sourceConfig = config.source
        // Cameras deliver packed formats; their default (RGB24) stays.
        if !sourceConfig.pixelFormatIsExplicit && !V4L2Probe.isDeviceURI(sourceConfig.uri) {
            sourceConfig.options.pixelFormat = stages.first.map { $0.preferredPixelFormat ?? .rgb24 } ?? .yuv420p
        }
        let source = try openSource(sourceConfig)
        var sinks: [FrameSink] = []
        do {
            // Audio is copied into the first encoded output only: the source's
            // audio channel has one reader.
            var audioTaken = false
            for sink in config.sinks {
                let encoded = VSegMedia.sinkKind(for: sink.uri) == .encoded || sink.options.container != nil
                let audioFrom: FrameSource? = encoded && !audioTaken ? source : nil
                if audioFrom != nil { audioTaken = true }
                sinks.append(try openSink(sink, source.info, audioFrom))
            }
            var options = RunnerOptions(maxFrames: config.source.options.maxFrames, fileQueueCapacity: max(1, config.runner.queue))
            options.forceLive = config.source.options.live
            return BuiltPipeline(source: source, stages: stages, sinks: sinks, runnerOptions: options)
        } catch {
            for s in sinks { try? s.finish() }
            source.close()
            throw error
        }
    }

    /// Config checks that need no I/O beyond `stat`: an input, at least one
    /// output, valid option ranges, and output directories that are writable.
    public static func check(_ config: PipelineConfig) throws {
        guard !config.source.uri.isEmpty else {
            throw PipelineError.usage("no input; pass --input URI or set source.uri in the pipeline")
        }
        guard !config.sinks.isEmpty else {
            throw PipelineError.usage("no output; pass --output PATH or add a sinks entry to the pipeline")
        }
        if config.runner.queue < 1 || config.runner.queue > 256 {
            throw PipelineError.usage("runner.queue must be 1...256, got \(config.runner.queue)")
        }
        try config.source.options.validate()
        for sink in config.sinks {
            try sink.options.validate()
            try checkWritableParent(sink.uri)
        }
    }

    /// Fails fast (before a network source waits for its sender) when an
    /// output's directory exists but cannot be written. A missing directory is
    /// left to the sink, which reports it.
    static func checkWritableParent(_ uri: String) throws {
        if uri.contains("://") { return }
        var path = uri
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        let dir: String
        if let slash = path.lastIndex(of: "/") {
            dir = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            dir = "."
        }
        var st = stat()
        guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return }
        if access(dir, W_OK) != 0 {
            throw MediaError.outputUnwritable(path: uri, reason: "directory \(dir) is not writable")
        }
    }

    // MARK: - Defaults

    public static func defaultOpenSource(_ config: SourceConfig) throws -> FrameSource {
        try VSegMedia.openSource(uri: config.uri, options: config.options)
    }

    /// `model: none` → no stages; otherwise segmentation then overlay.
    public static func defaultStages(_ config: PipelineConfig) throws -> [PipelineStage] {
        if config.model.isNone { return [] }
        return [SegmentationStage(options: config.model),
                try OverlayStage(options: config.overlay ?? OverlayOptions())]
    }

    public static func defaultOpenSink(_ sink: SinkConfig, _ info: SourceInfo, _ audioFrom: FrameSource?) throws -> FrameSink {
        try VSegMedia.openSink(path: sink.uri, source: info, options: sink.options, audioFrom: audioFrom)
    }
}
