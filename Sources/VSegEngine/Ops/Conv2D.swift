import VSegCore

/// Dense (optionally grouped) 2-D convolution, NHWC x OHWI. Fast path: the
/// "kernels" module (`ConvKernels`, per-ISA, which itself falls back to the plain
/// loop for 1 < groups < Cin). A conv with groups == Cin and one input channel per
/// group (ONNX depthwise) is run as a depthwise conv. Twin: `ReferenceConv.dense`.
enum Conv2DOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        guard case let .conv2D(a) = c.node.op else { preconditionFailure() }
        let x = try c.input(0), w = try c.input(1)
        guard x.shape.count == 4, w.shape.count == 4 else { throw c.fail("Conv2D needs NHWC input and OHWI weights, got \(x.shape), \(w.shape)") }
        guard x.dtype == .float32 else { throw c.fail("Conv2D on \(x.dtype) input is not supported") }
        guard a.groups >= 1, x.shape[3] == w.shape[3] * a.groups, w.shape[0] % a.groups == 0 else {
            throw c.fail("Conv2D input channels \(x.shape[3]) do not match weights \(w.shape) with groups \(a.groups)")
        }
        guard w.shape[1] == a.kernel.h, w.shape[2] == a.kernel.w else {
            throw c.fail("Conv2D kernel \(a.kernel) does not match weights \(w.shape)")
        }
        if c.has(2), let b = c.inputs[2], b.count != w.shape[0] { throw c.fail("Conv2D bias has \(b.count) values for \(w.shape[0]) channels") }
        guard let (h, wd) = ConvShapes.forwardHW(a, input: x.shape) else {
            throw c.fail("Conv2D window does not fit input \(x.shape)")
        }
        return [TensorMeta(shape: [x.shape[0], h.out, wd.out, w.shape[0]], dtype: .float32)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .conv2D(a) = c.node.op else { preconditionFailure() }
        let x = try c.input(0), w = try c.input(1), y = c.outputs[0]
        guard let weights = try c.constantFloats(1, what: "weights") else { throw c.fail("Conv2D needs weights") }
        let bias = try c.constantFloats(2, what: "bias")
        let g = ConvShapes.forwardGeometry(a, input: x.shape, output: y.shape, groups: a.groups)
        if a.groups > 1 && a.groups == x.shape[3] && w.shape[3] == 1 {
            // OHWI [Cin*m, KH, KW, 1] -> depthwise [KH, KW, Cin*m]
            let khw = a.kernel.h * a.kernel.w, oc = w.shape[0]
            var dw = [Float](repeating: 0, count: weights.count)
            for o in 0 ..< oc { for k in 0 ..< khw { dw[k * oc + o] = weights[o * khw + k] } }
            return ConvRun(g: g, kind: .depthwise, weights: dw, bias: bias, input: c.floatIn(0), output: c.floatOut(0),
                           threads: c.threads, post: splitActivation(a.activation).post, reference: c.reference)
        }
        return ConvRun(g: g, kind: .dense, weights: weights, bias: bias, input: c.floatIn(0), output: c.floatOut(0),
                       threads: c.threads, post: splitActivation(a.activation).post, reference: c.reference)
    }
}
