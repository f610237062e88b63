import CKernels
import VSegCore

/// INT8 Conv2D / DepthwiseConv2D / TransposeConv2D (QuantScheme.swift).
/// Weights are quantized per output channel at prepare, the bias to int32, the
/// fused clamp (ReLU, ReLU6, Clip) becomes the output clamp. Dense convs run the
/// C indirect GEMM (or, at stride 1 with 1/2/4/8 outputs on AVX-512 VNNI, the
/// row-flat kernel; few input channels: `RowMergedRun`), depthwise (multiplier 1,
/// also ONNX groups == C) the C depthwise kernels, transposed convs one indirect
/// GEMM per output phase (`Int8TransposedConv`). Reference path: `Int8Reference`.
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
        let xq = try c.activationQuant(input: 0)
        // A float32 output (a conv whose result leaves the INT8 graph): accumulators are
        // dequantized directly, `scale = inputScale * weightScale`, no uint8 rounding.
        let floatOut = c.outputs[0].dtype == .float32
        let yq = floatOut ? ActivationQuant(scale: 1, zeroPoint: 0) : try c.activationQuant(output: 0)
        let x = try c.input(0), y = c.outputs[0]
        guard let weights = try c.constantFloats(1, what: "weights") else { throw c.fail("\(c.node.op.name) needs weights") }
        let bias = try c.constantFloats(2, what: "bias")
        let attrs: ConvAttrs
        switch c.node.op {
        case let .conv2D(a), let .depthwiseConv2D(a, _), let .transposeConv2D(a, _): attrs = a
        default: preconditionFailure()
        }
        let clamp = attrs.activation.clampRange!
        let out = floatOut ? Int8OutputParams.float(min: clamp.lo, max: clamp.hi)
            : Int8OutputParams(output: yq, fusedMin: clamp.lo, fusedMax: clamp.hi)
        if floatOut && form == .depthwise { throw c.fail("INT8 depthwise conv cannot write float32") }
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
            // Few output channels at stride 1: the row-flat kernel of the packed conv beats both GEMM forms.
            if form == .dense, RowMergedRun.applies(g), !Int8ConvKernels.denseFlatApplies(g, output: out) {
                return RowMergedRun(g: g, weights: q.values, bias: b, scales: scales, zpIn: xq.zeroPoint, out: out,
                                    input: c.u8In(0), output: c.u8Out(0), threads: c.threads)
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

    /// Dense conv with few input channels (e.g. a 7x7 stem on RGB): the `kW`
    /// taps of one kernel row are `kW * inC` consecutive bytes of a zero-point
    /// padded copy of the input, so the indirect GEMM runs `kH` taps of
    /// `kW * inC` channels instead of `kH * kW` taps of `inC` (OHWI weights are
    /// already in that order). Padding happens once per run into a buffer made
    /// at prepare; the per-tap overhead of tiny `inC` goes away.
    final class RowMergedRun: PreparedOp {
        static func applies(_ g: ConvGeometry) -> Bool {
            g.groups == 1 && g.kW > 1 && g.dilationW == 1 && g.inC * g.kW <= 64 && g.inC < 16
        }
        let g: ConvGeometry
        let input: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>
        let padded: UnsafeMutablePointer<UInt8>
        let offsets: UnsafeMutablePointer<Int64>
        let packed: UnsafeMutableRawPointer
        let params: UnsafeMutablePointer<vseg_q8_output_params>
        let hp: Int, wp: Int, tasks: Int, zp: UInt8, isa: Int32
        /// No padding and nothing cropped (e.g. VALID after an explicit Pad node): the input is
        /// already the padded layout, so the per-run copy is skipped.
        let direct: Bool
        static let rowAlign = 12

        init(g: ConvGeometry, weights: [Int8], bias: [Int32]?, scales: [Float], zpIn: Int32, out: Int8OutputParams,
             input: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, threads: Int) {
            self.g = g; self.input = input; self.output = output
            zp = UInt8(zpIn)
            isa = Int8ISA.selected.rawValue
            hp = max((g.outH - 1) * g.strideH + (g.kH - 1) * g.dilationH + 1, g.padTop + g.inH)
            wp = max((g.outW - 1) * g.strideW + g.kW, g.padLeft + g.inW)
            direct = g.padTop == 0 && g.padLeft == 0 && hp == g.inH && wp == g.inW
            let paddedBytes = direct ? 1 : g.batch * hp * wp * g.inC + 64
            padded = .allocate(capacity: paddedBytes)
            padded.initialize(repeating: UInt8(zpIn), count: paddedBytes)
            let pixels = g.batch * g.outH * g.outW
            offsets = .allocate(capacity: max(pixels * g.kH, 1))
            for p in 0..<pixels {
                let b = p / (g.outH * g.outW), oy = (p / g.outW) % g.outH, ox = p % g.outW
                for ky in 0..<g.kH {
                    offsets[p * g.kH + ky] = Int64(((b * hp + oy * g.strideH + ky * g.dilationH) * wp + ox * g.strideW) * g.inC)
                }
            }
            let kc = g.kW * g.inC
            let pk = UnsafeMutableRawPointer.allocate(byteCount: max(vseg_q8_packed_gemm_size(g.outC, g.kH, kc), 1), alignment: 64)
            weights.withUnsafeBufferPointer { w in
                scales.withUnsafeBufferPointer { s in
                    withOptionalPointer(bias) { bp in
                        vseg_q8_pack_gemm(g.outC, g.kH, kc, w.baseAddress!, bp, s.baseAddress!, zpIn, pk)
                    }
                }
            }
            packed = pk
            params = .allocate(capacity: 1)
            params.initialize(to: out.c)
            tasks = Int8ConvKernels.tasks(units: (pixels + Self.rowAlign - 1) / Self.rowAlign, threads: threads)
        }

        deinit {
            padded.deallocate(); offsets.deallocate(); packed.deallocate(); params.deallocate()
        }

        func run(_ pool: ThreadPool) {
            let g = self.g
            // Interior rows of the padded copy (the zero-point border was written at prepare and never changes).
            let rowBytes = g.inW * g.inC
            if !direct { pool.forChunks(g.batch * g.inH, grain: 64) { r in
                for row in r {
                    let b = row / g.inH, iy = row % g.inH
                    (self.padded + ((b * self.hp + g.padTop + iy) * self.wp + g.padLeft) * g.inC)
                        .update(from: self.input + row * rowBytes, count: rowBytes)
                }
            } }
            let source = direct ? input : UnsafePointer(padded)
            let pixels = g.batch * g.outH * g.outW, units = (pixels + Self.rowAlign - 1) / Self.rowAlign
            let n = tasks
            pool.parallelFor(n) { t in
                let u = splitRange(units, parts: n, t)
                let m0 = u.lowerBound * Self.rowAlign, m1 = min(pixels, u.upperBound * Self.rowAlign)
                if m0 >= m1 { return }
                let es = self.params.pointee.float_out != 0 ? 4 : 1
                vseg_q8_igemm(self.isa, m1 - m0, g.outC, g.kH, g.kW * g.inC, self.offsets + m0 * g.kH, source,
                              source, self.packed, self.output + m0 * g.outC * es, g.outC * es, self.params)
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
                        } else if out.floatOutput {
                            Int8Reference.conv(g, input: input, inputZeroPoint: zpIn, weights: w.baseAddress!, bias: b,
                                               scales: s.baseAddress!, output: out,
                                               intoFloat: UnsafeMutableRawPointer(output).assumingMemoryBound(to: Float.self))
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
