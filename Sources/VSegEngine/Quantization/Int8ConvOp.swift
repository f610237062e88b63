import VSegCore

/// INT8 Conv2D / DepthwiseConv2D / TransposeConv2D (QuantScheme.swift).
/// Weights are quantized per output channel at prepare, the bias to int32, the
/// fused clamp (ReLU, ReLU6, Clip) becomes the output clamp. Dense convs run the
/// C indirect GEMM, depthwise (multiplier 1, also ONNX groups == C) the C
/// depthwise kernel, transposed convs one indirect GEMM per output phase
/// (`Int8TransposedConv`). Reference path: `Int8Reference`.
enum Int8ConvOp: Int8OpDefinition {
    enum Form { case dense, depthwise, transposed }

    static func form(_ c: InferContext) -> Form? {
        guard let x = c.inputs.first ?? nil, x.shape.count == 4, c.has(1), let w = c.inputs[1], w.shape.count == 4,
              c.constant(1)?.asFloats != nil else { return nil }
        if c.has(2) && c.constant(2)?.asFloats == nil { return nil }
        switch c.node.op {
        case let .conv2D(a):
            guard a.activation.clampRange != nil else { return nil }
            if a.groups == 1 { return .dense }
            if a.groups == x.shape[3] && w.shape[3] == 1 && w.shape[0] == x.shape[3] { return .depthwise }
            return nil
        case let .depthwiseConv2D(a, m):
            return m == 1 && a.activation.clampRange != nil ? .depthwise : nil
        case let .transposeConv2D(a, _):
            return a.groups == 1 && a.activation.clampRange != nil ? .transposed : nil
        default:
            return nil
        }
    }

    static func supports(_ c: InferContext) -> Bool { form(c) != nil }
    static func outputRule(_ op: Op) -> Int8OutputRule { .calibrated }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard let form = form(c.infer) else { throw c.fail("\(c.node.op.name) is not supported in INT8") }
        let xq = try c.activationQuant(input: 0), yq = try c.activationQuant(output: 0)
        let x = try c.input(0), y = c.outputs[0]
        guard let weights = try c.constantFloats(1, what: "weights") else { throw c.fail("\(c.node.op.name) needs weights") }
        let bias = try c.constantFloats(2, what: "bias")
        let attrs: ConvAttrs
        switch c.node.op {
        case let .conv2D(a), let .depthwiseConv2D(a, _), let .transposeConv2D(a, _): attrs = a
        default: preconditionFailure()
        }
        let clamp = attrs.activation.clampRange!
        let out = Int8OutputParams(output: yq, fusedMin: clamp.lo, fusedMax: clamp.hi)
        let outC = y.shape[3]
        switch form {
        case .dense, .depthwise:
            let g = ConvShapes.forwardGeometry(attrs, input: x.shape, output: y.shape,
                                               groups: form == .dense ? 1 : x.shape[3])
            let q: PerChannelInt8Weights
            if form == .dense {
                q = weights.withUnsafeBufferPointer { WeightQuantization.quantizeOHWI($0, outChannels: outC) }
            } else if case .conv2D = c.node.op {
                // OHWI [C, KH, KW, 1] is [C][taps]; the depthwise layout is [taps][C].
                let taps = g.kH * g.kW
                var dw = [Float](repeating: 0, count: weights.count)
                for o in 0..<outC { for k in 0..<taps { dw[k * outC + o] = weights[o * taps + k] } }
                q = dw.withUnsafeBufferPointer { WeightQuantization.quantizeDepthwise($0, channels: outC) }
            } else {
                q = weights.withUnsafeBufferPointer { WeightQuantization.quantizeDepthwise($0, channels: outC) }
            }
            let scales = QuantScheme.requantScales(inputScale: xq.scale, weightScales: q.scales, outputScale: yq.scale)
            let b = bias.map { QuantScheme.quantizeBias($0, inputScale: xq.scale, weightScales: q.scales) }
            if c.reference {
                return ReferenceRun(g: g, depthwise: form == .depthwise, weights: q.values, bias: b, scales: scales,
                                    zpIn: xq.zeroPoint, out: out, input: c.u8In(0), output: c.u8Out(0))
            }
            let packed: Int8PackedConv = q.values.withUnsafeBufferPointer { w in
                scales.withUnsafeBufferPointer { s in
                    withOptionalPointer(b) { bp in
                        form == .dense
                            ? Int8ConvKernels.packDense(g, weights: w.baseAddress!, bias: bp, scales: s.baseAddress!,
                                                        inputZeroPoint: xq.zeroPoint, output: out)
                            : Int8ConvKernels.packDepthwise(g, weights: w.baseAddress!, bias: bp, scales: s.baseAddress!,
                                                            inputZeroPoint: xq.zeroPoint, output: out)
                    }
                }
            }
            return KernelRun(packed: packed, input: c.u8In(0), output: c.u8Out(0), threads: c.threads)
        case .transposed:
            let geo = try TransposeConv2DOp.geometry(c.infer)
            let g = ConvGeometry(batch: x.shape[0], inH: x.shape[1], inW: x.shape[2], inC: x.shape[3],
                                 outH: y.shape[1], outW: y.shape[2], outC: outC, kH: attrs.kernel.h, kW: attrs.kernel.w,
                                 strideH: attrs.stride.h, strideW: attrs.stride.w, dilationH: attrs.dilation.h,
                                 dilationW: attrs.dilation.w, padTop: geo.h.before, padLeft: geo.w.before)
            let q = weights.withUnsafeBufferPointer { WeightQuantization.quantizeOHWI($0, outChannels: outC) }
            let scales = QuantScheme.requantScales(inputScale: xq.scale, weightScales: q.scales, outputScale: yq.scale)
            let b = bias.map { QuantScheme.quantizeBias($0, inputScale: xq.scale, weightScales: q.scales) }
            return Int8TransposedConv(g: g, weights: q.values, bias: b, scales: scales, zpIn: xq.zeroPoint, out: out,
                                      input: c.u8In(0), output: c.u8Out(0), threads: c.threads, reference: c.reference)
        }
    }

    /// Dense or depthwise conv on the C kernels, split into tasks over output rows.
    final class KernelRun: PreparedOp {
        let packed: Int8PackedConv
        let input: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>
        let tasks: Int
        /// `packed.scratchBytes` per task (row-flat depthwise), nil when not needed.
        let scratch: UnsafeMutableRawPointer?
        init(packed: Int8PackedConv, input: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, threads: Int) {
            self.packed = packed; self.input = input; self.output = output
            tasks = Int8ConvKernels.taskCount(packed, threads: threads)
            scratch = packed.scratchBytes > 0
                ? .allocate(byteCount: Self.stride(packed) * tasks, alignment: 64) : nil
        }
        deinit { scratch?.deallocate() }
        static func stride(_ p: Int8PackedConv) -> Int { (p.scratchBytes + 63) / 64 * 64 }
        func run(_ pool: ThreadPool) {
            let n = tasks, step = Self.stride(packed)
            pool.parallelFor(n) { t in
                Int8ConvKernels.run(self.packed, input: self.input, output: self.output, task: t, taskCount: n,
                                    scratch: self.scratch.map { $0 + t * step })
            }
        }
    }

    /// The integer reference twin (`Int8Reference`), for equivalence tests.
    final class ReferenceRun: PreparedOp {
        let g: ConvGeometry, depthwise: Bool, weights: [Int8], bias: [Int32]?, scales: [Float], zpIn: Int32
        let out: Int8OutputParams
        let input: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>
        init(g: ConvGeometry, depthwise: Bool, weights: [Int8], bias: [Int32]?, scales: [Float], zpIn: Int32,
             out: Int8OutputParams, input: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>) {
            self.g = g; self.depthwise = depthwise; self.weights = weights; self.bias = bias; self.scales = scales
            self.zpIn = zpIn; self.out = out; self.input = input; self.output = output
        }
        func run(_ pool: ThreadPool) {
            weights.withUnsafeBufferPointer { w in
                scales.withUnsafeBufferPointer { s in
                    withOptionalPointer(bias) { b in
                        if depthwise {
                            Int8Reference.depthwise(g, input: input, inputZeroPoint: zpIn, weights: w.baseAddress!, bias: b,
                                                    scales: s.baseAddress!, output: out, into: output)
                        } else {
                            Int8Reference.conv(g, input: input, inputZeroPoint: zpIn, weights: w.baseAddress!, bias: b,
                                               scales: s.baseAddress!, output: out, into: output)
                        }
                    }
                }
            }
        }
    }
}

@inline(__always)
func withOptionalPointer<T, R>(_ a: [T]?, _ body: (UnsafePointer<T>?) -> R) -> R {
    guard let a else { return body(nil) }
    return a.withUnsafeBufferPointer { body($0.baseAddress) }
}
