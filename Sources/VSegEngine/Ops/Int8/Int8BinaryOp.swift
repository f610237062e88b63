/// INT8 Add, Sub, Mul, Max, Min with numpy broadcasting (fp32 rescaling, XNNPACK style).
///
/// Each operand becomes a float in output units before the op:
///   add/sub/max/min: x = (q - zp) * (scale / outScale); a float constant c: c / outScale
///   mul:             a = (q - zp);  b = (q - zp) * (scaleA * scaleB / outScale);
///                    a float constant c: c * scaleA / outScale
/// then y = a op b, clamped (fused clamp activation included) and rounded as in
/// `Int8Requant`. Input 0 must be an activation (the session runs the INT8
/// definition only when its first input is uint8); input 1 is an activation or
/// a float32 constant, folded into the fp32 math at prepare.
/// Fast path: axes with equal broadcast patterns collapsed (`Broadcast.collapse`),
/// rows split across threads, 16-lane inner loop with each side a vector or a splat
/// (same shape, per-channel and scalar operands). Twin: per-element index decomposition.
enum Int8BinaryOp: Int8OpDefinition {
    static func supports(_ c: InferContext) -> Bool {
        guard case let .binary(kind, act) = c.node.op, kind != .div, act.clampRange != nil,
              c.inputs.count == 2, let a = c.inputs[0], let b = c.inputs[1],
              a.dtype == .float32, b.dtype == .float32, c.constant(0) == nil,
              Broadcast.shape(a.shape, b.shape) != nil else { return false }
        return c.constant(1) == nil || c.isFloatConstant(1)
    }

    static func outputRule(_ op: Op) -> Int8OutputRule { .calibrated }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .binary(kind, act) = c.node.op, kind != .div, let clamp = act.clampRange else {
            throw c.fail("\(c.node.op.name) is not supported in INT8")
        }
        let a = try c.input(0), b = try c.input(1), out = c.outputs[0]
        let qa = try c.activationQuant(input: 0), qy = try c.activationQuant(output: 0)
        let mul = kind == .mul
        var s = Int8BinarySides(ka: mul ? 1 : ratio(qa.scale, qy.scale), za: Float(qa.zeroPoint), a: UnsafePointer(c.u8In(0)))
        var constant: [Float] = []
        if let data = c.constant(1) {
            guard data.dtype == .float32 else { throw c.fail("INT8 \(c.node.op.name) needs a float32 constant operand") }
            let m = mul ? Double(qa.scale) / Double(qy.scale) : 1 / Double(qy.scale)
            constant = data.asFloats.map { Float(Double($0) * m) }
        } else {
            let qb = try c.activationQuant(input: 1)
            s.kb = mul ? Float(Double(qa.scale) * Double(qb.scale) / Double(qy.scale)) : ratio(qb.scale, qy.scale)
            s.zb = Float(qb.zeroPoint)
            s.b = UnsafePointer(c.u8In(1))
        }
        let rq = Int8Requant(output: qy, clamp: clamp)
        if c.reference {
            return Reference(kind: kind, s: s, constant: constant, rq: rq, a: a.shape, b: b.shape, out: out.shape, po: c.u8Out(0))
        }
        let (dims, sa, sb) = Broadcast.collapse(out: out.shape, a: a.shape, b: b.shape)
        return Fast(kind: kind, s: s, constant: constant, rq: rq, dims: dims, sa: sa, sb: sb, po: c.u8Out(0))
    }

    final class Fast: PreparedOp {
        let kind: BinaryKind, s: Int8BinarySides, rq: Int8Requant
        let constant: UnsafeMutablePointer<Float>, hasConstant: Bool
        let dims: [Int], sa: [Int], sb: [Int], rows: Int, inner: Int, innerA: Int, innerB: Int
        let po: UnsafeMutablePointer<UInt8>

        init(kind: BinaryKind, s: Int8BinarySides, constant: [Float], rq: Int8Requant, dims: [Int], sa: [Int], sb: [Int],
             po: UnsafeMutablePointer<UInt8>) {
            self.kind = kind; self.s = s; self.rq = rq; self.dims = dims; self.sa = sa; self.sb = sb; self.po = po
            hasConstant = !constant.isEmpty
            self.constant = .allocate(capacity: max(constant.count, 1))
            self.constant.initialize(from: constant, count: constant.count)
            inner = dims.last!; innerA = sa.last!; innerB = sb.last!
            rows = dims.dropLast().reduce(1, *)
        }
        deinit { constant.deallocate() }

        func run(_ pool: ThreadPool) {
            switch kind {
            case .add: go(AddFn.self, pool)
            case .sub: go(SubFn.self, pool)
            case .mul: go(MulFn.self, pool)
            case .max: go(MaxFn.self, pool)
            case .min: go(MinFn.self, pool)
            case .div: preconditionFailure("INT8 Div is not supported")
            }
        }

        @inline(__always)
        private func go<F: BinaryFn>(_ f: F.Type, _ pool: ThreadPool) {
            if rows == 1 {
                pool.forChunks(inner) { r in
                    let o = r.lowerBound
                    row(F.self, o * innerA, o * innerB, po + o, r.count)
                }
                return
            }
            pool.forChunks(rows, grain: Swift.max(1, 16384 / Swift.max(inner, 1))) { r in
                if dims.count == 2 {
                    // One outer axis (per-channel operands): offsets without divisions.
                    for rw in r { row(F.self, rw * sa[0], rw * sb[0], po + rw * inner, inner) }
                    return
                }
                for rw in r {
                    var rem = rw, oa = 0, ob = 0
                    var d = dims.count - 2
                    while d >= 0 { let q = rem % dims[d]; rem /= dims[d]; oa += q * sa[d]; ob += q * sb[d]; d -= 1 }
                    row(F.self, oa, ob, po + rw * inner, inner)
                }
            }
        }

        /// One output row of `n` elements starting at element offsets `oa`, `ob`.
        @inline(__always)
        private func row<F: BinaryFn>(_ f: F.Type, _ oa: Int, _ ob: Int, _ o: UnsafeMutablePointer<UInt8>, _ n: Int) {
            if innerA == 1 {
                let la = U8Lane(p: s.a + oa, zp: s.za, k: s.ka)
                rowB(F.self, la, ob, o, n)
            } else {
                rowB(F.self, SplatLane(x: s.valueA(oa)), ob, o, n)
            }
        }

        @inline(__always)
        private func rowB<F: BinaryFn, A: Int8Lane>(_ f: F.Type, _ la: A, _ ob: Int, _ o: UnsafeMutablePointer<UInt8>, _ n: Int) {
            if innerB == 0 {
                let x = hasConstant ? constant[ob] : s.valueB(ob)
                int8BinaryRow(F.self, la, SplatLane(x: x), rq, o, n)
            } else if hasConstant {
                int8BinaryRow(F.self, la, F32Lane(p: constant + ob), rq, o, n)
            } else {
                int8BinaryRow(F.self, la, U8Lane(p: s.b! + ob, zp: s.zb, k: s.kb), rq, o, n)
            }
        }
    }

    final class Reference: PreparedOp {
        let kind: BinaryKind, s: Int8BinarySides, constant: [Float], rq: Int8Requant
        let sa: [Int], sb: [Int], out: [Int], n: Int
        let po: UnsafeMutablePointer<UInt8>
        init(kind: BinaryKind, s: Int8BinarySides, constant: [Float], rq: Int8Requant, a: [Int], b: [Int], out: [Int],
             po: UnsafeMutablePointer<UInt8>) {
            self.kind = kind; self.s = s; self.constant = constant; self.rq = rq; self.out = out; self.po = po
            n = out.reduce(1, *)
            sa = Broadcast.strides(a, out: out); sb = Broadcast.strides(b, out: out)
        }
        func run(_ pool: ThreadPool) {
            let os = stridesOf(out)
            for i in 0 ..< n {
                var rem = i, ia = 0, ib = 0
                for d in 0 ..< out.count { let q = rem / os[d]; rem -= q * os[d]; ia += q * sa[d]; ib += q * sb[d] }
                let x = s.valueA(ia), y = constant.isEmpty ? s.valueB(ib) : constant[ib]
                po[i] = rq.scalar(BinaryOp.scalar(kind, x, y))
            }
        }
    }
}

/// The operands of an INT8 binary op and their conversion to output units.
struct Int8BinarySides {
    var ka: Float, za: Float, a: UnsafePointer<UInt8>
    var kb: Float = 0, zb: Float = 0, b: UnsafePointer<UInt8>? = nil

    init(ka: Float, za: Float, a: UnsafePointer<UInt8>) { self.ka = ka; self.za = za; self.a = a }

    @inline(__always) func valueA(_ i: Int) -> Float { (Float(a[i]) - za) * ka }
    @inline(__always) func valueB(_ i: Int) -> Float { (Float(b![i]) - zb) * kb }
}

/// One side of an elementwise INT8 op as floats in output units.
protocol Int8Lane {
    func s(_ i: Int) -> Float
    func v(_ i: Int) -> F16
}

/// uint8 elements: (q - zp) * k.
struct U8Lane: Int8Lane {
    let p: UnsafePointer<UInt8>, zp: Float, k: Float
    @inline(__always) func s(_ i: Int) -> Float { (Float(p[i]) - zp) * k }
    @inline(__always) func v(_ i: Int) -> F16 { (u8x16ToFloat(UnsafeRawPointer(p + i)) - zp) * k }
}

/// Float elements already in output units (a folded constant).
struct F32Lane: Int8Lane {
    let p: UnsafePointer<Float>
    @inline(__always) func s(_ i: Int) -> Float { p[i] }
    @inline(__always) func v(_ i: Int) -> F16 { UnsafeRawPointer(p + i).loadUnaligned(as: F16.self) }
}

/// One value for the whole row (a broadcast operand).
struct SplatLane: Int8Lane {
    let x: Float
    @inline(__always) func s(_ i: Int) -> Float { x }
    @inline(__always) func v(_ i: Int) -> F16 { F16(repeating: x) }
}

/// out[i] = requant(F(a[i], b[i])) over a row, 16 lanes at a time.
@inline(__always)
func int8BinaryRow<F: BinaryFn, A: Int8Lane, B: Int8Lane>(_ f: F.Type, _ a: A, _ b: B, _ rq: Int8Requant,
                                                          _ o: UnsafeMutablePointer<UInt8>, _ n: Int) {
    let ro = UnsafeMutableRawPointer(o)
    var i = 0
    while i + 16 <= n {
        ro.storeBytes(of: rq.vector(F.v(a.v(i), b.v(i))), toByteOffset: i, as: SIMD16<UInt8>.self)
        i += 16
    }
    while i < n { o[i] = rq.scalar(F.s(a.s(i), b.s(i))); i += 1 }
}
