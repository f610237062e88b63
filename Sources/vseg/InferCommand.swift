import ArgumentParser
import VSegCore
import VSegEngine
import VSegMedia
import VSegVision
import VSegPipeline
#if canImport(Glibc)
import Glibc
#endif

/// `vseg infer`: one inference from .npy inputs to out0.npy, out1.npy, ...
struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run a model once on a .npy tensor or an image and write every output as float32 .npy.",
        discussion: """
        Inputs and outputs use the model file's own layout: NHWC for TFLite, NCHW for \
        ONNX. Outputs are written as out0.npy, out1.npy, ... in the model's output order; \
        integer outputs (e.g. ArgMax) are converted to float32. Give one --input per \
        model input, in order. An input whose H/W differs from the model's re-plans the \
        model for that size.

        An image (PNG, JPEG, BMP, ... or a video, whose first frame is used) is decoded, \
        resized and normalized the way the model's descriptor says (built-in MediaPipe \
        models, a sidecar MODEL.vseg.yaml, or RGB in [0, 1] stretched to the model's \
        size) and written as input0.npy next to the outputs, so the run can be repeated.

        --precision int8 runs the model through the INT8 executor with its calibration \
        table (see --qtable and vseg calibrate); inputs and outputs stay float32.
        """)

    @Option(help: ArgumentHelp("Model file (.tflite or .onnx).", valueName: "path"))
    var model: String

    @Option(help: ArgumentHelp("Input tensor as .npy (repeat for several inputs), or one image.", valueName: "file.npy|image"))
    var input: [String] = []

    @Option(name: .customLong("output-dir"), help: ArgumentHelp("Directory for out<i>.npy (created if missing).", valueName: "dir"))
    var outputDir: String

    @Option(help: ArgumentHelp("Worker threads (default: one per core).", valueName: "n"))
    var threads: Int?

    @OptionGroup var precision: PrecisionOptions

    func validate() throws {
        try precision.validateStandalone()
        if input.isEmpty { throw ValidationError("--input is required (a .npy file per model input)") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1, got \(t)") }
        if input.count > 1, let i = input.first(where: { !Self.isNPY($0) }) {
            throw ValidationError("--input \(i): an image can only be the single input of a one-input model; give .npy tensors for several inputs")
        }
    }

    static func isNPY(_ path: String) -> Bool { path.lowercased().hasSuffix(".npy") }

    func run() throws {
        let m = try Model.load(path: model)
        let image = input.count == 1 && !Self.isNPY(input[0]) ? input[0] : nil
        let (session, table) = try precision.session(m, modelPath: model, threads: threads ?? 0, input: image)
        if let table, let q = session.quantizationReport {
            fputs("info: int8 with \(table): \(q.int8Nodes) nodes INT8, \(q.fp32Nodes) FP32\n", stderr)
        }
        if let image {
            try fillFromImage(image, session)
            try session.run()
            try writeOutputs(session)
            return
        }
        guard input.count == session.inputCount else {
            throw EngineError.inputMismatch(detail: "\(input.count) --input files given, \(model) has \(session.inputCount) inputs")
        }
        var converted: [[Float]] = [], shapes: [[Int]] = []
        for (i, path) in input.enumerated() {
            let arr = try NPY.read(path: path)
            let io = session.graph.inputs[i]
            let (data, shape) = toInternal(arr.floats, shape: arr.shape, toSource: io.toSourceLayout)
            guard shape.count == session.inputShape(i).count else {
                throw EngineError.inputMismatch(detail: "\(path) has shape \(arr.shape), input \(io.name) needs rank \(session.inputShape(i).count)")
            }
            converted.append(data); shapes.append(shape)
        }
        if shapes != (0 ..< session.inputCount).map(session.inputShape) { try session.reshape(inputShapes: shapes) }
        for i in 0 ..< session.inputCount {
            let buf = session.input(i)
            for j in 0 ..< buf.count { buf[j] = converted[i][j] }
        }
        try session.run()
        try writeOutputs(session)
    }

    /// Decodes `path`, pre-processes it per the model's descriptor into input 0,
    /// and saves that tensor (file layout) as input0.npy.
    private func fillFromImage(_ path: String, _ session: Session) throws {
        guard session.inputCount == 1 else {
            throw EngineError.inputMismatch(detail: "\(model) has \(session.inputCount) inputs; an image can feed only a one-input model, give one .npy per input")
        }
        let shape = session.inputShape(0)
        guard shape.count == 4, shape[0] == 1, shape[3] == 3, shape[1] > 0, shape[2] > 0 else {
            throw EngineError.inputMismatch(detail: "\(model) input has shape \(shape); an image needs an RGB input [1, H, W, 3]; give a .npy instead")
        }
        var options = SourceOptions()
        options.pixelFormat = .rgb24
        let source = try openSource(uri: path, options: options)
        defer { source.close() }
        guard let frame = try source.nextFrame() else {
            throw EngineError.inputMismatch(detail: "\(path): no image could be decoded; give a PNG/JPEG or a .npy")
        }
        var spec = descriptor(for: session).input
        spec.layout = .nhwc  // the engine's own layout; input0.npy is permuted to the file's below
        let pre = try Preprocessor(sourceWidth: frame.width, sourceHeight: frame.height,
                                   modelWidth: shape[2], modelHeight: shape[1], input: spec, model: model)
        let buf = session.input(0)
        try pre.run(frame.buffer, output: buf.baseAddress!)
        try makeDirectory(outputDir)
        var values = Array(buf), fileShape = shape
        if let p = session.graph.inputs[0].toSourceLayout {
            values = permute(values, shape: shape, perm: p); fileShape = p.map { shape[$0] }
        }
        let out = outputDir + "/input0.npy"
        try values.withUnsafeBufferPointer { try NPY.write(shape: fileShape, floats: $0, to: out) }
        print("\(out)  \(session.graph.inputs[0].name)  [\(fileShape.map(String.init).joined(separator: ", "))]  from \(path)")
    }

    /// The built-in descriptor whose file name matches, else the sidecar, else defaults.
    private func descriptor(for session: Session) -> ModelDescriptor {
        let base = model.split(separator: "/").last.map(String.init) ?? model
        if let d = BuiltinModels.all.first(where: { $0.file == base }) { return d }
        if let side = ModelResolver.sidecar(for: model),
           let d = try? SegmentationStage.decodeSidecar(side) { return d }
        return ModelDescriptor.inferred(name: model, inputShape: session.inputShape(0),
                                        outputShapes: (0 ..< session.outputCount).map { session.outputShape($0) },
                                        activated: ModelDescriptor.endsInActivation(session.graph))
    }

    private func writeOutputs(_ session: Session) throws {
        try makeDirectory(outputDir)
        for o in 0 ..< session.outputCount {
            let (values, shape) = outputInSourceLayout(session, o)
            let path = outputDir + "/out\(o).npy"
            try values.withUnsafeBufferPointer { try NPY.write(shape: shape, floats: $0, to: path) }
            print("\(path)  \(session.graph.outputs[o].name)  [\(shape.map(String.init).joined(separator: ", "))]")
        }
    }
}

/// Output `o` as float32, permuted to the file's layout.
func outputInSourceLayout(_ s: Session, _ o: Int) -> ([Float], [Int]) {
    let shape = s.outputShape(o)
    let values: [Float]
    if s.outputDType(o) == .float32 {
        values = Array(s.output(o))
    } else {
        let raw = s.outputRaw(o)
        let n = shape.reduce(1, *)
        switch s.outputDType(o) {
        case .int64: values = (0 ..< n).map { Float(raw.load(fromByteOffset: $0 * 8, as: Int64.self)) }
        case .int32: values = (0 ..< n).map { Float(raw.load(fromByteOffset: $0 * 4, as: Int32.self)) }
        case .uint8, .bool: values = (0 ..< n).map { Float(raw[$0]) }
        case .int8: values = (0 ..< n).map { Float(Int8(bitPattern: raw[$0])) }
        default: values = [Float](repeating: .nan, count: n)
        }
    }
    guard let p = s.graph.outputs[o].toSourceLayout else { return (values, shape) }
    return (permute(values, shape: shape, perm: p), p.map { shape[$0] })
}

/// A file-layout tensor to the internal layout: internal axis p[j] is file axis j.
func toInternal(_ data: [Float], shape: [Int], toSource p: [Int]?) -> ([Float], [Int]) {
    guard let p, p.count == shape.count else { return (data, shape) }
    var inverse = [Int](repeating: 0, count: p.count)
    for (j, a) in p.enumerated() { inverse[a] = j }
    return (permute(data, shape: shape, perm: inverse), inverse.map { shape[$0] })
}

/// out axis k = in axis perm[k].
func permute(_ data: [Float], shape: [Int], perm: [Int]) -> [Float] {
    let outShape = perm.map { shape[$0] }
    var inStrides = [Int](repeating: 1, count: shape.count)
    for i in stride(from: shape.count - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
    let src = perm.map { inStrides[$0] }
    var out = [Float](repeating: 0, count: data.count)
    var idx = [Int](repeating: 0, count: shape.count)
    for o in 0 ..< data.count {
        var off = 0
        for k in 0 ..< idx.count { off += idx[k] * src[k] }
        out[o] = data[off]
        var k = idx.count - 1
        while k >= 0 { idx[k] += 1; if idx[k] < outShape[k] { break }; idx[k] = 0; k -= 1 }
    }
    return out
}

/// Errors writing infer/bench results.
enum CommandOutputError: UserFacingError {
    /// The output directory could not be created.
    case cannotCreateDirectory(path: String, reason: String)

    var description: String {
        switch self {
        case let .cannotCreateDirectory(path, reason):
            return "\(path): cannot create output directory (\(reason)); choose a writable --output-dir"
        }
    }
    var exitCode: VSegCore.ExitCode { .output }
}

func makeDirectory(_ path: String) throws {
    var st = stat()
    if stat(path, &st) == 0 { return }
    if mkdir(path, 0o755) != 0 {
        throw CommandOutputError.cannotCreateDirectory(path: path, reason: String(cString: strerror(errno)))
    }
}
