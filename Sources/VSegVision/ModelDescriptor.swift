import VSegCore

/// Everything vseg needs to know about a model beyond its graph: how to turn a
/// frame into its input tensor and what each output tensor means.
///
/// Built-in descriptors for the MediaPipe models live in `BuiltinModels`. A
/// user's own model can carry a sidecar next to it (`model.onnx` →
/// `model.vseg.yaml`, `.vseg.yml` or `.vseg.json`); its content decodes into
/// this struct (`SegmentationStage.decodeSidecar`, with Yams; every key except
/// `outputs[].index` and `outputs[].kind` is optional):
///
/// ```yaml
/// name: my_fcn
/// input:
///   height: 320          # default: from the model
///   width: 480
///   channels: rgb        # rgb | bgr
///   range: [0, 1]        # pixel 0 -> 0, 255 -> 1 ...
///   mean: [0.485, 0.456, 0.406]   # ... then (v - mean) / std, if given
///   std: [0.229, 0.224, 0.225]
///   resize: stretch      # stretch | letterbox
/// outputs:
///   - index: 0
///     kind: classes      # mask | classes | heatmaps | landmarks | detection_boxes | detection_scores | score | world_landmarks | other
///     activation: none   # none (already probabilities) | sigmoid | softmax (logits)
///     labels: [background, aeroplane, ...]
///     palette: voc       # voc | cityscapes | generated | a list of [r, g, b]
/// ```
///
/// `layout` keys (input and outputs) describe tensors as the engine holds
/// them. vseg's engine keeps rank-4 tensors NHWC whatever the file's layout
/// (ONNX NCHW is converted at import), so leave them at the default `nhwc`;
/// `nchw` exists for tensors from other runtimes.
public struct ModelDescriptor: Codable, Sendable, Equatable {
    /// Canonical name ("selfie_segmentation").
    public var name: String
    /// Other names the CLI accepts ("selfie").
    public var aliases: [String]
    /// File name under the models directory, for built-ins.
    public var file: String?
    public var input: InputSpec
    public var outputs: [OutputSpec]
    /// One line for `vseg inspect` and docs.
    public var summary: String?
    /// Where the facts in this descriptor come from (graph config, docs).
    public var source: String?

    public init(name: String, aliases: [String] = [], file: String? = nil, input: InputSpec,
                outputs: [OutputSpec], summary: String? = nil, source: String? = nil) {
        self.name = name; self.aliases = aliases; self.file = file; self.input = input
        self.outputs = outputs; self.summary = summary; self.source = source
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? "model"
        aliases = try c.decodeIfPresent([String].self, forKey: .aliases) ?? []
        file = try c.decodeIfPresent(String.self, forKey: .file)
        input = try c.decodeIfPresent(InputSpec.self, forKey: .input) ?? InputSpec()
        outputs = try c.decodeIfPresent([OutputSpec].self, forKey: .outputs) ?? []
        summary = try c.decodeIfPresent(String.self, forKey: .summary)
        source = try c.decodeIfPresent(String.self, forKey: .source)
    }

    /// The output a segmentation stage uses: the first `mask` or `classes` output.
    public var segmentationOutput: OutputSpec? {
        outputs.first { $0.kind == .mask || $0.kind == .classes }
    }

    /// The spec for output `index`, if the descriptor declares one.
    public func output(_ index: Int) -> OutputSpec? { outputs.first { $0.index == index } }
}

/// Memory layout of an image-like tensor.
public enum TensorLayout: String, Codable, Sendable, Equatable { case nhwc, nchw }

/// Order of the colour channels the model expects.
public enum ChannelOrder: String, Codable, Sendable, Equatable { case rgb, bgr }

/// How a frame of another aspect ratio is fitted into the model's input.
public enum ResizePolicy: String, Codable, Sendable, Equatable, CaseIterable {
    /// Scale each axis independently to fill the input (aspect ratio changes).
    case stretch
    /// Keep the aspect ratio, centre, pad the rest with black (MediaPipe's keep_aspect_ratio).
    case letterbox
}

/// How to build the input tensor.
public struct InputSpec: Codable, Sendable, Equatable {
    /// Input height/width; nil takes them from the model (required for dynamic models).
    public var height: Int?
    public var width: Int?
    public var layout: TensorLayout
    public var channels: ChannelOrder
    /// Value range the pixel range 0...255 maps to, linearly.
    public var range: [Float]
    /// Optional per-channel mean/std applied after `range`: (v - mean) / std.
    public var mean: [Float]?
    public var std: [Float]?
    public var resize: ResizePolicy

    public init(height: Int? = nil, width: Int? = nil, layout: TensorLayout = .nhwc, channels: ChannelOrder = .rgb,
                range: [Float] = [0, 1], mean: [Float]? = nil, std: [Float]? = nil, resize: ResizePolicy = .stretch) {
        self.height = height; self.width = width; self.layout = layout; self.channels = channels
        self.range = range; self.mean = mean; self.std = std; self.resize = resize
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        height = try c.decodeIfPresent(Int.self, forKey: .height)
        width = try c.decodeIfPresent(Int.self, forKey: .width)
        layout = try c.decodeIfPresent(TensorLayout.self, forKey: .layout) ?? .nhwc
        channels = try c.decodeIfPresent(ChannelOrder.self, forKey: .channels) ?? .rgb
        range = try c.decodeIfPresent([Float].self, forKey: .range) ?? [0, 1]
        mean = try c.decodeIfPresent([Float].self, forKey: .mean)
        std = try c.decodeIfPresent([Float].self, forKey: .std)
        resize = try c.decodeIfPresent(ResizePolicy.self, forKey: .resize) ?? .stretch
    }

    /// Per-channel affine map from a 0...255 pixel to the model value: `v = p * scale + offset`,
    /// in the model's channel order. Throws if range/mean/std are malformed.
    public func normalization(model: String) throws -> (scale: [Float], offset: [Float]) {
        guard range.count == 2, range[0].isFinite, range[1].isFinite, range[0] != range[1] else {
            throw VisionError.invalidDescriptor(model: model, detail: "input.range must be two different numbers [min, max]")
        }
        var scale = [Float](repeating: (range[1] - range[0]) / 255, count: 3)
        var offset = [Float](repeating: range[0], count: 3)
        if mean != nil || std != nil {
            let m = mean ?? [0, 0, 0], s = std ?? [1, 1, 1]
            guard m.count == 3, s.count == 3, s.allSatisfy({ $0 != 0 && $0.isFinite }) else {
                throw VisionError.invalidDescriptor(model: model, detail: "input.mean and input.std need 3 values each, std non-zero")
            }
            for c in 0..<3 {
                scale[c] /= s[c]
                offset[c] = (offset[c] - m[c]) / s[c]
            }
        }
        return (scale, offset)
    }
}

/// What one output tensor means.
public struct OutputSpec: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, Equatable {
        /// One channel, foreground probability (after `activation`).
        case mask
        /// C channels, one score per class; the label is the argmax.
        case classes
        /// K channels of keypoint heatmaps.
        case heatmaps
        /// Flat list of landmarks (see `note` for the per-landmark fields).
        case landmarks
        /// World-space landmarks (metres).
        case worldLandmarks = "world_landmarks"
        /// SSD-style box/keypoint regressors per anchor.
        case detectionBoxes = "detection_boxes"
        /// Per-anchor scores.
        case detectionScores = "detection_scores"
        /// A single score (e.g. pose presence).
        case score
        case other
    }

    /// What turns the raw tensor into probabilities.
    public enum Activation: String, Codable, Sendable, Equatable {
        /// Already probabilities (the model ends in a sigmoid/softmax).
        case none
        /// Logits; apply a sigmoid.
        case sigmoid
        /// Logits over the channel axis; apply a softmax.
        case softmax
    }

    /// Colour table for label maps.
    public enum PaletteSpec: Codable, Sendable, Equatable {
        case voc, cityscapes, generated
        case custom([[UInt8]])

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let name = try? c.decode(String.self) {
                switch name {
                case "voc": self = .voc
                case "cityscapes": self = .cityscapes
                case "generated": self = .generated
                default:
                    throw DecodingError.dataCorruptedError(in: c, debugDescription: "palette must be voc, cityscapes, generated or a list of [r, g, b]")
                }
            } else {
                self = .custom(try c.decode([[UInt8]].self))
            }
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .voc: try c.encode("voc")
            case .cityscapes: try c.encode("cityscapes")
            case .generated: try c.encode("generated")
            case .custom(let colours): try c.encode(colours)
            }
        }
    }

    /// Position in the model's output list.
    public var index: Int
    public var kind: Kind
    public var activation: Activation
    /// Layout of image-like outputs (masks, classes, heatmaps).
    public var layout: TensorLayout
    /// Class names (`classes`) or keypoint names (`heatmaps`, `landmarks`).
    public var labels: [String]?
    public var palette: PaletteSpec?
    /// Free text: units, per-element fields, decoding hints.
    public var note: String?

    public init(index: Int, kind: Kind, activation: Activation = .none, layout: TensorLayout = .nhwc,
                labels: [String]? = nil, palette: PaletteSpec? = nil, note: String? = nil) {
        self.index = index; self.kind = kind; self.activation = activation; self.layout = layout
        self.labels = labels; self.palette = palette; self.note = note
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        index = try c.decode(Int.self, forKey: .index)
        kind = try c.decode(Kind.self, forKey: .kind)
        activation = try c.decodeIfPresent(Activation.self, forKey: .activation) ?? .none
        layout = try c.decodeIfPresent(TensorLayout.self, forKey: .layout) ?? .nhwc
        labels = try c.decodeIfPresent([String].self, forKey: .labels)
        palette = try c.decodeIfPresent(PaletteSpec.self, forKey: .palette)
        note = try c.decodeIfPresent(String.self, forKey: .note)
    }
}
