/// Resize of H, W in an NHWC tensor: nearest (four rounding modes) or bilinear,
/// with asymmetric, half_pixel, pytorch_half_pixel, align_corners and
/// tf_half_pixel_for_nearest coordinates. Output size comes from a sizes input,
/// a scales input, or the attributes. Fast path: per-axis source index and
/// weight tables built at prepare, rows split across threads, vectorized over
/// channels. Twin: coordinates recomputed per output element.
enum ResizeOp: OpDefinition {
    struct Plan { var n = 0, ih = 0, iw = 0, c = 0, oh = 0, ow = 0; var scaleH: Float = 1, scaleW: Float = 1 }

    static func plan(_ c: InferContext) throws -> Plan {
        guard case let .resize(a) = c.node.op else { preconditionFailure() }
        let x = try c.input(0)
        guard x.shape.count == 4, x.dtype == .float32 else { throw c.fail("Resize needs a float NHWC tensor, got \(x.shape)") }
        var p = Plan(n: x.shape[0], ih: x.shape[1], iw: x.shape[2], c: x.shape[3])
        var sizes: [Int]? = nil
        var scales: [Float]? = nil
        if c.has(1) {
            guard let s = c.constantInts(1) else { throw c.fail("Resize sizes must be constant after folding") }
            if !s.isEmpty { sizes = s }
        }
        if c.has(2) {
            guard let s = c.constant(2)?.asFloats else { throw c.fail("Resize scales must be constant after folding") }
            if !s.isEmpty { scales = s }
        }
        if let s = sizes {
            guard s.count == 2 || s.count == 4 else { throw c.fail("Resize sizes \(s) must have 2 or 4 values") }
            (p.oh, p.ow) = s.count == 2 ? (s[0], s[1]) : (s[1], s[2])
        } else if let s = scales {
            guard s.count == 2 || s.count == 4 else { throw c.fail("Resize scales \(s) must have 2 or 4 values") }
            (p.scaleH, p.scaleW) = s.count == 2 ? (s[0], s[1]) : (s[1], s[2])
            p.oh = Int((Float(p.ih) * p.scaleH).rounded(.down)); p.ow = Int((Float(p.iw) * p.scaleW).rounded(.down))
        } else if let o = a.outputSize {
            (p.oh, p.ow) = o
        } else if let s = a.scales {
            (p.scaleH, p.scaleW) = s
            p.oh = Int((Float(p.ih) * p.scaleH).rounded(.down)); p.ow = Int((Float(p.iw) * p.scaleW).rounded(.down))
        } else {
            throw c.fail("Resize has no output size or scales")
        }
        guard p.oh >= 1, p.ow >= 1, p.oh <= 1 << 15, p.ow <= 1 << 15 else { throw c.fail("Resize output \(p.oh)x\(p.ow) is invalid") }
        if sizes != nil || (scales == nil && a.scales == nil) {
            p.scaleH = Float(p.oh) / Float(p.ih); p.scaleW = Float(p.ow) / Float(p.iw)
        }
        return p
    }

    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        let p = try plan(c)
        return [TensorMeta(shape: [p.n, p.oh, p.ow, p.c], dtype: .float32)]
    }

    /// Source coordinate of output index `o` along an axis.
    @inline(__always)
    static func source(_ o: Int, inSize: Int, outSize: Int, scale: Float, _ t: ResizeAttrs.CoordinateTransform) -> Float {
        let x = Float(o)
        switch t {
        case .asymmetric: return x / scale
        case .halfPixel: return (x + 0.5) / scale - 0.5
        case .pytorchHalfPixel: return outSize > 1 ? (x + 0.5) / scale - 0.5 : 0
        case .alignCorners: return outSize > 1 ? x * Float(inSize - 1) / Float(outSize - 1) : 0
        case .tfHalfPixelForNN: return (x + 0.5) / scale
        }
    }

    @inline(__always)
    static func nearestIndex(_ s: Float, inSize: Int, _ r: ResizeAttrs.NearestRounding) -> Int {
        let v: Float
        switch r {
        case .roundPreferFloor: v = (s - 0.5).rounded(.up)
        case .roundPreferCeil: v = (s + 0.5).rounded(.down)
        case .floor: v = s.rounded(.down)
        case .ceil: v = s.rounded(.up)
        }
        return Swift.min(Swift.max(Int(v), 0), inSize - 1)
    }

    /// Linear taps: (i0, i1, weight of i1).
    @inline(__always)
    /// Source taps of every output index along one axis: (first, second, weight of
    /// the second) for linear, (index, -, -) for nearest. Shared by the FP32 and INT8 ops.
    static func taps(_ a: ResizeAttrs, inSize: Int, outSize: Int, scale: Float) -> ([Int], [Int], [Float]) {
        var i0: [Int] = [], i1: [Int] = [], w: [Float] = []
        for o in 0 ..< outSize {
            let s = source(o, inSize: inSize, outSize: outSize, scale: scale, a.coordinate)
            if a.mode == .linear { let t = linearTaps(s, inSize: inSize); i0.append(t.0); i1.append(t.1); w.append(t.2) }
            else { i0.append(nearestIndex(s, inSize: inSize, a.nearest)) }
        }
        return (i0, i1, w)
    }

    static func linearTaps(_ s: Float, inSize: Int) -> (Int, Int, Float) {
        let cl = Swift.min(Swift.max(s, 0), Float(inSize - 1))
        let i0 = Int(cl.rounded(.down))
        return (i0, Swift.min(i0 + 1, inSize - 1), cl - Float(i0))
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .resize(a) = c.node.op else { preconditionFailure() }
        let p = try plan(c.infer)
        if c.reference { return Reference(a: a, p: p, x: c.floatIn(0), y: c.floatOut(0)) }
        return Fast(a: a, p: p, x: c.floatIn(0), y: c.floatOut(0))
    }

    final class Fast: PreparedOp {
        let p: Plan, linear: Bool
        let x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
        var y0: [Int] = [], y1: [Int] = [], wy: [Float] = [], x0: [Int] = [], x1: [Int] = [], wx: [Float] = []
        init(a: ResizeAttrs, p: Plan, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) {
            self.p = p; self.x = x; self.y = y; linear = a.mode == .linear
            (y0, y1, wy) = ResizeOp.taps(a, inSize: p.ih, outSize: p.oh, scale: p.scaleH)
            (x0, x1, wx) = ResizeOp.taps(a, inSize: p.iw, outSize: p.ow, scale: p.scaleW)
        }

        func run(_ pool: ThreadPool) {
            let p = self.p, C = p.c
            y0.withUnsafeBufferPointer { y0 in y1.withUnsafeBufferPointer { y1 in wy.withUnsafeBufferPointer { wy in
            x0.withUnsafeBufferPointer { x0 in x1.withUnsafeBufferPointer { x1 in wx.withUnsafeBufferPointer { wx in
                pool.forChunks(p.n * p.oh, grain: max(1, 8192 / max(p.ow * C, 1))) { r in
                    for row in r {
                        let n = row / p.oh, oy = row % p.oh
                        let out = y + row * p.ow * C
                        if !linear {
                            let src = x + (n * p.ih + y0[oy]) * p.iw * C
                            for ox in 0 ..< p.ow { (out + ox * C).update(from: src + x0[ox] * C, count: C) }
                            continue
                        }
                        let r0 = x + (n * p.ih + y0[oy]) * p.iw * C, r1 = x + (n * p.ih + y1[oy]) * p.iw * C
                        let fy = wy[oy], gy = 1 - fy
                        for ox in 0 ..< p.ow {
                            let a0 = x0[ox] * C, a1 = x1[ox] * C
                            let fx = wx[ox], gx = 1 - fx
                            let w00 = gy * gx, w01 = gy * fx, w10 = fy * gx, w11 = fy * fx
                            let o = out + ox * C
                            for ch in 0 ..< C {
                                o[ch] = r0[a0 + ch] * w00 + r0[a1 + ch] * w01 + r1[a0 + ch] * w10 + r1[a1 + ch] * w11
                            }
                        }
                    }
                }
            } } } } } }
        }
    }

    final class Reference: PreparedOp {
        let a: ResizeAttrs, p: Plan, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
        init(a: ResizeAttrs, p: Plan, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) {
            self.a = a; self.p = p; self.x = x; self.y = y
        }
        func run(_ pool: ThreadPool) {
            for n in 0 ..< p.n { for oy in 0 ..< p.oh { for ox in 0 ..< p.ow { for ch in 0 ..< p.c {
                let sy = ResizeOp.source(oy, inSize: p.ih, outSize: p.oh, scale: p.scaleH, a.coordinate)
                let sx = ResizeOp.source(ox, inSize: p.iw, outSize: p.ow, scale: p.scaleW, a.coordinate)
                let v: Float
                if a.mode == .nearest {
                    let iy = ResizeOp.nearestIndex(sy, inSize: p.ih, a.nearest), ix = ResizeOp.nearestIndex(sx, inSize: p.iw, a.nearest)
                    v = x[((n * p.ih + iy) * p.iw + ix) * p.c + ch]
                } else {
                    let ty = ResizeOp.linearTaps(sy, inSize: p.ih), tx = ResizeOp.linearTaps(sx, inSize: p.iw)
                    func at(_ iy: Int, _ ix: Int) -> Float { x[((n * p.ih + iy) * p.iw + ix) * p.c + ch] }
                    let top = at(ty.0, tx.0) * (1 - tx.2) + at(ty.0, tx.1) * tx.2
                    let bot = at(ty.1, tx.0) * (1 - tx.2) + at(ty.1, tx.1) * tx.2
                    v = top * (1 - ty.2) + bot * ty.2
                }
                y[((n * p.oh + oy) * p.ow + ox) * p.c + ch] = v
            } } } }
        }
    }
}
