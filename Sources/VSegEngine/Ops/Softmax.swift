/// Softmax along `axis`. Fast path (innermost axis): per row max, SIMD exp,
/// sum, scale. Other axes: strided loop over (outer, axis, inner). Twin: Double
/// precision per row.
enum SoftmaxOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        guard case let .softmax(axis) = c.node.op else { preconditionFailure() }
        let x = try c.input(0)
        guard x.dtype == .float32 else { throw c.fail("Softmax needs float32") }
        _ = try normalizeAxis(axis, rank: x.shape.count, node: c.node.name)
        return [x]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .softmax(axis0) = c.node.op else { preconditionFailure() }
        let x = try c.input(0)
        let axis = try normalizeAxis(axis0, rank: x.shape.count, node: c.node.name)
        return Prepared(outer: x.shape[..<axis].reduce(1, *), len: x.shape[axis], inner: x.shape[(axis + 1)...].reduce(1, *),
                        x: c.floatIn(0), y: c.floatOut(0), reference: c.reference)
    }

    final class Prepared: PreparedOp {
        let outer: Int, len: Int, inner: Int, reference: Bool
        let x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
        init(outer: Int, len: Int, inner: Int, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, reference: Bool) {
            self.outer = outer; self.len = len; self.inner = inner; self.x = x; self.y = y; self.reference = reference
        }

        func run(_ pool: ThreadPool) {
            if reference {
                for o in 0 ..< outer { for i in 0 ..< inner {
                    let base = o * len * inner + i
                    var m = -Double.infinity
                    for k in 0 ..< len { m = max(m, Double(x[base + k * inner])) }
                    var s = 0.0
                    for k in 0 ..< len { s += libmExp(Double(x[base + k * inner]) - m) }
                    for k in 0 ..< len { y[base + k * inner] = Float(libmExp(Double(x[base + k * inner]) - m) / s) }
                } }
                return
            }
            let len = self.len, inner = self.inner
            pool.forChunks(outer * inner, grain: max(1, 8192 / max(len, 1))) { r in
                for t in r {
                    let o = t / inner, i = t % inner
                    let src = x + o * len * inner + i, dst = y + o * len * inner + i
                    var m = -Float.infinity
                    for k in 0 ..< len { m = Swift.max(m, src[k * inner]) }
                    var s: Float = 0
                    if inner == 1 {
                        var k = 0
                        let vm = F16(repeating: m)
                        var vs = F16(repeating: 0)
                        let rs = UnsafeRawPointer(src), rd = UnsafeMutableRawPointer(dst)
                        while k + 16 <= len {
                            let e = vexp(rs.loadUnaligned(fromByteOffset: k * 4, as: F16.self) - vm)
                            rd.storeBytes(of: e, toByteOffset: k * 4, as: F16.self)
                            vs += e; k += 16
                        }
                        s = vs.sum()
                        while k < len { let e = SigmoidFn.expScalar(src[k] - m); dst[k] = e; s += e; k += 1 }
                    } else {
                        for k in 0 ..< len { let e = SigmoidFn.expScalar(src[k * inner] - m); dst[k * inner] = e; s += e }
                    }
                    let inv = 1 / s
                    for k in 0 ..< len { dst[k * inner] *= inv }
                }
            }
        }
    }
}

extension SigmoidFn {
    @inline(__always) static func expScalar(_ x: Float) -> Float { vexp(F16(repeating: x))[0] }
}
