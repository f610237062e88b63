import VSegCore
import VSegMedia

/// A whole pipeline as written in `pipelines/*.yaml`:
///
/// ```yaml
/// source:                 # uri + any SourceOptions key
///   uri: samples/bikes.mp4
///   maxFrames: 100
/// model: none             # none | a built-in model name | a .tflite/.onnx path
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
    public var model: ModelConfig
    public var overlay: OverlayConfig?
    public var sinks: [SinkConfig]
    public var runner: RunnerConfig

    public init(source: SourceConfig, model: ModelConfig = ModelConfig(), overlay: OverlayConfig? = nil,
                sinks: [SinkConfig], runner: RunnerConfig = RunnerConfig()) {
        self.source = source; self.model = model; self.overlay = overlay; self.sinks = sinks; self.runner = runner
    }

    enum CodingKeys: String, CodingKey { case source, model, overlay, sinks, runner }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decodeIfPresent(SourceConfig.self, forKey: .source) ?? SourceConfig(uri: "")
        model = try c.decodeIfPresent(ModelConfig.self, forKey: .model) ?? ModelConfig()
        overlay = try c.decodeIfPresent(OverlayConfig.self, forKey: .overlay)
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

    public init(uri: String, options: SourceOptions = SourceOptions()) { self.uri = uri; self.options = options }

    enum CodingKeys: String, CodingKey { case uri }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        uri = try c.decodeIfPresent(String.self, forKey: .uri) ?? ""
        options = try SourceOptions(from: decoder)
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

/// `model:` — `none` (record/transcode only), a built-in model name, or a
/// model file path. Written either as a plain string or as a block:
///
/// ```yaml
/// model: none
/// model: { name: selfie_segmentation, threads: 2 }
/// ```
public struct ModelConfig: Decodable, Sendable, Equatable {
    public var name: String
    /// Inference threads (nil: one per core).
    public var threads: Int?

    public init(name: String = "none", threads: Int? = nil) { self.name = name; self.threads = threads }

    public var isNone: Bool { name.isEmpty || name.lowercased() == "none" }

    enum CodingKeys: String, CodingKey { case name, threads }

    public init(from decoder: Decoder) throws {
        if let s = try? decoder.singleValueContainer().decode(String.self) {
            self.init(name: s)
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decodeIfPresent(String.self, forKey: .name) ?? "none",
                  threads: try c.decodeIfPresent(Int.self, forKey: .threads))
    }
}

/// `overlay:` — how a segmentation result is drawn onto the frame.
public struct OverlayConfig: Decodable, Sendable, Equatable {
    /// Blend strength of the mask colour, 0...1.
    public var alpha: Double
    /// RGB tint of the foreground.
    public var color: [UInt8]

    public init(alpha: Double = 0.5, color: [UInt8] = [0, 255, 0]) { self.alpha = alpha; self.color = color }

    enum CodingKeys: String, CodingKey { case alpha, color }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = OverlayConfig()
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha) ?? d.alpha
        color = try c.decodeIfPresent([UInt8].self, forKey: .color) ?? d.color
    }
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
