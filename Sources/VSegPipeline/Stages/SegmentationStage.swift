#if canImport(Glibc)
import Glibc
#endif
import VSegCore
import VSegEngine
import VSegMedia
import VSegVision
import Yams

/// Runs a segmentation model on every frame.
///
/// - Consumes: `packet.frame` in rgb24 (or bgr24).
/// - Produces: `packet.segmentation`: the model-resolution `probability`
///   (and `labels` for class models) plus the source-resolution maps
///   `sourceProbability` (bilinear, letterbox undone, before any threshold)
///   and `sourceLabels` (thresholded mask, or class ids).
/// - Options (`SegmentationOptions`, the pipeline's `model:` block):
///   `name` (built-in name or .tflite/.onnx path), `threads`, `threshold`,
///   `resize` (override the descriptor's stretch/letterbox), `output`
///   (override which output is the mask), `smoothing` (0...0.99, EMA weight
///   of the previous frame's mask against flicker; 0 = off), `precision`
///   (fp32 or int8) and `qtable` (the INT8 calibration table; default: found
///   by `QuantTableLocator`).
///
/// ```yaml
/// model:
///   name: selfie          # or models/my_fcn.onnx (+ optional models/my_fcn.vseg.yaml)
///   threads: 2
///   threshold: 0.5
///   resize: stretch
///   smoothing: 0.3
///   precision: int8       # needs calibration/selfie_segmentation.qtable (vseg calibrate)
///   qtable: calibration/selfie_segmentation.qtable
/// ```
///
/// `prepare` resolves the model (see `ModelResolver`), picks its descriptor
/// (given > sidecar > built-in > inferred FCN defaults), loads the model and a
/// session for the source size and builds the pre/post-processing tables. For
/// `precision: int8` it loads the calibration table first (checked against the
/// model's sha256) and builds an INT8 session; the session quantizes its float
/// input and dequantizes its outputs, so pre- and post-processing are the same
/// for both precisions.
/// `process` allocates nothing in steady state: results come from a pool that
/// reuses a result once no packet holds it.
public final class SegmentationStage: PipelineStage {
    public let options: SegmentationOptions
    public var name: String { "segmentation" }
    public var preferredPixelFormat: PixelFormat? { .rgb24 }

    /// The descriptor in use (after `prepare`).
    public private(set) var descriptor: ModelDescriptor?
    /// The resolved model file (after `prepare`).
    public private(set) var modelPath: String?
    public private(set) var session: Session?
    /// The calibration table an INT8 session was built with (after `prepare`; nil for fp32).
    public private(set) var quantTablePath: String?
    public private(set) var preprocessor: Preprocessor?
    public private(set) var decoder: MaskDecoder?
    private var pool: SegmentationResultPool?
    private var model: Model?
    private var outputIndex = 0
    private let givenDescriptor: ModelDescriptor?

    /// `descriptor` overrides every other source of model facts.
    public init(options: SegmentationOptions, descriptor: ModelDescriptor? = nil) {
        self.options = options
        self.givenDescriptor = descriptor
    }

    public func prepare(source: SourceInfo) throws {
        guard options.threshold >= 0, options.threshold <= 1 else {
            throw PipelineError.usage("model.threshold must be between 0 and 1, got \(options.threshold)")
        }
        guard options.smoothing >= 0, options.smoothing < 1 else {
            throw PipelineError.usage("model.smoothing must be in [0, 1), got \(options.smoothing)")
        }
        if let t = options.threads, t < 0 {
            throw PipelineError.usage("model.threads must be 0 (one per core) or more, got \(t)")
        }
        if options.qtable != nil, options.precision != .int8 {
            throw PipelineError.usage("model.qtable is only used with precision int8; set model.precision: int8 (--precision int8) or drop the table")
        }
        let resolved = try ModelResolver.resolve(options.name)
        modelPath = resolved.path
        var d = givenDescriptor ?? resolved.builtin
        if d == nil, let side = resolved.sidecarPath { d = try Self.decodeSidecar(side) }
        var m = try Model.load(path: resolved.path)
        if let fixed = try Self.fixedInputShapes(m, descriptor: d, source: source) {
            m = try Model.load(path: resolved.path, inputShapes: fixed)
        }
        let s = try makeSession(m, modelPath: resolved.path, input: source.uri)
        guard s.inputCount >= 1 else {
            throw VisionError.descriptorMismatch(model: resolved.path, detail: "the model has no inputs")
        }
        let inShape = s.inputShape(0)
        guard inShape.count == 4, inShape[0] == 1, inShape[3] == 3 else {
            throw VisionError.descriptorMismatch(model: resolved.path, detail: "input 0 has shape \(inShape); segmentation needs one RGB image [1, H, W, 3]")
        }
        let desc = d ?? ModelDescriptor.inferred(name: resolved.path, inputShape: inShape,
                                                  outputShapes: (0..<s.outputCount).map { s.outputShape($0) },
                                                  activated: ModelDescriptor.endsInActivation(s.graph))
        if let h = desc.input.height, let w = desc.input.width, h != inShape[1] || w != inShape[2] {
            throw VisionError.descriptorMismatch(model: resolved.path, detail: "descriptor says input \(w)x\(h), the model takes \(inShape[2])x\(inShape[1])")
        }
        var spec: OutputSpec
        if let i = options.output {
            guard i >= 0, i < s.outputCount else {
                throw VisionError.descriptorMismatch(model: resolved.path, detail: "output \(i) requested, the model has \(s.outputCount)")
            }
            spec = desc.output(i) ?? OutputSpec(index: i, kind: s.outputShape(i).last == 1 ? .mask : .classes, activation: .sigmoid)
        } else {
            guard let o = desc.segmentationOutput else {
                throw VisionError.descriptorMismatch(model: desc.name, detail: "no mask or classes output; it cannot drive segmentation (try a selfie or FCN model)")
            }
            spec = o
        }
        guard spec.index < s.outputCount else {
            throw VisionError.descriptorMismatch(model: desc.name, detail: "descriptor names output \(spec.index), the model has \(s.outputCount)")
        }
        if s.outputDType(spec.index) != .float32 {
            throw VisionError.descriptorMismatch(model: desc.name, detail: "output \(spec.index) is \(s.outputDType(spec.index).rawValue), not float32")
        }
        if spec.kind == .classes, spec.activation == .none, desc.segmentationOutput == nil { spec.activation = .softmax }
        var input = desc.input
        if let r = options.resize { input.resize = r }
        model = m
        session = s
        descriptor = desc
        outputIndex = spec.index
        try configure(width: source.width, height: source.height, input: input, spec: spec, modelName: desc.name)
    }

    /// A session in the asked precision (the table for INT8: see `quantTable`).
    private func makeSession(_ m: Model, modelPath: String, input: String) throws -> Session {
        guard let (table, path) = try Self.quantTable(options, modelPath: modelPath, input: input) else {
            quantTablePath = nil
            return try Session(model: m, threads: options.threads ?? 0)
        }
        let s = try Session(model: m, threads: options.threads ?? 0, precision: .int8(table.tensorQuantization))
        quantTablePath = path
        return s
    }

    /// For `precision: int8`, the calibration table and its path: `options.qtable`,
    /// else `<model stem>.qtable` where `QuantTableLocator` looks, checked against
    /// the model file's sha256. Nil for fp32. `modelPath` is the resolved model
    /// (nil: resolve `options.name`); `options.name` (what the user typed) and
    /// `input` only complete the `vseg calibrate` command of a missing-table error.
    /// Commands call this before opening outputs, so a missing table fails first.
    public static func quantTable(_ options: SegmentationOptions, modelPath: String? = nil, input: String?) throws
        -> (table: QuantTable, path: String)? {
        guard options.precision == .int8 else { return nil }
        let path = try modelPath ?? ModelResolver.resolve(options.name).path
        let given = input.flatMap { $0.isEmpty ? nil : $0 }
        return try QuantTableLocator.load(modelPath: path, explicit: options.qtable, model: options.name, input: given)
    }

    /// (Re)builds the geometry-dependent tables. Allocates; runs at prepare and on a frame-size change.
    private func configure(width: Int, height: Int, input: InputSpec, spec: OutputSpec, modelName: String) throws {
        guard let s = session else { return }
        let inShape = s.inputShape(0)
        let p = try Preprocessor(sourceWidth: width, sourceHeight: height, modelWidth: inShape[2], modelHeight: inShape[1],
                                 input: input, model: modelName)
        let d = try MaskDecoder(transform: p.transform, outputShape: s.outputShape(spec.index), spec: spec,
                                threshold: options.threshold, smoothing: options.smoothing, model: modelName)
        preprocessor = p
        decoder = d
        pool = SegmentationResultPool { d.makeResult() }
    }

    public func process(_ packet: inout Packet) throws {
        guard let s = session, var p = preprocessor, var d = decoder, var pool = pool else {
            preconditionFailure("SegmentationStage.process before prepare")
        }
        let frame = packet.frame
        guard frame.format == .rgb24 || frame.format == .bgr24 else {
            throw VisionError.unsupportedPixelFormat(stage: name, format: frame.format)
        }
        if frame.width != p.transform.sourceWidth || frame.height != p.transform.sourceHeight {
            var input = descriptor!.input
            if let r = options.resize { input.resize = r }
            try configure(width: frame.width, height: frame.height, input: input, spec: d.spec, modelName: descriptor!.name)
            p = preprocessor!; d = decoder!; pool = self.pool!
        }
        try p.run(frame.buffer, output: s.input(0).baseAddress!)
        try s.run()
        let result = pool.take()
        d.decode(s.output(outputIndex), into: result)
        packet.segmentation = result
    }

    /// Decodes a `.vseg.yaml`/`.vseg.json` sidecar into a descriptor.
    public static func decodeSidecar(_ path: String) throws -> ModelDescriptor {
        let text = String(decoding: try FileBytes.read(path, limit: 1 << 20), as: UTF8.self)
        do {
            return try YAMLDecoder().decode(ModelDescriptor.self, from: text)
        } catch {
            throw VisionError.invalidDescriptor(model: path, detail: describe(error))
        }
    }

    /// "outputs[0].kind: Cannot initialize Kind from invalid String value blob".
    static func describe(_ error: Error) -> String {
        guard let d = error as? DecodingError else {
            return "\(error)".split(separator: "\n").first.map(String.init) ?? "unreadable"
        }
        let ctx: DecodingError.Context
        switch d {
        case .dataCorrupted(let c), .keyNotFound(_, let c), .typeMismatch(_, let c), .valueNotFound(_, let c): ctx = c
        @unknown default: return "\(d)"
        }
        var path = ""
        for k in ctx.codingPath {
            if let i = k.intValue { path += "[\(i)]" } else { path += (path.isEmpty ? "" : ".") + k.stringValue }
        }
        return path.isEmpty ? ctx.debugDescription : "\(path): \(ctx.debugDescription)"
    }

    /// For a model with a dynamic H/W: the input shape (file layout) to load it
    /// with — the descriptor's size, else the source size rounded down to a
    /// multiple of 32 (at least 32). Nil when the model's input is fixed.
    static func fixedInputShapes(_ m: Model, descriptor: ModelDescriptor?, source: SourceInfo) throws -> [String: [Int]]? {
        let g = m.sourceGraph
        guard let io = g.inputs.first else { return nil }
        let shape = g.tensors[io.tensor].shape
        guard shape.count == 4, shape[1] < 0 || shape[2] < 0 else { return nil }
        let h = descriptor?.input.height ?? max(32, source.height / 32 * 32)
        let w = descriptor?.input.width ?? max(32, source.width / 32 * 32)
        let nhwc = [1, h, w, shape[3] > 0 ? shape[3] : 3]
        var file = nhwc
        if let perm = io.toSourceLayout, perm.count == 4 { file = perm.map { nhwc[$0] } }
        return [io.name: file]
    }
}

/// The `model:` block: which model and how to run it. Also decodes from a
/// plain string (`model: selfie`).
public struct SegmentationOptions: Codable, Sendable, Equatable {
    /// Built-in name ("selfie", "selfie_landscape", "pose") or a .tflite/.onnx path.
    public var name: String
    /// Inference threads; nil = one per core.
    public var threads: Int?
    /// Foreground threshold for `sourceLabels` of mask models.
    public var threshold: Float
    /// Override of the descriptor's resize policy.
    public var resize: ResizePolicy?
    /// Override of which output holds the mask/classes.
    public var output: Int?
    /// Temporal EMA weight of the previous mask (0 = off, up to 0.99).
    public var smoothing: Float
    /// Arithmetic of the session.
    public var precision: InferencePrecision
    /// The INT8 calibration table; nil = `<model stem>.qtable` where `QuantTableLocator` looks.
    public var qtable: String?

    public init(name: String, threads: Int? = nil, threshold: Float = 0.5, resize: ResizePolicy? = nil, output: Int? = nil,
                smoothing: Float = 0, precision: InferencePrecision = .fp32, qtable: String? = nil) {
        self.name = name; self.threads = threads; self.threshold = threshold; self.resize = resize; self.output = output
        self.smoothing = smoothing; self.precision = precision; self.qtable = qtable
    }

    enum CodingKeys: String, CodingKey { case name, threads, threshold, resize, output, smoothing, precision, qtable }

    public init(from decoder: Decoder) throws {
        if let s = try? decoder.singleValueContainer().decode(String.self) {
            self.init(name: s)
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // A block without a name (e.g. only `--set model.threads=2`) means "none" until --model names one.
        self.init(name: try c.decodeIfPresent(String.self, forKey: .name) ?? "none",
                  threads: try c.decodeIfPresent(Int.self, forKey: .threads),
                  threshold: try c.decodeIfPresent(Float.self, forKey: .threshold) ?? 0.5,
                  resize: try c.decodeIfPresent(ResizePolicy.self, forKey: .resize),
                  output: try c.decodeIfPresent(Int.self, forKey: .output),
                  smoothing: try c.decodeIfPresent(Float.self, forKey: .smoothing) ?? 0,
                  precision: try c.decodeIfPresent(InferencePrecision.self, forKey: .precision) ?? .fp32,
                  qtable: try c.decodeIfPresent(String.self, forKey: .qtable))
    }
}

/// `model.precision`: the arithmetic a segmentation session runs in.
public enum InferencePrecision: String, Codable, Sendable, CaseIterable {
    /// Float32 throughout.
    case fp32
    /// 8-bit activations and weights with a calibration table (see `QuantTableLocator`).
    case int8

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let p = InferencePrecision(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected \(Self.choices)"))
        }
        self = p
    }

    /// "fp32|int8", for help and error texts.
    public static var choices: String { allCases.map(\.rawValue).joined(separator: "|") }
}
