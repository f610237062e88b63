import VSegCore

/// Shape and element type of one tensor once sizes are resolved.
public struct TensorMeta: Sendable, Equatable {
    public var shape: [Int]
    public var dtype: DType
    public init(shape: [Int], dtype: DType) { self.shape = shape; self.dtype = dtype }
    public var count: Int { shape.reduce(1, *) }
    public var byteCount: Int { count * dtype.byteSize }
}

/// What shape inference sees of one node: its input metas (nil for an absent
/// optional input) and the constant contents of inputs that are constants.
struct InferContext {
    let node: Node
    let inputs: [TensorMeta?]
    let constants: [TensorData?]
    /// Quantization parameters of the inputs and outputs as the graph declares them.
    var inputQuant: [QuantParams?] = []
    var outputQuant: [QuantParams?] = []
    /// Element types the graph declares for the outputs (used by Quantize).
    var declaredOutputTypes: [DType] = []

    func input(_ i: Int) throws -> TensorMeta {
        guard i < inputs.count, let m = inputs[i] else {
            throw EngineError.invalidOp(node: node.name, detail: "\(node.op.name) needs input \(i)")
        }
        return m
    }
    func constant(_ i: Int) -> TensorData? { i < constants.count ? constants[i] : nil }
    func constantInts(_ i: Int) -> [Int]? { constant(i)?.asInts }
    func has(_ i: Int) -> Bool { i < inputs.count && inputs[i] != nil }
    func fail(_ detail: String) -> EngineError { .invalidOp(node: node.name, detail: detail) }
}

/// Everything an op needs to prepare: resolved metas, constant inputs and the
/// buffers it will read and write on every run. Buffers are fixed for the life
/// of the prepared op (XNNPACK create/setup style), so `run` allocates nothing.
final class PrepareContext {
    let node: Node
    let inputs: [TensorMeta?]
    let outputs: [TensorMeta]
    let constants: [TensorData?]
    let inPtr: [UnsafeMutableRawPointer?]
    let outPtr: [UnsafeMutableRawPointer]
    let threads: Int
    /// Use the plain-loop twin only (constant folding and equivalence tests).
    let reference: Bool
    var inputQuant: [QuantParams?] = []
    var outputQuant: [QuantParams?] = []

    init(node: Node, inputs: [TensorMeta?], outputs: [TensorMeta], constants: [TensorData?],
         inPtr: [UnsafeMutableRawPointer?], outPtr: [UnsafeMutableRawPointer], threads: Int, reference: Bool) {
        self.node = node; self.inputs = inputs; self.outputs = outputs; self.constants = constants
        self.inPtr = inPtr; self.outPtr = outPtr; self.threads = threads; self.reference = reference
    }

    var infer: InferContext {
        InferContext(node: node, inputs: inputs, constants: constants, inputQuant: inputQuant, outputQuant: outputQuant,
                     declaredOutputTypes: outputs.map(\.dtype))
    }
    func input(_ i: Int) throws -> TensorMeta { try infer.input(i) }
    func has(_ i: Int) -> Bool { i < inputs.count && inputs[i] != nil && inPtr[i] != nil }
    func constant(_ i: Int) -> TensorData? { i < constants.count ? constants[i] : nil }
    func fail(_ detail: String) -> EngineError { .invalidOp(node: node.name, detail: detail) }

    func floatIn(_ i: Int) -> UnsafeMutablePointer<Float> { inPtr[i]!.assumingMemoryBound(to: Float.self) }
    func floatOut(_ i: Int) -> UnsafeMutablePointer<Float> { outPtr[i].assumingMemoryBound(to: Float.self) }

    func requireFloat(_ i: Int) throws {
        let m = try input(i)
        guard m.dtype == .float32 else { throw fail("\(node.op.name) needs a float32 input \(i), got \(m.dtype)") }
    }
}

/// A node ready to run: buffers bound, tables built, weights packed.
protocol PreparedOp: AnyObject {
    func run(_ pool: ThreadPool)
}

/// One op implementation: shape inference plus preparation. Every case of
/// `Op` maps to exactly one of these in `OpRegistry`.
protocol OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta]
    static func prepare(_ c: PrepareContext) throws -> PreparedOp
}

/// Row-major strides of a shape.
@inline(__always)
func stridesOf(_ shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc *= shape[i] }
    return s
}

/// Normalizes a possibly negative axis against `rank`.
func normalizeAxis(_ axis: Int, rank: Int, node: String) throws -> Int {
    let a = axis < 0 ? axis + rank : axis
    guard a >= 0, a < max(rank, 1) else {
        throw EngineError.invalidOp(node: node, detail: "axis \(axis) out of range for rank \(rank)")
    }
    return a
}

/// Checks that a shape is fully known and not absurd.
func checkedCount(_ shape: [Int], tensor: String) throws -> Int {
    guard let n = ShapeMath.elementCount(shape) else {
        throw EngineError.invalidShape(tensor: tensor, detail: "shape \(shape) is unknown, negative or too large")
    }
    return n
}

/// Divides `0..<count` into `parts` near-equal ranges; returns range `i`.
@inline(__always)
func splitRange(_ count: Int, parts: Int, _ i: Int) -> Range<Int> {
    let base = count / parts, extra = count % parts
    let lo = i * base + min(i, extra)
    return lo ..< lo + base + (i < extra ? 1 : 0)
}

/// A prepared op that does nothing (aliases).
final class NoOp: PreparedOp {
    func run(_ pool: ThreadPool) {}
}

/// A prepared op that copies bytes (reshape-like ops whose output could not alias).
final class CopyOp: PreparedOp {
    let src: UnsafeRawPointer, dst: UnsafeMutableRawPointer, bytes: Int
    init(src: UnsafeRawPointer, dst: UnsafeMutableRawPointer, bytes: Int) { self.src = src; self.dst = dst; self.bytes = bytes }
    func run(_ pool: ThreadPool) { if src != UnsafeRawPointer(dst) { dst.copyMemory(from: src, byteCount: bytes) } }
}
