import CKernels

/// INT8 Resize of H, W in NHWC, nearest or bilinear, with every coordinate
/// transform and nearest rounding of `ResizeOp` (same output size resolution and
/// tap tables: `ResizeOp.plan`, `source`, `nearestIndex`, `linearTaps`).
/// Both modes keep the input's parameters (`.sameAsInput(0)`): nearest moves
/// bytes; bilinear interpolates the bytes directly, which is the real-valued
/// interpolation because the weights sum to 1 and scale/zero point are shared
/// (TFLite makes the same choice), so no calibrated range is needed and no
/// requantization error is added:
///   top = q00 * (1 - fx) + q01 * fx, bot = q10 * (1 - fx) + q11 * fx,
///   v = top * (1 - fy) + bot * fy, rounded to nearest even, clamped to 0...255.
/// Fast path: tap tables at prepare, rows split across threads; a bilinear row is
/// one call of `vseg_q8_resize_bilinear_row` (int8_elementwise.c: `lerp`'s float
/// operations in the same order, vectorized over channels, or on AVX-512 over
/// 16 / C pixels when C is 1, 2, 4 or 8). Twin: coordinates
/// recomputed per output element.
enum Int8ResizeOp: Int8OpDefinition {
    static func supports(_ c: InferContext) -> Bool {
        guard case .resize = c.node.op, let x = c.inputs.first ?? nil, x.dtype == .float32, c.constant(0) == nil else { return false }
        return (try? ResizeOp.plan(c)) != nil
    }

    static func outputRule(_ op: Op) -> Int8OutputRule { .sameAsInput(0) }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .resize(a) = c.node.op else { preconditionFailure() }
        let p = try ResizeOp.plan(c.infer.asFloatView)
        if c.reference { return Reference(a: a, p: p, x: c.u8In(0), y: c.u8Out(0)) }
        return Fast(a: a, p: p, x: c.u8In(0), y: c.u8Out(0))
    }

    @inline(__always)
    static func lerp(_ q00: UInt8, _ q01: UInt8, _ q10: UInt8, _ q11: UInt8, _ fx: Float, _ fy: Float) -> UInt8 {
        let gx = 1 - fx, gy = 1 - fy
        let top = Float(q00) * gx + Float(q01) * fx
        let bot = Float(q10) * gx + Float(q11) * fx
        return Int8Requant.bytes.scalar(top * gy + bot * fy)
    }

    final class Fast: PreparedOp {
        let p: ResizeOp.Plan, linear: Bool
        let x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>
        let y0: [Int], y1: [Int], wy: [Float], x0: [Int], x1: [Int], wx: [Float]
        /// Bilinear: byte offsets of the two source columns in a row (x0 * C, x1 * C).
        let bx0: [Int], bx1: [Int], isa: Int32
        init(a: ResizeAttrs, p: ResizeOp.Plan, x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>) {
            self.p = p; self.x = x; self.y = y; linear = a.mode == .linear
            let (y0, y1, wy) = ResizeOp.taps(a, inSize: p.ih, outSize: p.oh, scale: p.scaleH)
            let (x0, x1, wx) = ResizeOp.taps(a, inSize: p.iw, outSize: p.ow, scale: p.scaleW)
            self.y0 = y0; self.y1 = y1; self.wy = wy; self.x0 = x0; self.x1 = x1; self.wx = wx
            bx0 = x0.map { $0 * p.c }; bx1 = x1.map { $0 * p.c }
            isa = Int8ISA.selected.rawValue
        }

        func run(_ pool: ThreadPool) {
            let p = self.p, C = p.c, linear = self.linear
            y0.withUnsafeBufferPointer { y0 in y1.withUnsafeBufferPointer { y1 in wy.withUnsafeBufferPointer { wy in
            x0.withUnsafeBufferPointer { x0 in bx0.withUnsafeBufferPointer { bx0 in bx1.withUnsafeBufferPointer { bx1 in
            wx.withUnsafeBufferPointer { wx in
                pool.forChunks(p.n * p.oh, grain: max(1, 16384 / max(p.ow * C, 1))) { r in
                    for row in r {
                        let n = row / p.oh, oy = row % p.oh
                        let out = y + row * p.ow * C
                        if !linear {
                            let src = x + (n * p.ih + y0[oy]) * p.iw * C
                            for ox in 0 ..< p.ow { copyBytes(out + ox * C, src + x0[ox] * C, C) }
                            continue
                        }
                        let r0 = x + (n * p.ih + y0[oy]) * p.iw * C, r1 = x + (n * p.ih + y1[oy]) * p.iw * C
                        vseg_q8_resize_bilinear_row(isa, r0, r1, p.ow, C, bx0.baseAddress, bx1.baseAddress, wx.baseAddress,
                                                    wy[oy], out)
                    }
                }
            } } } } } } }
        }
    }

    final class Reference: PreparedOp {
        let a: ResizeAttrs, p: ResizeOp.Plan, x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>
        init(a: ResizeAttrs, p: ResizeOp.Plan, x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>) {
            self.a = a; self.p = p; self.x = x; self.y = y
        }
        func run(_ pool: ThreadPool) {
            for n in 0 ..< p.n { for oy in 0 ..< p.oh { for ox in 0 ..< p.ow { for ch in 0 ..< p.c {
                let sy = ResizeOp.source(oy, inSize: p.ih, outSize: p.oh, scale: p.scaleH, a.coordinate)
                let sx = ResizeOp.source(ox, inSize: p.iw, outSize: p.ow, scale: p.scaleW, a.coordinate)
                func at(_ iy: Int, _ ix: Int) -> UInt8 { x[((n * p.ih + iy) * p.iw + ix) * p.c + ch] }
                let v: UInt8
                if a.mode == .nearest {
                    v = at(ResizeOp.nearestIndex(sy, inSize: p.ih, a.nearest), ResizeOp.nearestIndex(sx, inSize: p.iw, a.nearest))
                } else {
                    let ty = ResizeOp.linearTaps(sy, inSize: p.ih), tx = ResizeOp.linearTaps(sx, inSize: p.iw)
                    v = Int8ResizeOp.lerp(at(ty.0, tx.0), at(ty.0, tx.1), at(ty.1, tx.0), at(ty.1, tx.1), tx.2, ty.2)
                }
                y[((n * p.oh + oy) * p.ow + ox) * p.c + ch] = v
            } } } }
        }
    }
}
