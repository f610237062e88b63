import VSegCore
#if canImport(Glibc)
import Glibc
#endif

/// A loaded model: the imported graph, plus the graph optimized for its
/// default input shapes (what `vseg inspect` shows). Sessions re-optimize for
/// their own input shapes from `sourceGraph`.
public final class Model: @unchecked Sendable {
    public let path: String
    /// The optimized graph (shapes resolved, constants folded, BN and activations
    /// fused). If the model has dynamic inputs and no shapes were given, the
    /// imported graph with unknown dims (-1).
    public let graph: Graph
    /// The graph as the importer produced it (input shapes overridden if given).
    public let sourceGraph: Graph
    /// What the passes did to produce `graph` (nil when they did not run).
    public let passReport: PassPipeline.Report?

    /// Loads a .tflite (magic "TFL3" at byte 4) or .onnx file. `inputShapes`
    /// (name -> dims in the file's layout) fixes dynamic input sizes.
    public static func load(path: String, inputShapes: [String: [Int]]? = nil) throws -> Model {
        guard access(path, R_OK) == 0 else { throw EngineError.modelNotFound(path: path) }
        var g: Graph
        if try Self.hasTFLiteMagic(path) {
            g = try TFLiteImporter.load(path: path)
            if let shapes = inputShapes { try Self.override(&g, shapes) }
        } else if path.lowercased().hasSuffix(".onnx") {
            g = try ONNXImporter.load(path: path, inputShapes: inputShapes)
        } else {
            throw EngineError.malformedModel(path: path, detail: "neither a TFLite file (no TFL3 magic) nor an .onnx file")
        }
        return try Model(graph: g, path: path)
    }

    /// Wraps a graph built in memory (tests, built-in models).
    public init(graph source: Graph, path: String = "<memory>") throws {
        self.path = path
        sourceGraph = source
        let dynamic = source.inputs.contains { source.tensors[$0.tensor].shape.contains { $0 < 0 } }
        if dynamic {
            graph = source; passReport = nil
        } else {
            let (g, r) = try PassPipeline.run(source)
            graph = g; passReport = r
        }
    }

    private static func hasTFLiteMagic(_ path: String) throws -> Bool {
        guard let f = fopen(path, "rb") else { throw EngineError.modelNotFound(path: path) }
        defer { fclose(f) }
        var head = [UInt8](repeating: 0, count: 8)
        let n = fread(&head, 1, 8, f)
        return n == 8 && head[4] == 0x54 && head[5] == 0x46 && head[6] == 0x4C && head[7] == 0x33
    }

    /// Applies name -> shape (file layout) overrides to the graph inputs.
    private static func override(_ g: inout Graph, _ shapes: [String: [Int]]) throws {
        for (name, dims) in shapes {
            guard let io = g.inputs.first(where: { $0.name == name }) else {
                throw EngineError.inputMismatch(detail: "no input named \(name); inputs are \(g.inputs.map(\.name))")
            }
            var inner = dims
            if let p = io.toSourceLayout {
                guard p.count == dims.count else { throw EngineError.inputMismatch(detail: "\(name) needs \(p.count) dims, got \(dims)") }
                for (j, src) in p.enumerated() { inner[src] = dims[j] }
            }
            guard inner.count == g.tensors[io.tensor].shape.count else {
                throw EngineError.inputMismatch(detail: "\(name) has rank \(g.tensors[io.tensor].shape.count), got \(dims)")
            }
            g.tensors[io.tensor].shape = inner
        }
    }
}
