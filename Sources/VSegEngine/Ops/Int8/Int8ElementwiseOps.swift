/// INT8 definitions of the non-convolution ops (owned by the elementwise work;
/// see Int8Ops.swift for the contract). Ops without an entry stay FP32, and so
/// does any node whose definition's `supports` says no.
///
/// | op                         | output rule     | arithmetic                                   |
/// |----------------------------|-----------------|----------------------------------------------|
/// | Add/Sub/Mul/Max/Min        | calibrated      | fp32 rescale + fused clamp (`Int8BinaryOp`)  |
/// | activations (all)          | calibrated      | 256-entry table                              |
/// | PRelu (scalar/per-channel) | calibrated      | one table per slope                          |
/// | MaxPool                    | same as input 0 | byte max, fused clamp in uint8               |
/// | AvgPool                    | calibrated      | int32 sum, fp32 rescale per divisor          |
/// | ReduceMean (contiguous)    | calibrated      | int32 sum, fp32 rescale                      |
/// | Resize nearest/bilinear    | same as input 0 | byte moves / interpolation of the bytes      |
/// | Pad                        | same as input 0 | byte moves, constant quantized               |
/// | Concat                     | calibrated      | copy or 256-byte requantization table        |
/// | DepthToSpace, Transpose    | same as input 0 | byte moves                                   |
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
