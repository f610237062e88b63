/// INT8 max and average pooling over H, W of NHWC (same geometry as `PoolOp`:
/// padding, dilation, ceil mode, count-include-pad, global windows).
/// - Max keeps the input's parameters (a byte max is the real max); a fused
///   clamp becomes a clamp in the uint8 domain. A window with no valid tap gives
///   qmin (FP32 gives -inf, which quantizes to 0).
/// - Average: acc = sum over valid taps of (q - zpIn) (int32, exact), then
///   y = Float(acc) * (inScale / (outScale * divisor)) with one multiplier per
///   possible divisor made at prepare, requantized with the fused clamp.
/// Fast path: per output pixel the taps are accumulated over the channels into a
/// per-task int32 row; rows split across threads. Twin: per output element.
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
                        threads: c.threads, reference: c.reference)
    }

    final class Prepared: PreparedOp {
        let a: PoolAttrs, g: PoolOp.Geo, zpIn: Int32, rq: Int8Requant, multipliers: [Float]
        let x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>, reference: Bool
        let scratch: UnsafeMutablePointer<Int32>, threads: Int, stride: Int
        /// uint8 clamp of max pooling (input params; carries the fused clamp).
        let qmin: UInt8, qmax: UInt8

        init(a: PoolAttrs, g: PoolOp.Geo, zpIn: Int32, rq: Int8Requant, multipliers: [Float], x: UnsafePointer<UInt8>,
             y: UnsafeMutablePointer<UInt8>, threads: Int, reference: Bool) {
            self.a = a; self.g = g; self.zpIn = zpIn; self.rq = rq; self.multipliers = multipliers
            self.x = x; self.y = y; self.reference = reference; self.threads = max(threads, 1)
            qmin = UInt8(Int32(rq.lo) + rq.zp); qmax = UInt8(Int32(rq.hi) + rq.zp)
            // One int32 row per task, each on its own cache lines.
            stride = (max(g.c, 1) + 15) & ~15
            scratch = UnsafeMutableRawPointer.allocate(byteCount: stride * self.threads * 4, alignment: 64)
                .bindMemory(to: Int32.self, capacity: stride * self.threads)
        }
        deinit { scratch.deallocate() }

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
            let rows = g.n * g.oh, C = g.c
            let isMax = a.kind == .max
            multipliers.withUnsafeBufferPointer { mult in
                pool.forTasks(rows, grain: max(1, 4096 / max(g.ow * C, 1))) { t, r in
                    let acc = scratch + t * stride
                    for row in r {
                        let n = row / g.oh, oy = row % g.oh
                        let hs = oy * a.stride.h - g.padT
                        for ox in 0 ..< g.ow {
                            let ws = ox * a.stride.w - g.padL
                            let out = y + (row * g.ow + ox) * C
                            if isMax {
                                for ch in 0 ..< C { out[ch] = 0 }
                            } else {
                                for ch in 0 ..< C { acc[ch] = 0 }
                            }
                            var valid: Int32 = 0
                            for ky in 0 ..< a.kernel.h {
                                let iy = hs + ky * a.dilation.h
                                if iy < 0 || iy >= g.ih { continue }
                                for kx in 0 ..< a.kernel.w {
                                    let ix = ws + kx * a.dilation.w
                                    if ix < 0 || ix >= g.iw { continue }
                                    let src = x + ((n * g.ih + iy) * g.iw + ix) * C
                                    valid &+= 1
                                    if isMax {
                                        for ch in 0 ..< C { out[ch] = Swift.max(out[ch], src[ch]) }
                                    } else {
                                        for ch in 0 ..< C { acc[ch] &+= Int32(src[ch]) }
                                    }
                                }
                            }
                            if isMax {
                                let lo = qmin, hi = qmax
                                for ch in 0 ..< C { out[ch] = Swift.min(Swift.max(out[ch], lo), hi) }
                            } else {
                                let k = mult[divisor(hs, ws)], bias = valid &* zpIn
                                for ch in 0 ..< C { out[ch] = rq.scalar(Float(acc[ch] &- bias) * k) }
                            }
                        }
                    }
                }
            }
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
