import XCTest
@testable import VSegEngine
import VSegCore

/// Seeded generator so every randomized test is reproducible.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E3779B97F4A7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
    mutating func float(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }
    mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(next() % UInt64(r.count)) }
    mutating func floats(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] { (0 ..< n).map { _ in float(lo, hi) } }
}

/// One input of a test graph: a runtime float input, or a constant.
enum TestInput {
    case activation([Int], [Float])
    case constant([Int], TensorData)
    case absent
}

/// Builds a graph of one node and runs it through a Session, with the fast
/// ops or their reference twins.
func runSingleNode(_ op: Op, _ inputs: [TestInput], reference: Bool, threads: Int = 2,
                   file: StaticString = #filePath, line: UInt = #line) throws -> (shape: [Int], values: [Float]) {
    var g = Graph(format: .builtin)
    var ins: [Int] = []
    var feeds: [(Int, [Float])] = []
    for (k, i) in inputs.enumerated() {
        switch i {
        case let .activation(shape, data):
            let t = g.addTensor(TensorInfo(name: "in\(k)", shape: shape, dtype: .float32))
            g.inputs.append(GraphIO(tensor: t, name: "in\(k)"))
            feeds.append((g.inputs.count - 1, data))
            ins.append(t)
        case let .constant(shape, data):
            ins.append(g.addConstant(name: "c\(k)", shape: shape, data: data))
        case .absent:
            ins.append(-1)
        }
    }
    let out = g.addTensor(TensorInfo(name: "out", shape: [], dtype: .float32))
    g.nodes = [Node(op: op, inputs: ins, outputs: [out], name: "node")]
    g.outputs = [GraphIO(tensor: out, name: "out")]
    let model = try Model(graph: g)
    let s = try Session(model: model, threads: threads, profile: false, referenceOps: reference)
    for (i, data) in feeds {
        let buf = s.input(i)
        XCTAssertEqual(buf.count, data.count, "feed size", file: file, line: line)
        for j in 0 ..< min(buf.count, data.count) { buf[j] = data[j] }
    }
    try s.run()
    if s.outputDType(0) == .float32 { return (s.outputShape(0), Array(s.output(0))) }
    let raw = s.outputRaw(0)
    let n = s.outputShape(0).reduce(1, *)
    return (s.outputShape(0), (0 ..< n).map { Float(RawElements.double(raw.baseAddress!, s.outputDType(0), $0)) })
}

/// Runs `op` fast and reference and asserts max |diff| <= tol * max(1, max|ref|).
@discardableResult
func assertFastMatchesReference(_ op: Op, _ inputs: [TestInput], tol: Float = 1e-5, threads: Int = 2, _ what: String = "",
                                file: StaticString = #filePath, line: UInt = #line) throws -> [Int] {
    let fast = try runSingleNode(op, inputs, reference: false, threads: threads, file: file, line: line)
    let ref = try runSingleNode(op, inputs, reference: true, threads: 1, file: file, line: line)
    XCTAssertEqual(fast.shape, ref.shape, "shape \(what)", file: file, line: line)
    XCTAssertEqual(fast.values.count, ref.values.count, file: file, line: line)
    var maxDiff: Float = 0, maxRef: Float = 0
    for i in 0 ..< min(fast.values.count, ref.values.count) {
        let d = abs(fast.values[i] - ref.values[i])
        if !(d <= maxDiff) { maxDiff = d.isNaN ? .infinity : d }
        maxRef = max(maxRef, abs(ref.values[i]))
    }
    XCTAssertLessThanOrEqual(maxDiff, tol * max(1, maxRef), "\(op.name) \(what): max diff \(maxDiff)", file: file, line: line)
    return fast.shape
}
