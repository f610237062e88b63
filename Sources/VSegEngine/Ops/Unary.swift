/// Elementwise activation as a standalone op: Relu, Relu6, Clip, LeakyRelu,
/// Sigmoid (LOGISTIC), Tanh, HardSwish, HardSigmoid. Fast path: 16-lane SIMD
/// (`Activation.apply`); twin: `Activation.reference` per element.
enum UnaryOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        let x = try c.input(0)
        guard x.dtype == .float32 else { throw c.fail("\(c.node.op.name) needs float32 input, got \(x.dtype)") }
        return [x]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .unary(act) = c.node.op else { preconditionFailure() }
        return Prepared(act: act, src: c.floatIn(0), dst: c.floatOut(0), n: c.outputs[0].count, reference: c.reference)
    }

    final class Prepared: PreparedOp {
        let act: Activation, src: UnsafeMutablePointer<Float>, dst: UnsafeMutablePointer<Float>, n: Int, reference: Bool
        init(act: Activation, src: UnsafeMutablePointer<Float>, dst: UnsafeMutablePointer<Float>, n: Int, reference: Bool) {
            self.act = act; self.src = src; self.dst = dst; self.n = n; self.reference = reference
        }
        func run(_ pool: ThreadPool) {
            if reference { act.applyReference(src, dst, n); return }
            pool.forChunks(n) { r in act.apply(src + r.lowerBound, dst + r.lowerBound, r.count) }
        }
    }
}
