/// ReduceMean/Max/Sum over `axes` (keepDims optional). Global average pooling is
/// mean over H, W. Fast path (reduced axes contiguous): out[o, i] = reduce_r
/// in[o, r, i], accumulated over rows of the inner extent (vectorized over
/// channels for NHWC spatial means). Twin: per output element, per reduced index.
enum ReduceOp: OpDefinition {
    static func normalized(_ c: InferContext) throws -> (x: TensorMeta, axes: [Int], keep: Bool) {
        guard case let .reduce(_, axes0, keep) = c.node.op else { preconditionFailure() }
        let x = try c.input(0)
        guard x.dtype == .float32 else { throw c.fail("reduction on \(x.dtype) is not supported") }
        var axes = axes0
        if c.has(1) {
            guard let a = c.constantInts(1) else { throw c.fail("reduction axes must be constant") }
            axes = a
        }
        if axes.isEmpty { axes = Array(0 ..< x.shape.count) }
        let norm = try Set(axes.map { try normalizeAxis($0, rank: x.shape.count, node: c.node.name) }).sorted()
        return (x, norm, keep)
    }

    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        let (x, axes, keep) = try normalized(c)
        var out: [Int] = []
        for (i, d) in x.shape.enumerated() {
            if axes.contains(i) { if keep { out.append(1) } } else { out.append(d) }
        }
        return [TensorMeta(shape: out, dtype: .float32)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .reduce(kind, _, _) = c.node.op else { preconditionFailure() }
        let (x, axes, _) = try normalized(c.infer)
        let contiguous = axes.last! - axes.first! + 1 == axes.count
        return Prepared(kind: kind, shape: x.shape, axes: axes, x: c.floatIn(0), y: c.floatOut(0),
                        reference: c.reference || !contiguous)
    }

    final class Prepared: PreparedOp {
        let kind: ReduceKind, shape: [Int], axes: [Int], x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
        let reference: Bool, outer: Int, red: Int, inner: Int
        init(kind: ReduceKind, shape: [Int], axes: [Int], x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, reference: Bool) {
            self.kind = kind; self.shape = shape; self.axes = axes; self.x = x; self.y = y; self.reference = reference
            outer = shape[..<axes.first!].reduce(1, *)
            red = axes.map { shape[$0] }.reduce(1, *)
            inner = shape[(axes.last! + 1)...].reduce(1, *)
        }

        func run(_ pool: ThreadPool) {
            if reference { runReference(); return }
            let kind = self.kind, inner = self.inner, red = self.red
            let scale: Float = kind == .mean ? 1 / Float(max(red, 1)) : 1
            pool.forChunks(outer, grain: max(1, 65536 / max(red * inner, 1))) { r in
                for o in r {
                    let dst = y + o * inner
                    let src = x + o * red * inner
                    if kind == .max {
                        for i in 0 ..< inner { dst[i] = -.infinity }
                        for k in 0 ..< red { let s = src + k * inner; for i in 0 ..< inner { dst[i] = Swift.max(dst[i], s[i]) } }
                    } else if inner == 1 {
                        var acc: Float = 0
                        for k in 0 ..< red { acc += src[k] }
                        dst[0] = acc * scale
                    } else {
                        for i in 0 ..< inner { dst[i] = 0 }
                        for k in 0 ..< red { let s = src + k * inner; for i in 0 ..< inner { dst[i] += s[i] } }
                        if kind == .mean { for i in 0 ..< inner { dst[i] *= scale } }
                    }
                }
            }
        }

        func runReference() {
            let st = stridesOf(shape)
            let keptAxes = (0 ..< shape.count).filter { !axes.contains($0) }
            let outCount = keptAxes.map { shape[$0] }.reduce(1, *)
            let redCount = axes.map { shape[$0] }.reduce(1, *)
            for o in 0 ..< outCount {
                var rem = o, base = 0
                for a in keptAxes.reversed() { base += (rem % shape[a]) * st[a]; rem /= shape[a] }
                var acc: Double = kind == .max ? -.infinity : 0
                for k in 0 ..< redCount {
                    var rr = k, off = base
                    for a in axes.reversed() { off += (rr % shape[a]) * st[a]; rr /= shape[a] }
                    acc = kind == .max ? Swift.max(acc, Double(x[off])) : acc + Double(x[off])
                }
                y[o] = Float(kind == .mean ? acc / Double(max(redCount, 1)) : acc)
            }
        }
    }
}
