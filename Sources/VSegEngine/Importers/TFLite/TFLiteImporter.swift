import Foundation

/// Loads `.tflite` models (FlatBuffers, schema version 3) into the engine IR.
///
/// What the graph holds:
/// - subgraph 0 only; tensors keep the file's names, NHWC shapes, dtypes and
///   quantization (scale / zero_point / quantized_dimension);
/// - dimensions the file marks dynamic in `shape_signature` are -1;
/// - fp16 weights (constant -> DEQUANTIZE) and sparse weights
///   (constant -> DENSIFY [-> DEQUANTIZE]) are folded into dense float32
///   constants at import; `metadata["folded_ops"]` says how many;
/// - tensors no node or graph input/output uses are dropped, so tensor
///   indices are not the file's (names are);
/// - node names are `<tflite op name lowercased>_<operator index>`, e.g. `conv_2d_12`.
///
/// Errors: a missing/unreadable file is `modelNotFound`; anything structurally
/// wrong (bad magic, offsets or lengths outside the file, inconsistent
/// constants) is `malformedModel`; an operator vseg does not implement is
/// `unsupportedOp` (name, operator index, path); bad attributes are `invalidOp`.
public enum TFLiteImporter {
    /// Largest model file accepted (FlatBuffers cannot address more than 2 GiB).
    public static let maxFileSize = 1 << 31

    public static func load(path: String) throws -> Graph {
        try load(data: try readFile(path), path: path)
    }

    public static func load(data: [UInt8], path: String) throws -> Graph {
        try importModel(data: data, path: path, lenient: false).graph
    }

    /// Like `load`, but an unsupported operator (or one with attributes vseg
    /// cannot handle) is recorded and skipped instead of thrown, so
    /// `vseg inspect` can list them all. A structurally broken file still throws.
    /// The graph of a model with unsupported ops is for inspection only.
    public static func loadLenient(path: String) throws -> LenientImport {
        try loadLenient(data: try readFile(path), path: path)
    }

    public static func loadLenient(data: [UInt8], path: String) throws -> LenientImport {
        try importModel(data: data, path: path, lenient: true)
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
              let handle = FileHandle(forReadingAtPath: path) else {
            throw EngineError.modelNotFound(path: path)
        }
        defer { try? handle.close() }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= maxFileSize else {
            throw EngineError.malformedModel(path: path, detail: "file is \(size) bytes, larger than any TFLite flatbuffer")
        }
        do {
            return [UInt8](try handle.readToEnd() ?? Data())
        } catch {
            throw EngineError.modelNotFound(path: path)
        }
    }

    static func importModel(data: [UInt8], path: String, lenient: Bool) throws -> LenientImport {
        let reader = try TFLiteModelReader(bytes: data, path: path)
        var builder = TFLiteGraphBuilder(path: path, tensors: reader.tensors, budget: reader.budget)
        var skipped: [UnsupportedOp] = []
        for op in reader.operators {
            do {
                try builder.map(op)
            } catch let e as EngineError where lenient {
                switch e {
                case .unsupportedOp, .invalidOp:
                    skipped.append(UnsupportedOp(op: op.name, index: op.index, reason: e.description))
                default:
                    throw e
                }
            }
        }
        var graph = Graph(tensors: builder.tensors, nodes: builder.nodes, format: .tflite, metadata: reader.metadata)
        graph.inputs = reader.inputs.map { GraphIO(tensor: $0, name: builder.tensors[$0].name) }
        graph.outputs = reader.outputs.map { GraphIO(tensor: $0, name: builder.tensors[$0].name) }
        if !builder.folded.isEmpty {
            graph.metadata["folded_ops"] = builder.folded.sorted { $0.key < $1.key }
                .map { "\($0.key) x\($0.value)" }.joined(separator: ", ")
        }
        if reader.sparse.contains(true) {
            graph.metadata["sparse_constants"] = String(reader.sparse.filter { $0 }.count)
        }
        try checkGraphIO(graph, path: path)
        if !lenient { try checkDataflow(graph, path: path) }
        return LenientImport(graph: compact(graph), unsupported: skipped)
    }

    /// TFLite lists operators in execution order: every node input must be a
    /// constant, a graph input or an earlier node's output; each activation is
    /// written once; graph outputs are produced. (Skipped in lenient mode,
    /// where dropped nodes leave holes on purpose.)
    private static func checkDataflow(_ g: Graph, path: String) throws {
        var ready = [Bool](repeating: false, count: g.tensors.count)
        for (i, t) in g.tensors.enumerated() where t.isConstant { ready[i] = true }
        for io in g.inputs { ready[io.tensor] = true }
        for n in g.nodes {
            for t in n.inputs where t >= 0 && !ready[t] {
                throw EngineError.malformedModel(
                    path: path, detail: "node \(n.name) reads tensor \"\(g.tensors[t].name)\" before anything produces it")
            }
            for t in n.outputs {
                guard !ready[t] else {
                    throw EngineError.malformedModel(
                        path: path, detail: "node \(n.name) overwrites tensor \"\(g.tensors[t].name)\"")
                }
                ready[t] = true
            }
        }
        for io in g.outputs where !ready[io.tensor] {
            throw EngineError.malformedModel(path: path, detail: "graph output \"\(io.name)\" is never produced")
        }
    }

    /// Graph inputs must be activations; a graph needs at least one input and output.
    private static func checkGraphIO(_ g: Graph, path: String) throws {
        guard !g.inputs.isEmpty, !g.outputs.isEmpty else {
            throw EngineError.malformedModel(path: path, detail: "subgraph 0 declares no inputs or no outputs")
        }
        for io in g.inputs where g.tensors[io.tensor].isConstant {
            throw EngineError.malformedModel(path: path, detail: "graph input \"\(io.name)\" is a constant")
        }
    }

    /// Drops tensors that no node and no graph input/output refers to
    /// (the fp16 and sparse sources of folded constants) and renumbers.
    static func compact(_ g: Graph) -> Graph {
        var used = [Bool](repeating: false, count: g.tensors.count)
        for n in g.nodes { for t in n.inputs + n.outputs where t >= 0 { used[t] = true } }
        for io in g.inputs + g.outputs { used[io.tensor] = true }
        var remap = [Int](repeating: -1, count: g.tensors.count)
        var out = g
        out.tensors = []
        for (i, t) in g.tensors.enumerated() where used[i] {
            remap[i] = out.tensors.count
            out.tensors.append(t)
        }
        func r(_ t: Int) -> Int { t >= 0 ? remap[t] : -1 }
        out.nodes = g.nodes.map { Node(op: $0.op, inputs: $0.inputs.map(r), outputs: $0.outputs.map(r), name: $0.name) }
        out.inputs = g.inputs.map { GraphIO(tensor: r($0.tensor), name: $0.name, toSourceLayout: $0.toSourceLayout) }
        out.outputs = g.outputs.map { GraphIO(tensor: r($0.tensor), name: $0.name, toSourceLayout: $0.toSourceLayout) }
        return out
    }
}
