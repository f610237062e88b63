/// Constant folding: a node whose inputs are all constants is evaluated at load
/// with its reference twin and replaced by constant outputs. This folds fp16
/// weight `.dequantize`, and ONNX shape subgraphs (Shape is folded as soon as
/// its input's shape is known). Called from `ShapeInference.run` so folded
/// values feed the shape inference of the nodes after them.
enum ConstantFolding {
    /// Largest output folded, in bytes (bigger results stay runtime ops).
    static let maxFoldedBytes = 256 << 20

    static func foldIfConstant(_ node: Node, metas: [TensorMeta], ctx: InferContext, graph g: inout Graph) throws -> Bool {
        let present = node.inputs.filter { $0 >= 0 }
        let foldable: Bool
        if case .shape = node.op { foldable = true } else {
            foldable = present.allSatisfy { g.tensors[$0].data != nil }
        }
        guard foldable, metas.allSatisfy({ $0.byteCount <= maxFoldedBytes }) else { return false }
        // Inputs to temporary buffers, outputs to temporary buffers, run the twin.
        var owned: [UnsafeMutableRawPointer] = []
        defer { for p in owned { p.deallocate() } }
        var inPtr: [UnsafeMutableRawPointer?] = []
        for i in node.inputs {
            guard i >= 0, let d = g.tensors[i].data else { inPtr.append(nil); continue }
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(d.count * d.dtype.byteSize, 8), alignment: 64)
            owned.append(p)
            RawElements.write(d, to: p)
            inPtr.append(p)
        }
        var outPtr: [UnsafeMutableRawPointer] = []
        for m in metas {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(m.byteCount, 8), alignment: 64)
            owned.append(p)
            outPtr.append(p)
        }
        let pc = PrepareContext(node: node, inputs: ctx.inputs, outputs: metas, constants: ctx.constants,
                                inPtr: inPtr, outPtr: outPtr, threads: 1, reference: true)
        pc.inputQuant = ctx.inputQuant
        pc.outputQuant = ctx.outputQuant
        let op = try OpRegistry.definition(for: node.op).prepare(pc)
        op.run(ThreadPool.serial)
        for (k, t) in node.outputs.enumerated() {
            g.tensors[t].data = RawElements.read(outPtr[k], dtype: metas[k].dtype, count: metas[k].count)
        }
        return true
    }
}

extension ThreadPool {
    /// A one-thread pool for load-time evaluation.
    static let serial = ThreadPool(threads: 1)
}
