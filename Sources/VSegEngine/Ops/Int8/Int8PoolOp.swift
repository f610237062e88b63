import CKernels

/// INT8 max and average pooling over H, W of NHWC (same geometry as `PoolOp`:
/// padding, dilation, ceil mode, count-include-pad, global windows).
/// - Max keeps the input's parameters (a byte max is the real max); a fused
///   clamp becomes a clamp in the uint8 domain. A window with no valid tap gives
///   qmin (FP32 gives -inf, which quantizes to 0).
/// - Average: acc = sum over valid taps of (q - zpIn) (int32, exact), then
///   y = Float(acc) * (inScale / (outScale * divisor)) with one multiplier per
///   possible divisor made at prepare, requantized with the fused clamp.
/// Fast path: one call of `vseg_q8_maxpool_row` / `vseg_q8_avgpool_row`
/// (int8_elementwise.c) per output row, rows split across threads; each pixel's
/// window is reduced in registers, 16 to 64 channels at a time. Twin: per output element.
enum Int8PoolOp: Int8OpDefinition {
    static func supports(_ c: InferContext) -> Bool {
        guard case let .pool(a) = c.node.op, a.activation.clampRange != nil,
              let x = c.inputs.first ?? nil, x.shape.count == 4, x.dtype == .float32,
              (try? PoolOp.geometry(c)) != nil else { return false }
        return a.kernel.h * a.kernel.w <= 1 << 20
    }

    static func outputRule(_ op: Op) -> Int8OutputRule {
        if case let .pool(a) = op, a.kind == .max { return .sameAsInput(0) }
        return .calibrated
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .pool(a) = c.node.op, let clamp = a.activation.clampRange else { preconditionFailure() }
        let g = try PoolOp.geometry(c.infer.asFloatView)
        let qx = try c.activationQuant(input: 0), qy = try c.activationQuant(output: 0)
        let rq = Int8Requant(output: qy, clamp: clamp)
        // multipliers[d] for a window of d counted pixels (d >= 1).
        let taps = a.kernel.h * a.kernel.w
        let multipliers = (0 ... taps).map { d in Float(Double(qx.scale) / (Double(qy.scale) * Double(Swift.max(d, 1)))) }
        return Prepared(a: a, g: g, zpIn: qx.zeroPoint, rq: rq, multipliers: multipliers, x: c.u8In(0), y: c.u8Out(0),
                        reference: c.reference)
    }

    final class Prepared: PreparedOp {
        let a: PoolAttrs, g: PoolOp.Geo, zpIn: Int32, rq: Int8Requant, multipliers: [Float]
        let x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>, reference: Bool
        /// uint8 clamp of max pooling (input params; carries the fused clamp).
        let qmin: UInt8, qmax: UInt8
        /// For the C row kernels: geometry, divisor taps along H per output row and along W per output column.
        let cg: vseg_q8_pool_geometry, divH: [Int32], divW: [Int32], isa: Int32

        init(a: PoolAttrs, g: PoolOp.Geo, zpIn: Int32, rq: Int8Requant, multipliers: [Float], x: UnsafePointer<UInt8>,
             y: UnsafeMutablePointer<UInt8>, reference: Bool) {
            self.a = a; self.g = g; self.zpIn = zpIn; self.rq = rq; self.multipliers = multipliers
            self.x = x; self.y = y; self.reference = reference
            qmin = UInt8(Int32(rq.lo) + rq.zp); qmax = UInt8(Int32(rq.hi) + rq.zp)
            cg = vseg_q8_pool_geometry(in_h: Int32(g.ih), in_w: Int32(g.iw), channels: Int32(g.c), out_w: Int32(g.ow),
                                       k_h: Int32(a.kernel.h), k_w: Int32(a.kernel.w), stride_h: Int32(a.stride.h),
                                       stride_w: Int32(a.stride.w), dilation_h: Int32(a.dilation.h), dilation_w: Int32(a.dilation.w),
                                       pad_top: Int32(g.padT), pad_left: Int32(g.padL))
            divH = (0 ..< g.oh).map { oy in Int32(Self.counted(oy * a.stride.h - g.padT, a.kernel.h, a.dilation.h,
                                                               a.countIncludePad ? -g.padT : 0, a.countIncludePad ? g.ih + g.padB : g.ih)) }
            divW = (0 ..< g.ow).map { ox in Int32(Self.counted(ox * a.stride.w - g.padL, a.kernel.w, a.dilation.w,
                                                               a.countIncludePad ? -g.padL : 0, a.countIncludePad ? g.iw + g.padR : g.iw)) }
            isa = Int8ISA.selected.rawValue
        }

        /// Taps `start + k * dilation` (k < kernel) inside `lo ..< hi`.
        static func counted(_ start: Int, _ kernel: Int, _ dilation: Int, _ lo: Int, _ hi: Int) -> Int {
            (0 ..< kernel).filter { let p = start + $0 * dilation; return p >= lo && p < hi }.count
        }

        /// Pixels counted by the average divisor of a window starting at (hs, ws) (same rule as FP32).
        @inline(__always)
        func divisor(_ hs: Int, _ ws: Int) -> Int {
            var nh = 0, nw = 0
            let hiH = a.countIncludePad ? g.ih + g.padB : g.ih, loH = a.countIncludePad ? -g.padT : 0
            let hiW = a.countIncludePad ? g.iw + g.padR : g.iw, loW = a.countIncludePad ? -g.padL : 0
            for k in 0 ..< a.kernel.h { let p = hs + k * a.dilation.h; if p >= loH && p < hiH { nh += 1 } }
            for k in 0 ..< a.kernel.w { let p = ws + k * a.dilation.w; if p >= loW && p < hiW { nw += 1 } }
            return max(nh * nw, 1)
        }

        func run(_ pool: ThreadPool) {
            if reference { runReference(); return }
            if a.kind != .max { runAverage(pool); return }
            let rows = g.n * g.oh, imageBytes = g.ih * g.iw * g.c
            withUnsafePointer(to: cg) { cg in
                pool.forChunks(rows, grain: max(1, 4096 / max(g.ow * g.c, 1))) { r in
                    for row in r {
                        let n = row / g.oh, oy = row % g.oh
                        vseg_q8_maxpool_row(isa, cg, x + n * imageBytes, Int32(oy), qmin, qmax, y + row * g.ow * g.c)
                    }
                }
            }
        }

        /// Average pooling: one C call per output row (int8_elementwise.c): per pixel
        /// acc = sum of q over the taps inside the image, minus valid * zpIn, times the
        /// multiplier of the window's divisor, requantized.
        func runAverage(_ pool: ThreadPool) {
            let rows = g.n * g.oh, imageBytes = g.ih * g.iw * g.c
            withUnsafePointer(to: cg) { cg in divW.withUnsafeBufferPointer { divW in multipliers.withUnsafeBufferPointer { mult in
                pool.forChunks(rows, grain: max(1, 4096 / max(g.ow * g.c, 1))) { r in
                    for row in r {
                        let n = row / g.oh, oy = row % g.oh
                        vseg_q8_avgpool_row(isa, cg, x + n * imageBytes, Int32(oy), divH[oy], divW.baseAddress, mult.baseAddress, zpIn,
                                            rq.lo, rq.hi, rq.zp, y + row * g.ow * g.c)
                    }
                }
            } } }
        }

        func runReference() {
            for n in 0 ..< g.n { for oy in 0 ..< g.oh { for ox in 0 ..< g.ow { for ch in 0 ..< g.c {
                let hs = oy * a.stride.h - g.padT, ws = ox * a.stride.w - g.padL
                var best: UInt8 = 0
                var sum: Int32 = 0
                for ky in 0 ..< a.kernel.h {
                    for kx in 0 ..< a.kernel.w {
                        let iy = hs + ky * a.dilation.h, ix = ws + kx * a.dilation.w
                        guard iy >= 0, iy < g.ih, ix >= 0, ix < g.iw else { continue }
                        let v = x[((n * g.ih + iy) * g.iw + ix) * g.c + ch]
                        best = Swift.max(best, v)
                        sum += Int32(v) - zpIn
                    }
                }
                y[((n * g.oh + oy) * g.ow + ox) * g.c + ch] = a.kind == .max
                    ? Swift.min(Swift.max(best, qmin), qmax)
                    : rq.scalar(Float(sum) * multipliers[divisor(hs, ws)])
            } } } }
        }
    }
}
