/// Squeeze: drops the listed size-1 axes (all size-1 axes when empty). Aliased
/// to its input by the planner (memcpy otherwise).
enum SqueezeOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        guard case var .squeeze(axes) = c.node.op else { preconditionFailure() }
        let x = try c.input(0)
        if c.has(1), let a = c.constantInts(1) { axes = a }
        let r = x.shape.count
        let norm = try Set(axes.map { try normalizeAxis($0, rank: r, node: c.node.name) })
        var out: [Int] = []
        for (i, d) in x.shape.enumerated() {
            if norm.isEmpty ? d == 1 : norm.contains(i) {
                guard d == 1 else { throw c.fail("Squeeze axis \(i) has size \(d), not 1") }
                continue
            }
            out.append(d)
        }
        return [TensorMeta(shape: out, dtype: x.dtype)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        CopyOp(src: c.inPtr[0]!, dst: c.outPtr[0], bytes: c.outputs[0].byteCount)
    }
}
