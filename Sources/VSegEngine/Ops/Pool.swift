import VSegCore

/// Average and max pooling over H and W of an NHWC tensor, with SAME/VALID/
/// explicit padding, dilation, ceil mode, count-include-pad and a fused
/// activation. Fast path: per output pixel, the window taps are accumulated
/// into the output row vectorized over channels, rows split across threads.
/// Twin: one scalar loop per output element.
enum PoolOp: OpDefinition {
    struct Geo {
        var n = 0, ih = 0, iw = 0, c = 0, oh = 0, ow = 0
        var padT = 0, padL = 0, padB = 0, padR = 0
    }

    static func geometry(_ c: InferContext) throws -> Geo {
        guard case let .pool(a) = c.node.op else { preconditionFailure() }
        let x = try c.input(0)
        guard x.shape.count == 4, x.dtype == .float32 else { throw c.fail("pooling needs a float NHWC tensor, got \(x.shape)") }
        guard let h = ConvShapes.forward(input: x.shape[1], kernel: a.kernel.h, stride: a.stride.h, dilation: a.dilation.h,
                                         padding: a.padding, vertical: true, ceilMode: a.ceilMode),
              let w = ConvShapes.forward(input: x.shape[2], kernel: a.kernel.w, stride: a.stride.w, dilation: a.dilation.w,
                                         padding: a.padding, vertical: false, ceilMode: a.ceilMode) else {
            throw c.fail("pool window \(a.kernel) does not fit input \(x.shape)")
        }
        return Geo(n: x.shape[0], ih: x.shape[1], iw: x.shape[2], c: x.shape[3], oh: h.out, ow: w.out,
                   padT: h.before, padL: w.before, padB: h.after, padR: w.after)
    }

    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        let g = try geometry(c)
        return [TensorMeta(shape: [g.n, g.oh, g.ow, g.c], dtype: .float32)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .pool(a) = c.node.op else { preconditionFailure() }
        return Prepared(a: a, g: try geometry(c.infer), x: c.floatIn(0), y: c.floatOut(0), reference: c.reference)
    }

    final class Prepared: PreparedOp {
        let a: PoolAttrs, g: Geo, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, reference: Bool
        init(a: PoolAttrs, g: Geo, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, reference: Bool) {
            self.a = a; self.g = g; self.x = x; self.y = y; self.reference = reference
        }

        /// Divisor of an average window starting at (hs, ws).
        @inline(__always)
        func divisor(_ hs: Int, _ ws: Int) -> Float {
            var nh = 0, nw = 0
            let hiH = a.countIncludePad ? g.ih + g.padB : g.ih, loH = a.countIncludePad ? -g.padT : 0
            let hiW = a.countIncludePad ? g.iw + g.padR : g.iw, loW = a.countIncludePad ? -g.padL : 0
            for k in 0 ..< a.kernel.h { let p = hs + k * a.dilation.h; if p >= loH && p < hiH { nh += 1 } }
            for k in 0 ..< a.kernel.w { let p = ws + k * a.dilation.w; if p >= loW && p < hiW { nw += 1 } }
            return Float(max(nh * nw, 1))
        }

        func run(_ pool: ThreadPool) {
            if reference { runReference(); return }
            let rows = g.n * g.oh, C = g.c
            let isMax = a.kind == .max
            pool.forChunks(rows, grain: max(1, 4096 / max(g.ow * C, 1))) { r in
                for row in r {
                    let n = row / g.oh, oy = row % g.oh
                    let hs = oy * a.stride.h - g.padT
                    for ox in 0 ..< g.ow {
                        let ws = ox * a.stride.w - g.padL
                        let out = y + (row * g.ow + ox) * C
                        let initial: Float = isMax ? -.infinity : 0
                        for ch in 0 ..< C { out[ch] = initial }
                        for ky in 0 ..< a.kernel.h {
                            let iy = hs + ky * a.dilation.h
                            if iy < 0 || iy >= g.ih { continue }
                            for kx in 0 ..< a.kernel.w {
                                let ix = ws + kx * a.dilation.w
                                if ix < 0 || ix >= g.iw { continue }
                                let src = x + ((n * g.ih + iy) * g.iw + ix) * C
                                if isMax {
                                    for ch in 0 ..< C { out[ch] = Swift.max(out[ch], src[ch]) }
                                } else {
                                    for ch in 0 ..< C { out[ch] += src[ch] }
                                }
                            }
                        }
                        if !isMax {
                            let inv = 1 / divisor(hs, ws)
                            for ch in 0 ..< C { out[ch] *= inv }
                        }
                    }
                }
                if !a.activation.isIdentity {
                    let base = r.lowerBound * g.ow * C
                    a.activation.apply(y + base, y + base, r.count * g.ow * C)
                }
            }
        }

        func runReference() {
            for n in 0 ..< g.n { for oy in 0 ..< g.oh { for ox in 0 ..< g.ow { for ch in 0 ..< g.c {
                let hs = oy * a.stride.h - g.padT, ws = ox * a.stride.w - g.padL
                var acc: Float = a.kind == .max ? -.infinity : 0
                for ky in 0 ..< a.kernel.h {
                    for kx in 0 ..< a.kernel.w {
                        let iy = hs + ky * a.dilation.h, ix = ws + kx * a.dilation.w
                        guard iy >= 0, iy < g.ih, ix >= 0, ix < g.iw else { continue }
                        let v = x[((n * g.ih + iy) * g.iw + ix) * g.c + ch]
                        acc = a.kind == .max ? Swift.max(acc, v) : acc + v
                    }
                }
                if a.kind == .average { acc /= divisor(hs, ws) }
                y[((n * g.oh + oy) * g.ow + ox) * g.c + ch] = a.activation.reference(acc)
            } } } }
        }
    }
}
