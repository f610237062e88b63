/// Gather along `axis` with int indices (negative wrap), any element type.
/// out shape = data[..<axis] + indices + data[axis+1...]. Fast path: one memcpy
/// per (outer, index) slab. Twin: per output element. An out-of-range index
/// is clamped at run time (checked at prepare when the indices are constant).
enum GatherOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        guard case let .gather(axis0) = c.node.op else { preconditionFailure() }
        let d = try c.input(0), idx = try c.input(1)
        guard idx.dtype == .int32 || idx.dtype == .int64 else { throw c.fail("Gather indices must be int32/int64") }
        let axis = try normalizeAxis(axis0, rank: d.shape.count, node: c.node.name)
        if let k = c.constantInts(1) {
            for i in k where i < -d.shape[axis] || i >= d.shape[axis] {
                throw c.fail("Gather index \(i) out of range for axis size \(d.shape[axis])")
            }
        }
        return [TensorMeta(shape: Array(d.shape[..<axis]) + idx.shape + Array(d.shape[(axis + 1)...]), dtype: d.dtype)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .gather(axis0) = c.node.op else { preconditionFailure() }
        let d = try c.input(0), idx = try c.input(1)
        let axis = try normalizeAxis(axis0, rank: d.shape.count, node: c.node.name)
        return Prepared(outer: d.shape[..<axis].reduce(1, *), axisLen: d.shape[axis], inner: d.shape[(axis + 1)...].reduce(1, *),
                        indexCount: idx.count, indexType: idx.dtype, es: d.dtype.byteSize,
                        x: c.inPtr[0]!, idx: c.inPtr[1]!, y: c.outPtr[0], reference: c.reference)
    }

    final class Prepared: PreparedOp {
        let outer: Int, axisLen: Int, inner: Int, indexCount: Int, indexType: DType, es: Int, reference: Bool
        let x: UnsafeMutableRawPointer, idx: UnsafeMutableRawPointer, y: UnsafeMutableRawPointer
        init(outer: Int, axisLen: Int, inner: Int, indexCount: Int, indexType: DType, es: Int,
             x: UnsafeMutableRawPointer, idx: UnsafeMutableRawPointer, y: UnsafeMutableRawPointer, reference: Bool) {
            self.outer = outer; self.axisLen = axisLen; self.inner = inner; self.indexCount = indexCount
            self.indexType = indexType; self.es = es; self.x = x; self.idx = idx; self.y = y; self.reference = reference
        }

        @inline(__always)
        func index(_ k: Int) -> Int {
            var i = Int(RawElements.int(idx, indexType, k))
            if i < 0 { i += axisLen }
            return Swift.min(Swift.max(i, 0), axisLen - 1)
        }

        func run(_ pool: ThreadPool) {
            if axisLen == 0 { return }
            if reference {
                let total = outer * indexCount * inner
                for o in 0 ..< total {
                    let i = o % inner, k = (o / inner) % indexCount, a = o / (inner * indexCount)
                    (y + o * es).copyMemory(from: x + ((a * axisLen + index(k)) * inner + i) * es, byteCount: es)
                }
                return
            }
            let slab = inner * es
            for a in 0 ..< outer {
                for k in 0 ..< indexCount {
                    (y + (a * indexCount + k) * slab).copyMemory(from: x + (a * axisLen + index(k)) * slab, byteCount: slab)
                }
            }
        }
    }
}
