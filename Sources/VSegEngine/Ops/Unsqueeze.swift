/// Unsqueeze: inserts size-1 axes at the listed output positions. Aliased to
/// its input by the planner (memcpy otherwise).
enum UnsqueezeOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        guard case var .unsqueeze(axes) = c.node.op else { preconditionFailure() }
        let x = try c.input(0)
        if c.has(1), let a = c.constantInts(1) { axes = a }
        let r = x.shape.count + axes.count
        let norm = try Set(axes.map { try normalizeAxis($0, rank: r, node: c.node.name) })
        guard norm.count == axes.count else { throw c.fail("Unsqueeze repeats an axis in \(axes)") }
        var out: [Int] = []
        var j = 0
        for i in 0 ..< r {
            if norm.contains(i) { out.append(1) } else { out.append(x.shape[j]); j += 1 }
        }
        return [TensorMeta(shape: out, dtype: x.dtype)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        CopyOp(src: c.inPtr[0]!, dst: c.outPtr[0], bytes: c.outputs[0].byteCount)
    }
}
