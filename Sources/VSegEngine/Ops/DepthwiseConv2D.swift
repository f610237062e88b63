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
        guard let h = ConvShapes.forward(input: x.shape[1], kernel: a.kernel.h, stride: a.stride.h, dilation: a.dilation.h, padding: a.padding, vertical: true),
              let wd = ConvShapes.forward(input: x.shape[2], kernel: a.kernel.w, stride: a.stride.w, dilation: a.dilation.w, padding: a.padding, vertical: false) else {
            throw c.fail("DepthwiseConv2D window does not fit input \(x.shape)")
        }
        return [TensorMeta(shape: [x.shape[0], h.out, wd.out, w.shape[3]], dtype: .float32)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .depthwiseConv2D(a, _) = c.node.op else { preconditionFailure() }
        let x = try c.input(0), y = c.outputs[0]
        guard let weights = try c.constantFloats(1, what: "weights") else { throw c.fail("DepthwiseConv2D needs weights") }
        let bias = try c.constantFloats(2, what: "bias")
        let h = ConvShapes.forward(input: x.shape[1], kernel: a.kernel.h, stride: a.stride.h, dilation: a.dilation.h, padding: a.padding, vertical: true)!
        let wd = ConvShapes.forward(input: x.shape[2], kernel: a.kernel.w, stride: a.stride.w, dilation: a.dilation.w, padding: a.padding, vertical: false)!
        let act = splitActivation(a.activation)
        let g = ConvGeometry(batch: x.shape[0], inH: x.shape[1], inW: x.shape[2], inC: x.shape[3],
                             outH: y.shape[1], outW: y.shape[2], outC: y.shape[3], kH: a.kernel.h, kW: a.kernel.w,
                             strideH: a.stride.h, strideW: a.stride.w, dilationH: a.dilation.h, dilationW: a.dilation.w,
                             padTop: h.before, padLeft: wd.before, groups: x.shape[3], outMin: act.lo, outMax: act.hi)
        return ConvRun(g: g, kind: .depthwise, weights: weights, bias: bias, input: c.floatIn(0), output: c.floatOut(0),
                       threads: c.threads, post: act.post, reference: c.reference)
    }
}
