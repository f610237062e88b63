import VSegCore

/// Output sizes and explicit padding for convolution-like windows.
enum ConvShapes {
    /// Forward conv/pool along one axis. SAME puts the extra pixel after
    /// (TFLite, ONNX SAME_UPPER); SAME_LOWER before. `ceilMode` is ONNX pooling's.
    static func forward(input: Int, kernel: Int, stride: Int, dilation: Int, padding: Padding, vertical: Bool,
                        ceilMode: Bool = false) -> (out: Int, before: Int, after: Int)? {
        guard kernel >= 1, stride >= 1, dilation >= 1, input >= 0 else { return nil }
        let eff = (kernel - 1) * dilation + 1
        switch padding {
        case .valid:
            let out = input >= eff ? (input - eff) / stride + 1 : 0
            return out >= 1 ? (out, 0, 0) : nil
        case .same, .sameLower:
            let out = (input + stride - 1) / stride
            let total = max(0, (out - 1) * stride + eff - input)
            let small = total / 2, big = total - small
            if case .same = padding { return (out, small, big) }
            return (out, big, small)
        case let .explicit(top, left, bottom, right):
            let b = vertical ? top : left, a = vertical ? bottom : right
            guard b >= 0, a >= 0 else { return nil }
            let span = input + b + a - eff
            guard span >= 0 else { return nil }
            var out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
            // ONNX: the last window must start inside the input or the leading pad.
            if ceilMode && (out - 1) * stride >= input + b { out -= 1 }
            return (out, b, a)
        }
    }

    /// Transposed conv along one axis: output size and amount cropped before.
    static func transposed(input: Int, kernel: Int, stride: Int, dilation: Int, padding: Padding, outputPadding: Int,
                           vertical: Bool) -> (out: Int, before: Int)? {
        guard kernel >= 1, stride >= 1, dilation >= 1, input >= 1 else { return nil }
        let eff = (kernel - 1) * dilation + 1
        let full = (input - 1) * stride + eff
        switch padding {
        case .valid:
            return (full + outputPadding, 0)
        case .same, .sameLower:
            let out = input * stride
            let total = max(0, full - out)
            let small = total / 2
            if case .same = padding { return (out, small) }
            return (out, total - small)
        case let .explicit(top, left, bottom, right):
            let b = vertical ? top : left, a = vertical ? bottom : right
            let out = full - b - a + outputPadding
            return out >= 1 && b >= 0 && a >= 0 ? (out, b) : nil
        }
    }
}

extension PrepareContext {
    /// Float contents of a constant input (fp16 widened), or an error naming it.
    func constantFloats(_ i: Int, what: String) throws -> [Float]? {
        guard i < inputs.count, inputs[i] != nil else { return nil }
        guard let d = constant(i) else {
            throw fail("\(what) must be a constant (dynamic \(what) is not supported)")
        }
        return d.asFloats
    }
}

/// A convolution bound to its buffers: packed weights, per-task scratch, and
/// an optional non-clamp activation applied after the kernel (e.g. HardSwish).
final class ConvRun: PreparedOp {
    let g: ConvGeometry, kind: ConvKind
    let packed: PackedConvWeights?
    let weights: [Float], bias: [Float]?
    let input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
    let scratch: UnsafeMutablePointer<Float>, scratchPerTask: Int, tasks: Int
    let post: Activation, reference: Bool

    init(g: ConvGeometry, kind: ConvKind, weights: [Float], bias: [Float]?, input: UnsafeMutablePointer<Float>,
         output: UnsafeMutablePointer<Float>, threads: Int, post: Activation, reference: Bool) {
        self.g = g; self.kind = kind; self.weights = reference ? weights : []; self.bias = bias
        self.input = input; self.output = output; self.post = post; self.reference = reference
        if reference {
            packed = nil; scratchPerTask = 0; tasks = 1
        } else {
            packed = weights.withUnsafeBufferPointer { w in
                Self.withOptional(bias) { b in
                    switch kind {
                    case .dense: return ConvKernels.packDense(g, weights: w.baseAddress!, bias: b)
                    case .depthwise: return ConvKernels.packDepthwise(g, weights: w.baseAddress!, bias: b)
                    case .transposed: return ConvKernels.packTransposed(g, weights: w.baseAddress!, bias: b)
                    }
                }
            }
            scratchPerTask = ConvKernels.scratchFloats(g, kind: kind)
            tasks = max(1, ConvKernels.taskCount(g, kind: kind, threads: threads))
        }
        scratch = .allocate(capacity: max(1, scratchPerTask * tasks))
    }

    deinit { scratch.deallocate() }

    private static func withOptional<R>(_ a: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let a else { return body(nil) }
        return a.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    func run(_ pool: ThreadPool) {
        let count = g.batch * g.outH * g.outW * g.outC
        if reference {
            weights.withUnsafeBufferPointer { w in
                Self.withOptional(bias) { b in
                    switch kind {
                    case .dense: ReferenceConv.dense(g, weights: w.baseAddress!, bias: b, input: input, output: output)
                    case .depthwise: ReferenceConv.depthwise(g, weights: w.baseAddress!, bias: b, input: input, output: output)
                    case .transposed: ReferenceConv.transposed(g, weights: w.baseAddress!, bias: b, input: input, output: output)
                    }
                }
            }
            if !post.isIdentity { post.applyReference(output, output, count) }
            return
        }
        let packed = self.packed!
        pool.parallelFor(tasks) { t in
            ConvKernels.run(g, kind: kind, packed: packed, input: input, output: output,
                            scratch: scratch + t * scratchPerTask, task: t, taskCount: tasks)
        }
        if !post.isIdentity { pool.forChunks(count) { r in post.apply(output + r.lowerBound, output + r.lowerBound, r.count) } }
    }
}

/// Splits a fused activation into the conv clamp and the post-op remainder.
func splitActivation(_ a: Activation) -> (lo: Float, hi: Float, post: Activation) {
    if let r = a.clampRange { return (r.lo, r.hi, .none) }
    return (-.infinity, .infinity, a)
}

extension ConvShapes {
    typealias Axis = (out: Int, before: Int, after: Int)

    /// Both spatial axes of a forward conv window over an NHWC input shape; nil if it does not fit.
    static func forwardHW(_ a: ConvAttrs, input x: [Int]) -> (h: Axis, w: Axis)? {
        guard let h = forward(input: x[1], kernel: a.kernel.h, stride: a.stride.h, dilation: a.dilation.h, padding: a.padding, vertical: true),
              let w = forward(input: x[2], kernel: a.kernel.w, stride: a.stride.w, dilation: a.dilation.w, padding: a.padding, vertical: false)
        else { return nil }
        return (h, w)
    }

    /// Kernel geometry of a forward conv (dense or depthwise) from its attributes and resolved
    /// NHWC shapes; the clamp part of the fused activation goes into the geometry.
    static func forwardGeometry(_ a: ConvAttrs, input x: [Int], output y: [Int], groups: Int) -> ConvGeometry {
        let (h, w) = forwardHW(a, input: x)!  // shape inference already checked the window fits
        let act = splitActivation(a.activation)
        return ConvGeometry(batch: x[0], inH: x[1], inW: x[2], inC: x[3], outH: y[1], outW: y[2], outC: y[3],
                            kH: a.kernel.h, kW: a.kernel.w, strideH: a.stride.h, strideW: a.stride.w,
                            dilationH: a.dilation.h, dilationW: a.dilation.w, padTop: h.before, padLeft: w.before,
                            groups: groups, outMin: act.lo, outMax: act.hi)
    }
}
