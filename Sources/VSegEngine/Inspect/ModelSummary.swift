import VSegCore

/// What `vseg inspect` prints about a model: inputs, outputs, op histogram,
/// parameter count, compute, peak activation memory and unsupported ops.
///
/// Compute is counted from tensor shapes (per inference, whole batch):
/// - MACs of convolutions: conv2D `outElements * KH * KW * Cin/groups`,
///   depthwise `outElements * KH * KW`, transposed conv
///   `inElements * KH * KW * Cout` (every input pixel scatters a full kernel).
/// - elementwise ops, counted apart: one per output element of binary, unary
///   and PRelu nodes (fused activations are not counted).
/// Nodes whose shapes are not known (dynamic dimensions not yet resolved) are
/// counted in `nodesWithUnknownShape`; pass `resolvedShapes` to include them.
public struct ModelSummary: Sendable {
    public struct TensorSummary: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var dtype: DType
    }

    public var path: String
    public var format: SourceFormat
    public var inputs: [TensorSummary]
    public var outputs: [TensorSummary]
    public var nodeCount: Int
    /// Node count per `Op.name`, most frequent first.
    public var opHistogram: [(op: String, count: Int)]
    /// Elements of constant weights (float constants, and integer constants that carry quantization).
    public var parameterCount: Int
    /// Bytes of those constants as held in the graph.
    public var parameterBytes: Int
    /// Multiply-accumulates of conv2D, depthwiseConv2D and transposeConv2D nodes.
    public var convMACs: Int
    /// MACs per conv op name ("Conv2D", "DepthwiseConv2D", "TransposeConv2D").
    public var macsByOp: [String: Int]
    /// Output elements of binary, unary and PRelu nodes.
    public var elementwiseOps: Int
    public var nodesWithUnknownShape: Int
    public var unsupported: [UnsupportedOp]
    public var metadata: [String: String]
    /// Peak activation memory of the planned arena. The importer cannot know
    /// it: the executor's planner fills this in before `render()`.
    public var peakActivationBytes: Int?

    /// - Parameters:
    ///   - resolvedShapes: per-tensor shapes after shape inference, indexed
    ///     like `graph.tensors`; defaults to the shapes in the graph.
    public init(graph: Graph, path: String, unsupported: [UnsupportedOp] = [], resolvedShapes: [[Int]]? = nil) {
        let shapes: [[Int]]
        if let r = resolvedShapes, r.count == graph.tensors.count { shapes = r } else { shapes = graph.tensors.map(\.shape) }
        self.path = path
        format = graph.format
        inputs = graph.inputs.map { TensorSummary(name: $0.name, shape: shapes[$0.tensor], dtype: graph.tensors[$0.tensor].dtype) }
        outputs = graph.outputs.map { TensorSummary(name: $0.name, shape: shapes[$0.tensor], dtype: graph.tensors[$0.tensor].dtype) }
        nodeCount = graph.nodes.count
        self.unsupported = unsupported
        metadata = graph.metadata

        var hist: [String: Int] = [:]
        for n in graph.nodes { hist[n.op.name, default: 0] += 1 }
        opHistogram = hist.map { (op: $0.key, count: $0.value) }.sorted { $0.count != $1.count ? $0.count > $1.count : $0.op < $1.op }

        var params = 0, paramBytes = 0
        for t in graph.tensors {
            guard let d = t.data else { continue }
            let isWeight = d.dtype == .float32 || d.dtype == .float16 || t.quant != nil
            guard isWeight else { continue }
            params += d.count
            paramBytes += d.count * d.dtype.byteSize
        }
        parameterCount = params
        parameterBytes = paramBytes

        var macs: [String: Int] = [:]
        var elementwise = 0, unknown = 0
        func elements(_ t: Int) -> Int? {
            guard t >= 0, t < shapes.count, shapes[t].allSatisfy({ $0 >= 0 }) else { return nil }
            return ShapeMath.elementCount(shapes[t])
        }
        for n in graph.nodes {
            let out = n.outputs.first.flatMap(elements)
            switch n.op {
            case .conv2D(let a), .depthwiseConv2D(let a, _), .transposeConv2D(let a, _):
                guard n.inputs.count >= 2, let w = elements(n.inputs[1]).map({ _ in shapes[n.inputs[1]] }), w.count == 4 else {
                    unknown += 1; continue
                }
                let m: Int?
                switch n.op {
                case .conv2D: m = out.flatMap { Self.product($0, a.kernel.h, a.kernel.w, w[3]) }
                case .depthwiseConv2D: m = out.flatMap { Self.product($0, a.kernel.h, a.kernel.w) }
                default: m = elements(n.inputs[0]).flatMap { Self.product($0, a.kernel.h, a.kernel.w, w[0]) }
                }
                guard let m else { unknown += 1; continue }
                macs[n.op.name, default: 0] &+= m
            case .binary, .unary, .prelu:
                guard let out else { unknown += 1; continue }
                elementwise &+= out
            default:
                break
            }
        }
        macsByOp = macs
        convMACs = macs.values.reduce(0, +)
        elementwiseOps = elementwise
        nodesWithUnknownShape = unknown
    }

    /// Loads a `.tflite` file leniently (unsupported ops are listed, not thrown) and summarizes it.
    public static func tflite(path: String) throws -> ModelSummary {
        let r = try TFLiteImporter.loadLenient(path: path)
        return ModelSummary(graph: r.graph, path: path, unsupported: r.unsupported)
    }

    /// The text `vseg inspect` prints.
    public func render() -> String {
        var s = "model: \(path) (\(format.rawValue))\n"
        for (key, label) in [("description", "description"), ("producer", "producer"),
                             ("min_runtime_version", "min runtime version"), ("folded_ops", "folded at import")] {
            if let v = metadata[key], !v.isEmpty { s += "\(label): \(v)\n" }
        }
        func io(_ t: TensorSummary) -> String {
            "  \(t.name)  [\(t.shape.map { $0 < 0 ? "?" : String($0) }.joined(separator: ", "))]  \(t.dtype.rawValue)\n"
        }
        s += "inputs:\n" + inputs.map(io).joined()
        s += "outputs:\n" + outputs.map(io).joined()
        s += "parameters: \(Self.grouped(parameterCount)) (\(Self.bytes(parameterBytes)))\n"
        let parts = macsByOp.sorted { $0.key < $1.key }.map { "\($0.key) \(Self.mega($0.value))" }
        s += "compute: \(Self.mega(convMACs)) MMAC in convolutions"
        s += parts.isEmpty ? "\n" : " (\(parts.joined(separator: ", ")))\n"
        s += "elementwise: \(Self.mega(elementwiseOps)) M ops\n"
        if nodesWithUnknownShape > 0 {
            s += "  (\(nodesWithUnknownShape) nodes with unresolved shapes not counted)\n"
        }
        s += "peak activation memory: " + (peakActivationBytes.map(Self.bytes) ?? "not planned") + "\n"
        s += "ops (\(nodeCount) nodes):\n"
        for (op, count) in opHistogram { s += "  \(op.padded(18))\(count)\n" }
        if unsupported.isEmpty {
            s += "unsupported ops: none\n"
        } else {
            s += "unsupported ops (\(unsupported.count)):\n"
            for u in unsupported { s += "  \(u.op) at node \(u.index)\n" }
        }
        return s
    }

    /// Product, or nil on overflow.
    static func product(_ xs: Int...) -> Int? {
        var n = 1
        for x in xs {
            let (p, o) = n.multipliedReportingOverflow(by: x)
            if o || x < 0 { return nil }
            n = p
        }
        return n
    }

    static func mega(_ v: Int) -> String {
        let m = Double(v) / 1e6
        let r = (m * 10).rounded() / 10
        return String(r)
    }

    static func grouped(_ v: Int) -> String {
        let digits = Array(String(v))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }

    static func bytes(_ v: Int) -> String {
        if v >= 1 << 20 { return "\((Double(v) / Double(1 << 20) * 10).rounded() / 10) MiB" }
        if v >= 1 << 10 { return "\((Double(v) / Double(1 << 10) * 10).rounded() / 10) KiB" }
        return "\(v) B"
    }
}

private extension String {
    func padded(_ n: Int) -> String {
        count >= n ? self + " " : self + String(repeating: " ", count: n - count)
    }
}
