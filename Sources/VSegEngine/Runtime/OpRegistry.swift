/// The one table from IR ops to implementations. Adding an op: add its case to
/// `Op`, write `Ops/<Name>.swift` with an `OpDefinition`, and add one line here.
enum OpRegistry {
    static func definition(for op: Op) -> OpDefinition.Type {
        switch op {
        case .conv2D: return Conv2DOp.self
        case .depthwiseConv2D: return DepthwiseConv2DOp.self
        case .transposeConv2D: return TransposeConv2DOp.self
        case .binary: return BinaryOp.self
        case .unary: return UnaryOp.self
        case .prelu: return PReluOp.self
        case .pool: return PoolOp.self
        case .reduce: return ReduceOp.self
        case .resize: return ResizeOp.self
        case .pad: return PadOp.self
        case .reshape: return ReshapeOp.self
        case .transpose: return TransposeOp.self
        case .concat: return ConcatOp.self
        case .depthToSpace: return DepthToSpaceOp.self
        case .softmax: return SoftmaxOp.self
        case .argMax: return ArgMaxOp.self
        case .shape: return ShapeOp.self
        case .gather: return GatherOp.self
        case .slice: return SliceOp.self
        case .cast: return CastOp.self
        case .constantOfShape: return ConstantOfShapeOp.self
        case .squeeze: return SqueezeOp.self
        case .unsqueeze: return UnsqueezeOp.self
        case .dequantize: return DequantizeOp.self
        case .quantize: return QuantizeOp.self
        case .identity: return IdentityOp.self
        }
    }

    /// Ops whose output is the input's bytes reinterpreted: the planner lets
    /// the output share the input's buffer, and the op becomes a no-op.
    static func outputAliasesInput(_ op: Op) -> Bool {
        switch op {
        case .reshape, .squeeze, .unsqueeze, .identity: return true
        default: return false
        }
    }
}
