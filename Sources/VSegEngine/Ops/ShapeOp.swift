/// Shape: the input's dimensions as int64 (internal layout). Constant-folded at
/// load whenever the input shape is known, which is always once inputs are fixed.
enum ShapeOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        [TensorMeta(shape: [try c.input(0).shape.count], dtype: .int64)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        Prepared(dims: try c.input(0).shape.map(Int64.init), y: c.outPtr[0].assumingMemoryBound(to: Int64.self))
    }

    final class Prepared: PreparedOp {
        let dims: [Int64], y: UnsafeMutablePointer<Int64>
        init(dims: [Int64], y: UnsafeMutablePointer<Int64>) { self.dims = dims; self.y = y }
        func run(_ pool: ThreadPool) { for (i, d) in dims.enumerated() { y[i] = d } }
    }
}
