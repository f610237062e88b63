import VSegCore

/// Resolves every tensor's shape and element type for fixed input shapes,
/// walking nodes in topological order. With `fold`, a node whose inputs are all
/// constants (or a Shape node whose input shape is known) is evaluated on the
/// spot by its reference twin and its outputs become constants, so shape
/// subgraphs (Shape -> Gather -> Concat -> Resize) resolve in the same walk.
enum ShapeInference {
    static func run(_ g: inout Graph, fold: Bool) throws {
        for io in g.inputs {
            let t = g.tensors[io.tensor]
            guard !t.shape.contains(where: { $0 < 0 }) else {
                throw EngineError.invalidShape(tensor: t.name, detail: "input shape \(t.shape) has unknown dimensions; give the input size")
            }
            _ = try checkedCount(t.shape, tensor: t.name)
        }
        var kept: [Node] = []
        kept.reserveCapacity(g.nodes.count)
        for node in g.nodes {
            let ctx = inferContext(node, g)
            let metas = try OpRegistry.definition(for: node.op).inferShapes(ctx)
            guard metas.count == node.outputs.count else {
                throw EngineError.invalidOp(node: node.name, detail: "\(node.op.name) produces \(metas.count) outputs, graph lists \(node.outputs.count)")
            }
            for (k, t) in node.outputs.enumerated() {
                _ = try checkedCount(metas[k].shape, tensor: g.tensors[t].name)
                g.tensors[t].shape = metas[k].shape
                g.tensors[t].dtype = metas[k].dtype
            }
            if fold, try ConstantFolding.foldIfConstant(node, metas: metas, ctx: ctx, graph: &g) { continue }
            kept.append(node)
        }
        g.nodes = kept
    }

    static func inferContext(_ node: Node, _ g: Graph) -> InferContext {
        var inputs: [TensorMeta?] = [], consts: [TensorData?] = [], quant: [QuantParams?] = []
        for i in node.inputs {
            if i < 0 || i >= g.tensors.count { inputs.append(nil); consts.append(nil); quant.append(nil); continue }
            let t = g.tensors[i]
            inputs.append(TensorMeta(shape: t.shape, dtype: t.dtype))
            consts.append(t.data)
            quant.append(t.quant)
        }
        let outs = node.outputs.map { g.tensors[$0] }
        return InferContext(node: node, inputs: inputs, constants: consts, inputQuant: quant,
                            outputQuant: outs.map(\.quant), declaredOutputTypes: outs.map(\.dtype))
    }

    /// Kahn's algorithm; keeps the file's order among ready nodes.
    static func topologicallySorted(_ g: Graph) throws -> [Node] {
        var producer = [Int: Int]()
        for (i, n) in g.nodes.enumerated() { for o in n.outputs { producer[o] = i } }
        var indegree = [Int](repeating: 0, count: g.nodes.count)
        var consumers = [[Int]](repeating: [], count: g.nodes.count)
        for (i, n) in g.nodes.enumerated() {
            for t in Set(n.inputs) where t >= 0 {
                if let p = producer[t], p != i { indegree[i] += 1; consumers[p].append(i) }
            }
        }
        // `ready` is kept sorted descending so popLast takes the earliest node.
        var ready: [Int] = (0 ..< g.nodes.count).filter { indegree[$0] == 0 }.sorted(by: >)
        var order: [Node] = []
        while let i = ready.popLast() {
            order.append(g.nodes[i])
            for c in consumers[i] { indegree[c] -= 1; if indegree[c] == 0 { ready.append(c) } }
            ready.sort(by: >)
        }
        guard order.count == g.nodes.count else {
            throw EngineError.invalidOp(node: g.nodes.first(where: { _ in true })?.name ?? "?", detail: "the graph has a cycle")
        }
        return order
    }
}
