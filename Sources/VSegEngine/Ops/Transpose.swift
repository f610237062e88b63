/// Transpose by `perm`, any element type. Fast path: when the last axis stays
/// last, rows are copied with memcpy; otherwise an odometer walk with
/// incremental offsets. Twin: per output element index decomposition.
enum TransposeOp: OpDefinition {
    static func perm(_ c: InferContext) throws -> [Int] {
        guard case let .transpose(p) = c.node.op else { preconditionFailure() }
        let x = try c.input(0)
        let perm = p.isEmpty ? Array((0 ..< x.shape.count).reversed()) : p
        guard perm.count == x.shape.count, Set(perm) == Set(0 ..< x.shape.count) else {
            throw c.fail("Transpose perm \(p) does not match rank \(x.shape.count)")
        }
        return perm
    }

    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        let x = try c.input(0)
        return [TensorMeta(shape: try perm(c).map { x.shape[$0] }, dtype: x.dtype)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        let x = try c.input(0)
        return Prepared(inShape: x.shape, perm: try perm(c.infer), es: x.dtype.byteSize, x: c.inPtr[0]!, y: c.outPtr[0],
                        reference: c.reference)
    }

    final class Prepared: PreparedOp {
        let outShape: [Int], srcStride: [Int], es: Int, reference: Bool, count: Int
        let x: UnsafeMutableRawPointer, y: UnsafeMutableRawPointer
        init(inShape: [Int], perm: [Int], es: Int, x: UnsafeMutableRawPointer, y: UnsafeMutableRawPointer, reference: Bool) {
            let ins = stridesOf(inShape)
            outShape = perm.map { inShape[$0] }
            srcStride = perm.map { ins[$0] }
            count = inShape.reduce(1, *)
            self.es = es; self.x = x; self.y = y; self.reference = reference
        }

        func run(_ pool: ThreadPool) {
            let rank = outShape.count
            if rank == 0 || count == 0 { if count > 0 { y.copyMemory(from: x, byteCount: es) }; return }
            if reference {
                let os = stridesOf(outShape)
                for o in 0 ..< count {
                    var rem = o, src = 0
                    for a in 0 ..< rank { let q = rem / os[a]; rem -= q * os[a]; src += q * srcStride[a] }
                    (y + o * es).copyMemory(from: x + src * es, byteCount: es)
                }
                return
            }
            let inner = outShape[rank - 1], rows = count / inner, innerStride = srcStride[rank - 1]
            pool.forChunks(rows, grain: max(1, 16384 / max(inner, 1))) { r in
                for row in r {
                    var rem = row, src = 0
                    var a = rank - 2
                    while a >= 0 { src += (rem % outShape[a]) * srcStride[a]; rem /= outShape[a]; a -= 1 }
                    let dst = y + row * inner * es
                    if innerStride == 1 {
                        dst.copyMemory(from: x + src * es, byteCount: inner * es)
                    } else if es == 4 {
                        let s = x.assumingMemoryBound(to: UInt32.self) + src, d = dst.assumingMemoryBound(to: UInt32.self)
                        for i in 0 ..< inner { d[i] = s[i * innerStride] }
                    } else {
                        for i in 0 ..< inner { (dst + i * es).copyMemory(from: x + (src + i * innerStride) * es, byteCount: es) }
                    }
                }
            }
        }
    }
}
