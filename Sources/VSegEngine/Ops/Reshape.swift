/// Reshape: `newShape` or a constant shape input; 0 copies the input dim (ONNX),
/// -1 is inferred. The planner aliases the output to the input, so at run time
/// this is free; when it cannot alias, it is a memcpy (CopyOp).
enum ReshapeOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        guard case let .reshape(attrShape) = c.node.op else { preconditionFailure() }
        let x = try c.input(0)
        let spec: [Int]
        if c.has(1) {
            guard let s = c.constantInts(1) else { throw c.fail("Reshape target shape must be constant after folding") }
            spec = s
        } else if let s = attrShape {
            spec = s
        } else {
            throw c.fail("Reshape has neither a shape input nor a newShape attribute")
        }
        return [TensorMeta(shape: try resolve(spec, input: x.shape, c), dtype: x.dtype)]
    }

    static func resolve(_ spec: [Int], input: [Int], _ c: InferContext) throws -> [Int] {
        var out = spec
        var inferAt = -1
        for (i, d) in spec.enumerated() {
            if d == 0 {
                guard i < input.count else { throw c.fail("Reshape 0 at axis \(i) but input has rank \(input.count)") }
                out[i] = input[i]
            } else if d == -1 {
                guard inferAt < 0 else { throw c.fail("Reshape has more than one -1 in \(spec)") }
                inferAt = i
            } else if d < 0 {
                throw c.fail("Reshape dimension \(d) is invalid")
            }
        }
        let total = input.reduce(1, *)
        if inferAt >= 0 {
            let known = out.enumerated().filter { $0.offset != inferAt }.reduce(1) { $0 * $1.element }
            guard known > 0, total % known == 0 else { throw c.fail("Reshape \(input) to \(spec) does not divide evenly") }
            out[inferAt] = total / known
        }
        guard out.reduce(1, *) == total else { throw c.fail("Reshape \(input) to \(spec) changes the element count") }
        return out
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        CopyOp(src: c.inPtr[0]!, dst: c.outPtr[0], bytes: c.outputs[0].byteCount)
    }
}
