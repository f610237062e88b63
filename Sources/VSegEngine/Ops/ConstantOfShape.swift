/// ConstantOfShape: a tensor of the (constant) shape input filled with `value`.
/// Folded at load when its shape is constant, which it is after shape folding.
enum ConstantOfShapeOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        guard case let .constantOfShape(value) = c.node.op else { preconditionFailure() }
        guard let s = c.constantInts(0) else { throw c.fail("ConstantOfShape needs a constant shape") }
        _ = try checkedCount(s, tensor: c.node.name)
        return [TensorMeta(shape: s, dtype: value.dtype)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .constantOfShape(value) = c.node.op else { preconditionFailure() }
        return Prepared(value: value, n: c.outputs[0].count, y: c.outPtr[0])
    }

    final class Prepared: PreparedOp {
        let n: Int, y: UnsafeMutableRawPointer, es: Int, v: UnsafeMutableRawPointer
        init(value: TensorData, n: Int, y: UnsafeMutableRawPointer) {
            self.n = n; self.y = y; es = value.dtype.byteSize
            v = .allocate(byteCount: max(8, es), alignment: 8)
            if value.count > 0 { RawElements.write(value, to: v) } else { v.initializeMemory(as: UInt8.self, repeating: 0, count: es) }
        }
        deinit { v.deallocate() }
        func run(_ pool: ThreadPool) { for i in 0 ..< n { (y + i * es).copyMemory(from: v, byteCount: es) } }
    }
}
