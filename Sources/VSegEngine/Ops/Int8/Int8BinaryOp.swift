import CKernels

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
/// rows split across threads, each run of rows one call of the C kernel
/// (`vseg_q8_binary_u8` / `_f32` in int8_elementwise.c: the same float operations,
/// AVX-512 / AVX2 / portable clones) with each side a vector or a per-row splat
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
        let s: Int8BinarySides, params: vseg_q8_binary_params, isa: Int32
        let constant: UnsafeMutablePointer<Float>, hasConstant: Bool
        let dims: [Int], sa: [Int], sb: [Int], rows: Int, inner: Int, innerA: Int, innerB: Int
        let po: UnsafeMutablePointer<UInt8>

        init(kind: BinaryKind, s: Int8BinarySides, constant: [Float], rq: Int8Requant, dims: [Int], sa: [Int], sb: [Int],
             po: UnsafeMutablePointer<UInt8>) {
            let op: Int32
            switch kind {
            case .add: op = Int32(VSEG_Q8_BINARY_ADD)
            case .sub: op = Int32(VSEG_Q8_BINARY_SUB)
            case .mul: op = Int32(VSEG_Q8_BINARY_MUL)
            case .max: op = Int32(VSEG_Q8_BINARY_MAX)
            case .min: op = Int32(VSEG_Q8_BINARY_MIN)
            case .div: preconditionFailure("INT8 Div is not supported")
            }
            params = vseg_q8_binary_params(op: op, zero_point: rq.zp, za: s.za, ka: s.ka, zb: s.zb, kb: s.kb, lo: rq.lo, hi: rq.hi)
            isa = Int8ISA.selected.rawValue
            self.s = s; self.dims = dims; self.sa = sa; self.sb = sb; self.po = po
            hasConstant = !constant.isEmpty
            self.constant = .allocate(capacity: max(constant.count, 1))
            self.constant.initialize(from: constant, count: constant.count)
            inner = dims.last!; innerA = sa.last!; innerB = sb.last!
            rows = dims.dropLast().reduce(1, *)
        }
        deinit { constant.deallocate() }

        /// `count` rows of `inner` elements from element offsets `oa`, `ob`, output row `row`;
        /// consecutive rows step by `rowA`, `rowB` (the second-to-last collapsed axis).
        @inline(__always)
        private func block(_ count: Int, _ n: Int, _ oa: Int, _ rowA: Int, _ ob: Int, _ rowB: Int,
                           _ o: UnsafeMutablePointer<UInt8>, _ rowY: Int) {
            withUnsafePointer(to: params) { p in
                if hasConstant {
                    vseg_q8_binary_f32(isa, p, count, n, s.a + oa, rowA, innerA, constant + ob, rowB, innerB, o, rowY)
                } else {
                    vseg_q8_binary_u8(isa, p, count, n, s.a + oa, rowA, innerA, s.b! + ob, rowB, innerB, o, rowY)
                }
            }
        }

        func run(_ pool: ThreadPool) {
            let inner = self.inner
            if rows == 1 {
                pool.forChunks(inner) { r in
                    let o = r.lowerBound
                    block(1, r.count, o * innerA, 0, o * innerB, 0, po + o, 0)
                }
                return
            }
            // Rows = outer index x the second-to-last axis: each run of rows inside one
            // outer index is one C call (strided rows), the outer index decomposed once.
            let k = dims.count - 2, mid = dims[k], midA = sa[k], midB = sb[k]
            pool.forChunks(rows, grain: Swift.max(1, 16384 / Swift.max(inner, 1))) { r in
                var rw = r.lowerBound
                while rw < r.upperBound {
                    var rem = rw / mid, oa = 0, ob = 0
                    let j = rw - rem * mid, count = Swift.min(mid - j, r.upperBound - rw)
                    var d = k - 1
                    while d >= 0 { let q = rem % dims[d]; rem /= dims[d]; oa += q * sa[d]; ob += q * sb[d]; d -= 1 }
                    block(count, inner, oa + j * midA, midA, ob + j * midB, midB, po + rw * inner, inner)
                    rw += count
                }
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
