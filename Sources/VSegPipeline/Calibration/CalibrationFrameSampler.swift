import VSegCore
import VSegEngine
import VSegMedia
import VSegVision

/// The frames calibration runs on, turned into the model's input tensor
/// exactly as `SegmentationStage` does it.
///
/// - Model: a built-in name or a .tflite/.onnx path, resolved by
///   `ModelResolver`; the descriptor is the built-in one, else the sidecar
///   (`model.vseg.yaml`), else `ModelDescriptor.inferred` — the same order as
///   the stage. A model with a dynamic H/W is fixed to the descriptor's size,
///   else to the first input's size rounded down to a multiple of 32.
/// - Inputs: anything `openSource` reads (video files, image directories and
///   globs — FFmpeg's glob lists them sorted — URLs, cameras), read in the
///   order given, decoded to rgb24. Frames 0, K, 2K, ... of each input are
///   used (`every` = K), until `maxFrames` frames in total.
/// - Each frame goes through a `Preprocessor` built for its size (resize,
///   stretch/letterbox, normalization, layout), so the tensor is byte for byte
///   what the segmentation stage would feed the model.
public final class CalibrationFrameSampler {
    public let modelName: String
    /// The resolved model file.
    public let modelPath: String
    /// The model, with dynamic input sizes fixed.
    public let model: Model
    public let inputSpec: InputSpec
    public let inputs: [String]
    public let every: Int
    public let maxFrames: Int
    /// Internal-layout shape of the model input ([1, H, W, 3]).
    public let inputShape: [Int]
    private var first: FrameSource?
    private var preprocessor: Preprocessor?

    public init(model name: String, inputs: [String], every: Int = 1, maxFrames: Int) throws {
        guard !inputs.isEmpty else { throw PipelineError.usage("no input; pass --input VIDEO|DIR|GLOB") }
        guard every >= 1 else { throw PipelineError.usage("--every must be at least 1, got \(every)") }
        guard maxFrames >= 1 else { throw PipelineError.usage("--frames must be at least 1, got \(maxFrames)") }
        modelName = name
        self.inputs = inputs
        self.every = every
        self.maxFrames = maxFrames
        let resolved = try ModelResolver.resolve(name)
        modelPath = resolved.path
        var d = resolved.builtin
        if d == nil, let side = resolved.sidecarPath { d = try SegmentationStage.decodeSidecar(side) }
        let source = try Self.open(inputs[0])
        var m = try Model.load(path: resolved.path)
        if let fixed = try SegmentationStage.fixedInputShapes(m, descriptor: d, source: source.info) {
            m = try Model.load(path: resolved.path, inputShapes: fixed)
        }
        let g = m.graph
        guard let io = g.inputs.first else {
            source.close()
            throw VisionError.descriptorMismatch(model: resolved.path, detail: "the model has no inputs")
        }
        let shape = g.tensors[io.tensor].shape
        guard shape.count == 4, shape[0] == 1, shape[3] == 3 else {
            source.close()
            throw VisionError.descriptorMismatch(model: resolved.path, detail: "input 0 has shape \(shape); calibration feeds one RGB image [1, H, W, 3]")
        }
        let desc = d ?? ModelDescriptor.inferred(name: resolved.path, inputShape: shape,
                                                  outputShapes: g.outputs.map { g.tensors[$0.tensor].shape },
                                                  activated: ModelDescriptor.endsInActivation(g))
        if let h = desc.input.height, let w = desc.input.width, h != shape[1] || w != shape[2] {
            source.close()
            throw VisionError.descriptorMismatch(model: resolved.path, detail: "descriptor says input \(w)x\(h), the model takes \(shape[2])x\(shape[1])")
        }
        model = m
        inputShape = shape
        inputSpec = desc.input
        first = source
    }

    deinit { first?.close() }

    static func open(_ uri: String) throws -> FrameSource {
        var so = SourceOptions()
        so.pixelFormat = .rgb24
        return try openSource(uri: uri, options: so)
    }

    /// Reads the inputs; for each sampled frame writes the model input into
    /// `destination()` and calls `body(uri, frameIndex)`. Returns the frames used.
    /// Throws `CalibrationError.noFrames` when no input gave a frame.
    @discardableResult
    public func run(into destination: () -> UnsafeMutableBufferPointer<Float>,
                    _ body: (_ uri: String, _ frameIndex: Int) throws -> Void) throws -> Int {
        var used = 0
        inputs: for uri in inputs {
            let source: FrameSource
            if let f = first { source = f; first = nil } else { source = try Self.open(uri) }
            defer { source.close() }
            var index = 0
            while let frame = try source.nextFrame() {
                defer { index += 1; frame.buffer.recycle() }
                if index % every != 0 { continue }
                let p = try preprocessor(for: frame)
                let dst = destination()
                precondition(dst.count >= p.outputCount, "destination holds \(dst.count) floats, the model input needs \(p.outputCount)")
                try p.run(frame.buffer, output: dst.baseAddress!)
                try body(uri, index)
                used += 1
                if used >= maxFrames { break inputs }
            }
        }
        guard used > 0 else { throw CalibrationError.noFrames(inputs: inputs) }
        return used
    }

    private func preprocessor(for frame: Frame) throws -> Preprocessor {
        if let p = preprocessor, p.transform.sourceWidth == frame.width, p.transform.sourceHeight == frame.height { return p }
        let p = try Preprocessor(sourceWidth: frame.width, sourceHeight: frame.height, modelWidth: inputShape[2],
                                 modelHeight: inputShape[1], input: inputSpec, model: modelPath)
        preprocessor = p
        return p
    }
}
