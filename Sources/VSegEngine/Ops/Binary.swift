/// Add, Sub, Mul, Div, Max, Min with numpy broadcasting and an optional fused
/// activation. Fast path: axes with equal broadcast patterns are collapsed, so
/// same-shape, scalar and per-channel operands all become a loop over rows whose
/// inner loop is 16-lane SIMD with each side either a vector or a splat.
/// Twin: per-element index decomposition. Integer tensors (shape arithmetic)
/// always take the twin, computed in Int64 (division truncates, like ONNX).
enum BinaryOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        let a = try c.input(0), b = try c.input(1)
        guard let s = Broadcast.shape(a.shape, b.shape) else {
            throw c.fail("cannot broadcast \(a.shape) with \(b.shape)")
        }
        let isInt: (DType) -> Bool = { $0 == .int32 || $0 == .int64 }
        guard a.dtype == b.dtype || (isInt(a.dtype) && isInt(b.dtype)) else {
            throw c.fail("\(c.node.op.name) mixes \(a.dtype) and \(b.dtype)")
        }
        guard a.dtype == .float32 || isInt(a.dtype) else { throw c.fail("\(c.node.op.name) on \(a.dtype) is not supported") }
        let dt: DType = a.dtype == .int64 || b.dtype == .int64 ? .int64 : a.dtype
        return [TensorMeta(shape: s, dtype: dt)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .binary(kind, act) = c.node.op else { preconditionFailure() }
        let a = try c.input(0), b = try c.input(1), out = c.outputs[0]
        if out.dtype != .float32 {
            return IntReference(kind: kind, a: a, b: b, out: out, pa: c.inPtr[0]!, pb: c.inPtr[1]!, po: c.outPtr[0])
        }
        if c.reference {
            return Reference(kind: kind, act: act, a: a.shape, b: b.shape, out: out.shape,
                             pa: c.floatIn(0), pb: c.floatIn(1), po: c.floatOut(0))
        }
        let (dims, sa, sb) = Broadcast.collapse(out: out.shape, a: a.shape, b: b.shape)
        return Fast(kind: kind, act: act, dims: dims, sa: sa, sb: sb, pa: c.floatIn(0), pb: c.floatIn(1), po: c.floatOut(0))
    }

    static func scalar(_ k: BinaryKind, _ x: Float, _ y: Float) -> Float {
        switch k {
        case .add: return x + y
        case .sub: return x - y
        case .mul: return x * y
        case .div: return x / y
        case .max: return Swift.max(x, y)
        case .min: return Swift.min(x, y)
        }
    }

    final class Reference: PreparedOp {
        let kind: BinaryKind, act: Activation
        let sa: [Int], sb: [Int], out: [Int], n: Int
        let pa: UnsafeMutablePointer<Float>, pb: UnsafeMutablePointer<Float>, po: UnsafeMutablePointer<Float>
        init(kind: BinaryKind, act: Activation, a: [Int], b: [Int], out: [Int],
             pa: UnsafeMutablePointer<Float>, pb: UnsafeMutablePointer<Float>, po: UnsafeMutablePointer<Float>) {
            self.kind = kind; self.act = act; self.out = out; n = out.reduce(1, *)
            sa = Broadcast.strides(a, out: out); sb = Broadcast.strides(b, out: out)
            self.pa = pa; self.pb = pb; self.po = po
        }
        func run(_ pool: ThreadPool) {
            let os = stridesOf(out)
            for i in 0 ..< n {
                var rem = i, ia = 0, ib = 0
                for d in 0 ..< out.count { let q = rem / os[d]; rem -= q * os[d]; ia += q * sa[d]; ib += q * sb[d] }
                po[i] = act.reference(BinaryOp.scalar(kind, pa[ia], pb[ib]))
            }
        }
    }

    final class IntReference: PreparedOp {
        let kind: BinaryKind, a: TensorMeta, b: TensorMeta, out: TensorMeta
        let pa: UnsafeMutableRawPointer, pb: UnsafeMutableRawPointer, po: UnsafeMutableRawPointer
        init(kind: BinaryKind, a: TensorMeta, b: TensorMeta, out: TensorMeta,
             pa: UnsafeMutableRawPointer, pb: UnsafeMutableRawPointer, po: UnsafeMutableRawPointer) {
            self.kind = kind; self.a = a; self.b = b; self.out = out; self.pa = pa; self.pb = pb; self.po = po
        }
        func run(_ pool: ThreadPool) {
            let sa = Broadcast.strides(a.shape, out: out.shape), sb = Broadcast.strides(b.shape, out: out.shape)
            let os = stridesOf(out.shape)
            for i in 0 ..< out.count {
                var rem = i, ia = 0, ib = 0
                for d in 0 ..< out.shape.count { let q = rem / os[d]; rem -= q * os[d]; ia += q * sa[d]; ib += q * sb[d] }
                let x = RawElements.int(pa, a.dtype, ia), y = RawElements.int(pb, b.dtype, ib)
                let r: Int64
                switch kind {
                case .add: r = x &+ y
                case .sub: r = x &- y
                case .mul: r = x &* y
                case .div: r = y == 0 ? 0 : x / y
                case .max: r = Swift.max(x, y)
                case .min: r = Swift.min(x, y)
                }
                RawElements.setInt(po, out.dtype, i, r)
            }
        }
    }

    final class Fast: PreparedOp {
        let kind: BinaryKind, act: Activation
        let dims: [Int], sa: [Int], sb: [Int]
        let rows: Int, inner: Int, innerA: Int, innerB: Int
        let pa: UnsafeMutablePointer<Float>, pb: UnsafeMutablePointer<Float>, po: UnsafeMutablePointer<Float>
        init(kind: BinaryKind, act: Activation, dims: [Int], sa: [Int], sb: [Int],
             pa: UnsafeMutablePointer<Float>, pb: UnsafeMutablePointer<Float>, po: UnsafeMutablePointer<Float>) {
            self.kind = kind; self.act = act; self.dims = dims; self.sa = sa; self.sb = sb
            inner = dims.last!; innerA = sa.last!; innerB = sb.last!
            rows = dims.dropLast().reduce(1, *)
            self.pa = pa; self.pb = pb; self.po = po
        }

        func run(_ pool: ThreadPool) {
            switch kind {
            case .add: go(AddFn.self, pool)
            case .sub: go(SubFn.self, pool)
            case .mul: go(MulFn.self, pool)
            case .div: go(DivFn.self, pool)
            case .max: go(MaxFn.self, pool)
            case .min: go(MinFn.self, pool)
            }
        }

        @inline(__always)
        private func go<F: BinaryFn>(_ f: F.Type, _ pool: ThreadPool) {
            if rows == 1 {
                pool.forChunks(inner) { r in
                    let o = r.lowerBound
                    binaryRow(F.self, pa + o * innerA, innerA, pb + o * innerB, innerB, po + o, r.count)
                    if !act.isIdentity { act.apply(po + o, po + o, r.count) }
                }
                return
            }
            let grain = Swift.max(1, 16384 / Swift.max(inner, 1))
            pool.forChunks(rows, grain: grain) { r in
                for row in r {
                    var rem = row, oa = 0, ob = 0
                    var d = dims.count - 2
                    while d >= 0 { let q = rem % dims[d]; rem /= dims[d]; oa += q * sa[d]; ob += q * sb[d]; d -= 1 }
                    binaryRow(F.self, pa + oa, innerA, pb + ob, innerB, po + row * inner, inner)
                }
                if !act.isIdentity { act.apply(po + r.lowerBound * inner, po + r.lowerBound * inner, r.count * inner) }
            }
        }
    }
}

protocol BinaryFn {
    static func s(_ x: Float, _ y: Float) -> Float
    static func v(_ x: F16, _ y: F16) -> F16
}
enum AddFn: BinaryFn {
    @inline(__always) static func s(_ x: Float, _ y: Float) -> Float { x + y }
    @inline(__always) static func v(_ x: F16, _ y: F16) -> F16 { x + y }
}
enum SubFn: BinaryFn {
    @inline(__always) static func s(_ x: Float, _ y: Float) -> Float { x - y }
    @inline(__always) static func v(_ x: F16, _ y: F16) -> F16 { x - y }
}
enum MulFn: BinaryFn {
    @inline(__always) static func s(_ x: Float, _ y: Float) -> Float { x * y }
    @inline(__always) static func v(_ x: F16, _ y: F16) -> F16 { x * y }
}
enum DivFn: BinaryFn {
    @inline(__always) static func s(_ x: Float, _ y: Float) -> Float { x / y }
    @inline(__always) static func v(_ x: F16, _ y: F16) -> F16 { x / y }
}
enum MaxFn: BinaryFn {
    @inline(__always) static func s(_ x: Float, _ y: Float) -> Float { Swift.max(x, y) }
    @inline(__always) static func v(_ x: F16, _ y: F16) -> F16 { var r = x; r.replace(with: y, where: y .> x); return r }
}
enum MinFn: BinaryFn {
    @inline(__always) static func s(_ x: Float, _ y: Float) -> Float { Swift.min(x, y) }
    @inline(__always) static func v(_ x: F16, _ y: F16) -> F16 { var r = x; r.replace(with: y, where: y .< x); return r }
}

/// out[i] = f(a[i*sa], b[i*sb]) with sa, sb in {0, 1}.
@inline(__always)
func binaryRow<F: BinaryFn>(_ f: F.Type, _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                            _ o: UnsafeMutablePointer<Float>, _ n: Int) {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b), ro = UnsafeMutableRawPointer(o)
    var i = 0
    if sa == 1 && sb == 1 {
        while i + 16 <= n {
            ro.storeBytes(of: F.v(ra.loadUnaligned(fromByteOffset: i * 4, as: F16.self),
                                  rb.loadUnaligned(fromByteOffset: i * 4, as: F16.self)), toByteOffset: i * 4, as: F16.self)
            i += 16
        }
        while i < n { o[i] = F.s(a[i], b[i]); i += 1 }
    } else if sa == 1 {
        let y = b[0], vy = F16(repeating: y)
        while i + 16 <= n {
            ro.storeBytes(of: F.v(ra.loadUnaligned(fromByteOffset: i * 4, as: F16.self), vy), toByteOffset: i * 4, as: F16.self)
            i += 16
        }
        while i < n { o[i] = F.s(a[i], y); i += 1 }
    } else if sb == 1 {
        let x = a[0], vx = F16(repeating: x)
        while i + 16 <= n {
            ro.storeBytes(of: F.v(vx, rb.loadUnaligned(fromByteOffset: i * 4, as: F16.self)), toByteOffset: i * 4, as: F16.self)
            i += 16
        }
        while i < n { o[i] = F.s(x, b[i]); i += 1 }
    } else {
        let r = F.s(a[0], b[0])
        while i < n { o[i] = r; i += 1 }
    }
}
