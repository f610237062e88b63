import XCTest
@testable import VSegEngine
import VSegCore

/// Load-time passes: what they remove, and that the optimized graph computes
/// the same thing as the unoptimized one (checked by running the original
/// nodes one by one through the reference twins).
final class PassTests: XCTestCase {
    /// Runs `g` with every pass but `keepUnfused` ones... simplest: compare against the
    /// same graph evaluated node by node via single-node sessions (reference twins).
    func evaluateNodeByNode(_ g: Graph, input: [Float]) throws -> [Float] {
        var values: [Int: (shape: [Int], data: [Float])] = [:]
        values[g.inputs[0].tensor] = (g.tensors[g.inputs[0].tensor].shape, input)
        for n in g.nodes {
            let ins: [TestInput] = n.inputs.map { t in
                if t < 0 { return .absent }
                if let d = g.tensors[t].data { return .constant(g.tensors[t].shape, d) }
                let v = values[t]!
                return .activation(v.shape, v.data)
            }
            let out = try runSingleNode(n.op, ins, reference: true, threads: 1)
            values[n.outputs[0]] = (out.shape, out.values)
        }
        return values[g.outputs[0].tensor]!.data
    }

    func convBNGraph() -> Graph {
        var r = SeededRandom(seed: 21)
        var g = Graph(format: .builtin)
        let x = g.addTensor(TensorInfo(name: "x", shape: [1, 7, 9, 5], dtype: .float32))
        g.inputs = [GraphIO(tensor: x, name: "x")]
        let w = g.addConstant(name: "w", shape: [6, 3, 3, 5], data: .float32(r.floats(270)))
        let y = g.addTensor(TensorInfo(name: "y", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .conv2D(ConvAttrs(kernel: (3, 3), stride: (2, 2), padding: .same)), inputs: [x, w, -1], outputs: [y], name: "conv"))
        let scale = g.addConstant(name: "scale", shape: [1, 1, 1, 6], data: .float32(r.floats(6, 0.5, 2)))
        let m = g.addTensor(TensorInfo(name: "m", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .binary(.mul, activation: .none), inputs: [y, scale], outputs: [m], name: "bn_mul"))
        let shift = g.addConstant(name: "shift", shape: [6], data: .float32(r.floats(6)))
        let a = g.addTensor(TensorInfo(name: "a", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .binary(.add, activation: .relu6), inputs: [shift, m], outputs: [a], name: "bn_add"))
        let h = g.addTensor(TensorInfo(name: "h", shape: [], dtype: .float32))
        g.nodes.append(Node(op: .unary(.hardSwish), inputs: [a], outputs: [h], name: "hswish"))
        g.outputs = [GraphIO(tensor: h, name: "h")]
        return g
    }

    func testBatchNormFoldingKeepsResults() throws {
        let g = convBNGraph()
        var r = SeededRandom(seed: 22)
        let input = r.floats(7 * 9 * 5)
        let expected = try evaluateNodeByNode(g, input: input)
        let model = try Model(graph: g)
        XCTAssertEqual(model.passReport?.bnFolded, 2)
        XCTAssertEqual(model.graph.nodes.count, 2)  // conv(+relu6 from the add) and HardSwish
        guard case let .conv2D(a) = model.graph.nodes[0].op else { return XCTFail("conv expected") }
        XCTAssertEqual(a.activation, .relu6)
        let s = try Session(model: model, threads: 2)
        for i in 0 ..< input.count { s.input(0)[i] = input[i] }
        try s.run()
        XCTAssertEqual(s.outputShape(0), [1, 4, 5, 6])
        for i in 0 ..< expected.count { XCTAssertEqual(s.output(0)[i], expected[i], accuracy: 1e-4) }
    }

    func testActivationFusionIntoConvAsPostOp() throws {
        var g = convBNGraph()
        // Drop the BN nodes: conv -> HardSwish fuses as a post-op.
        g.nodes = [g.nodes[0], Node(op: .unary(.hardSwish), inputs: [g.nodes[0].outputs[0]], outputs: g.nodes[3].outputs, name: "hs")]
        var r = SeededRandom(seed: 23)
        let input = r.floats(7 * 9 * 5)
        let expected = try evaluateNodeByNode(g, input: input)
        let model = try Model(graph: g)
        XCTAssertEqual(model.graph.nodes.count, 1)
        let s = try Session(model: model, threads: 1)
        for i in 0 ..< input.count { s.input(0)[i] = input[i] }
        try s.run()
        for i in 0 ..< expected.count { XCTAssertEqual(s.output(0)[i], expected[i], accuracy: 1e-4) }
    }

    func testNoFusionWhenIntermediateHasTwoReaders() throws {
        var g = Graph(format: .builtin)
        let x = g.addTensor(TensorInfo(name: "x", shape: [1, 4, 4, 2], dtype: .float32))
        g.inputs = [GraphIO(tensor: x, name: "x")]
        let y = g.addTensor(TensorInfo(name: "y", shape: [], dtype: .float32))
        let z = g.addTensor(TensorInfo(name: "z", shape: [], dtype: .float32))
        let o = g.addTensor(TensorInfo(name: "o", shape: [], dtype: .float32))
        g.nodes = [Node(op: .binary(.add, activation: .none), inputs: [x, x], outputs: [y], name: "add"),
                   Node(op: .unary(.relu), inputs: [y], outputs: [z], name: "relu"),
                   Node(op: .binary(.mul, activation: .none), inputs: [z, y], outputs: [o], name: "mul")]
        g.outputs = [GraphIO(tensor: o, name: "o")]
        let m = try Model(graph: g)
        XCTAssertEqual(m.passReport?.activationsFused, 0)
        XCTAssertEqual(m.graph.nodes.count, 3)
    }

    /// PyTorch-style Shape -> Gather -> Mul -> Cast -> Concat -> Resize sizes, plus
    /// an fp16 weight Dequantize: all folded at load; dead branches removed.
    func testConstantFoldingOfShapeSubgraphAndFp16Weights() throws {
        var g = Graph(format: .builtin)
        let x = g.addTensor(TensorInfo(name: "x", shape: [1, 6, 10, 3], dtype: .float32))
        g.inputs = [GraphIO(tensor: x, name: "x")]
        func t(_ n: String) -> Int { g.addTensor(TensorInfo(name: n, shape: [], dtype: .float32)) }
        let shp = t("shape"), hw = t("hw"), hw2 = t("hw2"), hwc = t("hwc"), y = t("y"), dead = t("dead")
        let idx = g.addConstant(name: "idx", shape: [2], data: .int64([1, 2]))
        let two = g.addConstant(name: "two", shape: [1], data: .int64([2]))
        let w16 = g.addConstant(name: "w16", shape: [4, 1, 1, 3], data: .float16((0 ..< 12).map { Float16(Float($0) / 8).bitPattern }))
        let w32 = t("w32"), out = t("out")
        g.nodes = [
            Node(op: .shape, inputs: [x], outputs: [shp], name: "shape"),
            Node(op: .gather(axis: 0), inputs: [shp, idx], outputs: [hw], name: "gather"),
            Node(op: .binary(.mul, activation: .none), inputs: [hw, two], outputs: [hw2], name: "mul"),
            Node(op: .cast(to: .int32), inputs: [hw2], outputs: [hwc], name: "cast"),
            Node(op: .resize(ResizeAttrs(mode: .linear, coordinate: .halfPixel)), inputs: [x, hwc], outputs: [y], name: "resize"),
            Node(op: .unary(.relu), inputs: [x], outputs: [dead], name: "unused"),
            Node(op: .dequantize, inputs: [w16], outputs: [w32], name: "deq"),
            Node(op: .conv2D(ConvAttrs(kernel: (1, 1))), inputs: [y, w32, -1], outputs: [out], name: "conv"),
        ]
        g.outputs = [GraphIO(tensor: out, name: "out")]
        let m = try Model(graph: g)
        XCTAssertEqual(m.graph.nodes.map(\.name), ["resize", "conv"])
        XCTAssertEqual(m.passReport?.folded, 5)
        XCTAssertEqual(m.graph.tensors[out].shape, [1, 12, 20, 4])
        XCTAssertEqual(m.graph.tensors[w32].data, .float32((0 ..< 12).map { Float($0) / 8 }))
        XCTAssertEqual(m.graph.tensors[hwc].data, .int32([12, 20]))
    }

    func testDeadNodeElimination() {
        var g = Graph(format: .builtin)
        let x = g.addTensor(TensorInfo(name: "x", shape: [4], dtype: .float32))
        let a = g.addTensor(TensorInfo(name: "a", shape: [4], dtype: .float32))
        let b = g.addTensor(TensorInfo(name: "b", shape: [4], dtype: .float32))
        g.inputs = [GraphIO(tensor: x, name: "x")]
        g.nodes = [Node(op: .unary(.relu), inputs: [x], outputs: [a], name: "live"),
                   Node(op: .unary(.tanh), inputs: [a], outputs: [b], name: "dead")]
        g.outputs = [GraphIO(tensor: a, name: "a")]
        XCTAssertEqual(DeadNodeElimination.run(&g), 1)
        XCTAssertEqual(g.nodes.map(\.name), ["live"])
    }
}
