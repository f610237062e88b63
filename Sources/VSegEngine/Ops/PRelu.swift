/// PRelu: y = x < 0 ? x * slope : x, slope broadcast to x. Fast path: the
/// binary broadcast row loop (collapsed axes, SIMD); twin: per element.
enum PReluOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        let x = try c.input(0), s = try c.input(1)
        guard x.dtype == .float32, s.dtype == .float32 else { throw c.fail("PRelu needs float32 tensors") }
        guard let out = Broadcast.shape(x.shape, s.shape), out == x.shape else {
            throw c.fail("PRelu slope \(s.shape) does not broadcast to \(x.shape)")
        }
        return [x]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        let x = try c.input(0), s = try c.input(1)
        if c.reference {
            return Reference(x: x.shape, s: s.shape, px: c.floatIn(0), ps: c.floatIn(1), po: c.floatOut(0))
        }
        let (dims, sx, ss) = Broadcast.collapse(out: x.shape, a: x.shape, b: s.shape)
        return Fast(dims: dims, sx: sx, ss: ss, px: c.floatIn(0), ps: c.floatIn(1), po: c.floatOut(0))
    }

    enum PReluFn: BinaryFn {
        @inline(__always) static func s(_ x: Float, _ y: Float) -> Float { x < 0 ? x * y : x }
        @inline(__always) static func v(_ x: F16, _ y: F16) -> F16 { var r = x; r.replace(with: x * y, where: x .< 0); return r }
    }

    final class Fast: PreparedOp {
        let dims: [Int], sx: [Int], ss: [Int], rows: Int, inner: Int
        let px: UnsafeMutablePointer<Float>, ps: UnsafeMutablePointer<Float>, po: UnsafeMutablePointer<Float>
        init(dims: [Int], sx: [Int], ss: [Int], px: UnsafeMutablePointer<Float>, ps: UnsafeMutablePointer<Float>, po: UnsafeMutablePointer<Float>) {
            self.dims = dims; self.sx = sx; self.ss = ss; self.px = px; self.ps = ps; self.po = po
            inner = dims.last!; rows = dims.dropLast().reduce(1, *)
        }
        func run(_ pool: ThreadPool) {
            let innerS = ss.last!
            pool.forChunks(rows, grain: max(1, 16384 / max(inner, 1))) { r in
                for row in r {
                    var rem = row, os = 0
                    var d = dims.count - 2
                    while d >= 0 { let q = rem % dims[d]; rem /= dims[d]; os += q * ss[d]; d -= 1 }
                    binaryRow(PReluFn.self, px + row * inner, 1, ps + os, innerS, po + row * inner, inner)
                }
            }
        }
    }

    final class Reference: PreparedOp {
        let x: [Int], ss: [Int]
        let px: UnsafeMutablePointer<Float>, ps: UnsafeMutablePointer<Float>, po: UnsafeMutablePointer<Float>
        init(x: [Int], s: [Int], px: UnsafeMutablePointer<Float>, ps: UnsafeMutablePointer<Float>, po: UnsafeMutablePointer<Float>) {
            self.x = x; ss = Broadcast.strides(s, out: x); self.px = px; self.ps = ps; self.po = po
        }
        func run(_ pool: ThreadPool) {
            let xs = stridesOf(x)
            for i in 0 ..< x.reduce(1, *) {
                var rem = i, si = 0
                for d in 0 ..< x.count { let q = rem / xs[d]; rem -= q * xs[d]; si += q * ss[d] }
                po[i] = px[i] < 0 ? px[i] * ps[si] : px[i]
            }
        }
    }
}
