/// Identity (ONNX Identity/Dropout, TFLite DENSIFY once the importer densified
/// the constant). Aliased to its input by the planner; memcpy otherwise.
enum IdentityOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] { [try c.input(0)] }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        CopyOp(src: c.inPtr[0]!, dst: c.outPtr[0], bytes: c.outputs[0].byteCount)
    }
}
