import VSegCore

/// Depthwise 2-D convolution, NHWC input, weights [1, KH, KW, Cin*multiplier]
/// (output channel c*m+j reads input channel c). Fast path: `ConvKernels`
/// depthwise; twin: `ReferenceConv.depthwise`.
enum DepthwiseConv2DOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        guard case let .depthwiseConv2D(a, mult) = c.node.op else { preconditionFailure() }
        let x = try c.input(0), w = try c.input(1)
        guard x.shape.count == 4, w.shape.count == 4, x.dtype == .float32 else {
            throw c.fail("DepthwiseConv2D needs float NHWC input and [1,KH,KW,C] weights, got \(x.shape), \(w.shape)")
        }
        guard mult >= 1, w.shape[3] == x.shape[3] * mult, w.shape[1] == a.kernel.h, w.shape[2] == a.kernel.w else {
            throw c.fail("DepthwiseConv2D weights \(w.shape) do not match input \(x.shape), multiplier \(mult), kernel \(a.kernel)")
        }
        if c.has(2), let b = c.inputs[2], b.count != w.shape[3] { throw c.fail("DepthwiseConv2D bias has \(b.count) values for \(w.shape[3]) channels") }
        guard let (h, wd) = ConvShapes.forwardHW(a, input: x.shape) else {
            throw c.fail("DepthwiseConv2D window does not fit input \(x.shape)")
        }
        return [TensorMeta(shape: [x.shape[0], h.out, wd.out, w.shape[3]], dtype: .float32)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .depthwiseConv2D(a, _) = c.node.op else { preconditionFailure() }
        let x = try c.input(0), y = c.outputs[0]
        guard let weights = try c.constantFloats(1, what: "weights") else { throw c.fail("DepthwiseConv2D needs weights") }
        let bias = try c.constantFloats(2, what: "bias")
        let g = ConvShapes.forwardGeometry(a, input: x.shape, output: y.shape, groups: x.shape[3])
        return ConvRun(g: g, kind: .depthwise, weights: weights, bias: bias, input: c.floatIn(0), output: c.floatOut(0),
                       threads: c.threads, post: splitActivation(a.activation).post, reference: c.reference)
    }
}
