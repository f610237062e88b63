/// INT8 Pad (constant, reflect, edge) on uint8 with the input's parameters.
/// The constant is quantized with the input parameters (clamped to 0...255);
/// the byte moves themselves are `PadOp`'s, which handle any element size
/// (constant: row copies split across threads; reflect/edge: its per-element walk).
enum Int8PadOp: Int8OpDefinition {
    static func supports(_ c: InferContext) -> Bool {
        guard case .pad = c.node.op, let x = c.inputs.first ?? nil, x.dtype == .float32, c.constant(0) == nil,
              (try? PadOp.inferShapes(c)) != nil else { return false }
        if c.has(2) { return c.constant(2) != nil }
        return true
    }

    static func outputRule(_ op: Op) -> Int8OutputRule { .sameAsInput(0) }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .pad(mode) = c.node.op else { preconditionFailure() }
        let qx = try c.activationQuant(input: 0)
        var value: Float = 0
        if c.has(2) {
            guard let v = c.constant(2) else { throw c.fail("Pad constant value must be constant") }
            value = v.count > 0 ? v.asFloats[0] : 0
        }
        let x = try c.input(0)
        return PadOp.Prepared(mode: mode, dtype: .uint8, inShape: x.shape, outShape: c.outputs[0].shape,
                              pads: try PadOp.amounts(c.infer), value: Double(qx.quantize(value)),
                              x: c.inPtr[0]!, y: c.outPtr[0], reference: c.reference || mode != .constant)
    }
}
