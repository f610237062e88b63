/// Concatenation along `axis`, any element type. Fast path: per outer index,
/// one memcpy per input slab. Twin: per output element, find the source input.
enum ConcatOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        guard case let .concat(axis0) = c.node.op else { preconditionFailure() }
        let first = try c.input(0)
        let axis = try normalizeAxis(axis0, rank: first.shape.count, node: c.node.name)
        var out = first.shape
        out[axis] = 0
        for i in 0 ..< c.inputs.count {
            let m = try c.input(i)
            guard m.shape.count == first.shape.count, m.dtype == first.dtype else {
                throw c.fail("Concat input \(i) is \(m.shape) \(m.dtype), first is \(first.shape) \(first.dtype)")
            }
            for d in 0 ..< m.shape.count where d != axis && m.shape[d] != first.shape[d] {
                throw c.fail("Concat input \(i) shape \(m.shape) does not match \(first.shape) off axis \(axis)")
            }
            out[axis] += m.shape[axis]
        }
        return [TensorMeta(shape: out, dtype: first.dtype)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .concat(axis0) = c.node.op else { preconditionFailure() }
        let out = c.outputs[0]
        let axis = try normalizeAxis(axis0, rank: out.shape.count, node: c.node.name)
        let es = out.dtype.byteSize
        let inner = out.shape[(axis + 1)...].reduce(1, *)
        let slabs = c.inputs.map { $0!.shape[axis] * inner * es }
        return Prepared(outer: out.shape[..<axis].reduce(1, *), slabs: slabs, srcs: c.inPtr.map { UnsafeRawPointer($0!) },
                        y: c.outPtr[0], es: es, reference: c.reference)
    }

    final class Prepared: PreparedOp {
        let outer: Int, slabs: [Int], srcs: [UnsafeRawPointer], y: UnsafeMutableRawPointer, es: Int, reference: Bool, rowBytes: Int
        init(outer: Int, slabs: [Int], srcs: [UnsafeRawPointer], y: UnsafeMutableRawPointer, es: Int, reference: Bool) {
            self.outer = outer; self.slabs = slabs; self.srcs = srcs; self.y = y; self.es = es; self.reference = reference
            rowBytes = slabs.reduce(0, +)
        }
        func run(_ pool: ThreadPool) {
            if reference {
                // Element by element: locate which input covers each output position.
                let rowElems = rowBytes / es
                for o in 0 ..< outer * rowElems {
                    let row = o / rowElems
                    var pos = (o % rowElems) * es, k = 0
                    while pos >= slabs[k] { pos -= slabs[k]; k += 1 }
                    (y + o * es).copyMemory(from: srcs[k] + row * slabs[k] + pos, byteCount: es)
                }
                return
            }
            srcs.withUnsafeBufferPointer { srcs in slabs.withUnsafeBufferPointer { slabs in
                pool.forChunks(outer, grain: max(1, 65536 / max(rowBytes, 1))) { r in
                    for row in r {
                        var dst = y + row * rowBytes
                        for k in 0 ..< srcs.count {
                            dst.copyMemory(from: srcs[k] + row * slabs[k], byteCount: slabs[k])
                            dst += slabs[k]
                        }
                    }
                }
            } }
        }
    }
}
