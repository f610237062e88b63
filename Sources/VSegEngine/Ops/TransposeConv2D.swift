import VSegCore

/// Transposed 2-D convolution (TFLite TRANSPOSE_CONV, MediaPipe
/// Convolution2DTransposeBias, ONNX ConvTranspose), NHWC x OHWI [Cout,KH,KW,Cin/groups].
/// `attrs.padding` is what is cropped from the full (in-1)*stride+k output; SAME
/// gives in*stride. Fast path: `ConvKernels` transposed (plain loop inside the
/// kernels module for groups > 1); twin: `ReferenceConv.transposed`.
enum TransposeConv2DOp: OpDefinition {
    static func geometry(_ c: InferContext) throws -> (h: (out: Int, before: Int), w: (out: Int, before: Int), outC: Int) {
        guard case let .transposeConv2D(a, op) = c.node.op else { preconditionFailure() }
        let x = try c.input(0), w = try c.input(1)
        guard x.shape.count == 4, w.shape.count == 4, x.dtype == .float32 || x.dtype == .uint8 else {
            throw c.fail("TransposeConv2D needs float (or INT8) NHWC input and OHWI weights, got \(x.shape), \(w.shape)")
        }
        guard a.groups >= 1, x.shape[3] == w.shape[3] * a.groups, w.shape[0] % a.groups == 0,
              w.shape[1] == a.kernel.h, w.shape[2] == a.kernel.w else {
            throw c.fail("TransposeConv2D weights \(w.shape) do not match input \(x.shape), groups \(a.groups), kernel \(a.kernel)")
        }
        guard let h = ConvShapes.transposed(input: x.shape[1], kernel: a.kernel.h, stride: a.stride.h, dilation: a.dilation.h,
                                            padding: a.padding, outputPadding: op.h, vertical: true),
              let wd = ConvShapes.transposed(input: x.shape[2], kernel: a.kernel.w, stride: a.stride.w, dilation: a.dilation.w,
                                             padding: a.padding, outputPadding: op.w, vertical: false) else {
            throw c.fail("TransposeConv2D padding leaves no output for input \(x.shape)")
        }
        return (h, wd, w.shape[0])
    }

    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        let x = try c.input(0)
        let g = try geometry(c)
        if c.has(2), let b = c.inputs[2], b.count != g.outC { throw c.fail("TransposeConv2D bias has \(b.count) values for \(g.outC) channels") }
        return [TensorMeta(shape: [x.shape[0], g.h.out, g.w.out, g.outC], dtype: .float32)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .transposeConv2D(a, _) = c.node.op else { preconditionFailure() }
        let x = try c.input(0), y = c.outputs[0]
        guard let weights = try c.constantFloats(1, what: "weights") else { throw c.fail("TransposeConv2D needs weights") }
        let bias = try c.constantFloats(2, what: "bias")
        let geo = try geometry(c.infer)
        let act = splitActivation(a.activation)
        let g = ConvGeometry(batch: x.shape[0], inH: x.shape[1], inW: x.shape[2], inC: x.shape[3],
                             outH: y.shape[1], outW: y.shape[2], outC: y.shape[3], kH: a.kernel.h, kW: a.kernel.w,
                             strideH: a.stride.h, strideW: a.stride.w, dilationH: a.dilation.h, dilationW: a.dilation.w,
                             padTop: geo.h.before, padLeft: geo.w.before, groups: a.groups, outMin: act.lo, outMax: act.hi)
        return ConvRun(g: g, kind: .transposed, weights: weights, bias: bias, input: c.floatIn(0), output: c.floatOut(0),
                       threads: c.threads, post: act.post, reference: c.reference)
    }
}
