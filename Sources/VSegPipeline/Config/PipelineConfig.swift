import VSegCore
import VSegMedia

/// A whole pipeline as written in `pipelines/*.yaml`:
///
/// ```yaml
/// source:                 # uri + any SourceOptions key
///   uri: samples/bikes.mp4
///   maxFrames: 100
/// model: none             # none | a built-in model name | a .tflite/.onnx path | a SegmentationOptions block
/// overlay:                # OverlayOptions (used when there is a model)
///   alpha: 0.5
/// sinks:                  # uri + any SinkOptions key
///   - uri: out/bikes.mp4
///     preset: veryfast
///     crf: 23
/// ```
///
/// Keys are the option structs' property names. An unknown key or a value of
/// the wrong type is an error naming the file and line (see `PipelineLoader`).
public struct PipelineConfig: Decodable, Sendable {
    public var source: SourceConfig
    /// The segmentation model (`SegmentationStage`'s options); `.none` for no model.
    public var model: SegmentationOptions
    /// How the result is drawn (`OverlayStage`'s options); defaults apply when nil.
    public var overlay: OverlayOptions?
    public var sinks: [SinkConfig]
    public var runner: RunnerConfig

    public init(source: SourceConfig, model: SegmentationOptions = .none, overlay: OverlayOptions? = nil,
                sinks: [SinkConfig], runner: RunnerConfig = RunnerConfig()) {
        self.source = source; self.model = model; self.overlay = overlay; self.sinks = sinks; self.runner = runner
    }

    enum CodingKeys: String, CodingKey { case source, model, overlay, sinks, runner }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decodeIfPresent(SourceConfig.self, forKey: .source) ?? SourceConfig(uri: "")
        model = try c.decodeIfPresent(SegmentationOptions.self, forKey: .model) ?? .none
        overlay = try c.decodeIfPresent(OverlayOptions.self, forKey: .overlay)
        sinks = try c.decodeIfPresent([SinkConfig].self, forKey: .sinks) ?? []
        runner = try c.decodeIfPresent(RunnerConfig.self, forKey: .runner) ?? RunnerConfig()
    }
}

/// `source:` — where frames come from, plus how to open it.
public struct SourceConfig: Decodable, Sendable {
    /// File path, URL (udp://, rtsp://, http://), image pattern, or /dev/videoN.
    public var uri: String
    /// Every other key of the block (`SourceOptions` property names).
    public var options: SourceOptions
    /// The pipeline set `pixelFormat` itself. Otherwise the builder picks the
    /// format the first stage prefers, or the decoder's native 4:2:0 when
    /// there are no stages (a transcode then skips two colour conversions).
    public var pixelFormatIsExplicit: Bool

    public init(uri: String, options: SourceOptions = SourceOptions(), pixelFormatIsExplicit: Bool = false) {
        self.uri = uri; self.options = options; self.pixelFormatIsExplicit = pixelFormatIsExplicit
    }

    enum CodingKeys: String, CodingKey { case uri, pixelFormat }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        uri = try c.decodeIfPresent(String.self, forKey: .uri) ?? ""
        options = try SourceOptions(from: decoder)
        pixelFormatIsExplicit = c.contains(.pixelFormat)
    }
}

/// `sinks:` entries — where frames go, plus how to encode them.
public struct SinkConfig: Decodable, Sendable {
    /// Output path (.mp4/.mkv/.mov/.ts/.y4m/.rgb, a PNG pattern or directory) or udp://HOST:PORT.
    public var uri: String
    /// Every other key of the entry (`SinkOptions` property names).
    public var options: SinkOptions

    public init(uri: String, options: SinkOptions = SinkOptions()) { self.uri = uri; self.options = options }

    enum CodingKeys: String, CodingKey { case uri }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        uri = try c.decode(String.self, forKey: .uri)
        options = try SinkOptions(from: decoder)
    }
}

extension SegmentationOptions {
    /// `model: none` (or no model block): record/transcode without inference.
    public var isNone: Bool { name.isEmpty || name.lowercased() == "none" }
    /// No model.
    public static let none = SegmentationOptions(name: "none")
}

/// `runner:` — queueing and liveness.
public struct RunnerConfig: Decodable, Sendable, Equatable {
    /// Queue depth between threads for files.
    public var queue: Int
    /// Print per-stage stats after the summary.
    public var stats: Bool

    public init(queue: Int = 4, stats: Bool = false) { self.queue = queue; self.stats = stats }

    enum CodingKeys: String, CodingKey { case queue, stats }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        queue = try c.decodeIfPresent(Int.self, forKey: .queue) ?? 4
        stats = try c.decodeIfPresent(Bool.self, forKey: .stats) ?? false
    }
}
