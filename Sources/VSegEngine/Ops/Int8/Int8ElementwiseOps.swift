/// INT8 definitions of the non-convolution ops (owned by the elementwise work;
/// see Int8Ops.swift for the contract). Ops without an entry stay FP32.
enum Int8ElementwiseOps {
    static func definition(for op: Op) -> Int8OpDefinition.Type? {
        switch op {
        case .binary: return Int8BinaryOp.self
        case .unary: return Int8UnaryOp.self
        case .prelu: return Int8PReluOp.self
        case .pool: return Int8PoolOp.self
        case .reduce(.mean, _, _): return Int8ReduceMeanOp.self
        case .resize: return Int8ResizeOp.self
        case .pad: return Int8PadOp.self
        case .concat: return Int8ConcatOp.self
        case .depthToSpace: return Int8DepthToSpaceOp.self
        case .transpose: return Int8TransposeOp.self
        default: return nil
        }
    }
}
