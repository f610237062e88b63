/// ArgMax along `axis` to int64 indices (first maximum, or last with
/// `selectLastIndex`). Fast path: for the innermost axis a row scan; otherwise
/// a running max over rows of the inner extent. Twin: per output element.
enum ArgMaxOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        guard case let .argMax(axis0, keep, _) = c.node.op else { preconditionFailure() }
        let x = try c.input(0)
        guard x.dtype == .float32 else { throw c.fail("ArgMax needs float32") }
        let axis = try normalizeAxis(axis0, rank: x.shape.count, node: c.node.name)
        var s = x.shape
        if keep { s[axis] = 1 } else { s.remove(at: axis) }
        return [TensorMeta(shape: s, dtype: .int64)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .argMax(axis0, _, last) = c.node.op else { preconditionFailure() }
        let x = try c.input(0)
        let axis = try normalizeAxis(axis0, rank: x.shape.count, node: c.node.name)
        return Prepared(outer: x.shape[..<axis].reduce(1, *), len: x.shape[axis], inner: x.shape[(axis + 1)...].reduce(1, *),
                        last: last, x: c.floatIn(0), y: c.outPtr[0].assumingMemoryBound(to: Int64.self), reference: c.reference)
    }

    final class Prepared: PreparedOp {
        let outer: Int, len: Int, inner: Int, last: Bool, reference: Bool
        let x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Int64>
        init(outer: Int, len: Int, inner: Int, last: Bool, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Int64>, reference: Bool) {
            self.outer = outer; self.len = len; self.inner = inner; self.last = last; self.x = x; self.y = y; self.reference = reference
        }

        @inline(__always)
        func better(_ v: Float, _ best: Float) -> Bool { last ? v >= best : v > best }

        func run(_ pool: ThreadPool) {
            let len = self.len, inner = self.inner
            if reference {
                for o in 0 ..< outer { for i in 0 ..< inner {
                    var bi = 0, bv = x[o * len * inner + i]
                    for k in 1 ..< max(len, 1) { let v = x[(o * len + k) * inner + i]; if better(v, bv) { bv = v; bi = k } }
                    y[o * inner + i] = Int64(bi)
                } }
                return
            }
            pool.forChunks(outer, grain: max(1, 16384 / max(len * inner, 1))) { r in
                for o in r {
                    let src = x + o * len * inner, dst = y + o * inner
                    if inner == 1 {
                        var bi = 0, bv = src[0]
                        for k in 1 ..< max(len, 1) where better(src[k], bv) { bv = src[k]; bi = k }
                        dst[0] = Int64(bi)
                        continue
                    }
                    for i in 0 ..< inner { dst[i] = 0 }
                    for k in 1 ..< max(len, 1) {
                        let row = src + k * inner
                        for i in 0 ..< inner where better(row[i], src[Int(dst[i]) * inner + i]) { dst[i] = Int64(k) }
                    }
                }
            }
        }
    }
}
