/// Cast between element types (float to int truncates toward zero, saturating;
/// to bool is != 0). Not hot (shape subgraphs, folded at load): one
/// implementation through `RawElements`, which is also its twin.
enum CastOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        guard case let .cast(to) = c.node.op else { preconditionFailure() }
        return [TensorMeta(shape: try c.input(0).shape, dtype: to)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        let x = try c.input(0)
        return Prepared(from: x.dtype, to: c.outputs[0].dtype, n: x.count, x: c.inPtr[0]!, y: c.outPtr[0])
    }

    final class Prepared: PreparedOp {
        let from: DType, to: DType, n: Int, x: UnsafeMutableRawPointer, y: UnsafeMutableRawPointer
        init(from: DType, to: DType, n: Int, x: UnsafeMutableRawPointer, y: UnsafeMutableRawPointer) {
            self.from = from; self.to = to; self.n = n; self.x = x; self.y = y
        }
        func run(_ pool: ThreadPool) {
            if from == to { if x != y { y.copyMemory(from: x, byteCount: n * from.byteSize) }; return }
            let intToInt = from != .float32 && from != .float16 && to != .float32 && to != .float16
            for i in 0 ..< n {
                if intToInt { RawElements.setInt(y, to, i, RawElements.int(x, from, i)) }
                else { RawElements.setDouble(y, to, i, RawElements.double(x, from, i)) }
            }
        }
    }
}
