import VSegCore

/// Turns TFLite operators into IR nodes. Tensor indices stay those of the
/// file while mapping (extra tensors are appended); `TFLiteImporter` compacts
/// afterwards.
///
/// Constant folding done here, so the graph leaves the importer with float32
/// weights in the layouts Graph.swift documents:
/// - DEQUANTIZE of a constant (float16 weights, or int8/uint8 with quantization
///   parameters) becomes a float32 constant on its output tensor; no node.
/// - DENSIFY of a constant (already densified by `TFLiteSparsity` when the
///   tensor was read) copies the dense data to its output tensor; no node.
/// A DEQUANTIZE of an activation becomes `.dequantize`.
struct TFLiteGraphBuilder {
    let path: String
    var tensors: [TensorInfo]
    var nodes: [Node] = []
    /// Operators folded away at import, by TFLite name.
    var folded: [String: Int] = [:]
    var budget: ImportBudget

    /// Largest kernel/stride/dilation/block size accepted, to keep later shape math far from overflow.
    static let maxWindow = 1 << 16

    init(path: String, tensors: [TensorInfo], budget: ImportBudget) {
        self.path = path; self.tensors = tensors; self.budget = budget
    }

    // MARK: helpers shared by the op mappers

    func nodeName(_ op: TFLiteRawOperator) -> String {
        "\(op.name.lowercased())_\(op.index)"
    }

    func invalid(_ op: TFLiteRawOperator, _ detail: String) -> EngineError {
        .invalidOp(node: nodeName(op), detail: detail)
    }

    func unsupported(_ op: TFLiteRawOperator) -> EngineError {
        .unsupportedOp(path: path, op: op.name, index: op.index)
    }

    /// Required input `i` (a tensor index).
    func input(_ op: TFLiteRawOperator, _ i: Int) throws -> Int {
        guard i < op.inputs.count, op.inputs[i] >= 0 else {
            throw invalid(op, "expects at least \(i + 1) inputs, has \(op.inputs.filter { $0 >= 0 }.count)")
        }
        return op.inputs[i]
    }

    /// Optional input `i`, -1 when absent.
    func optionalInput(_ op: TFLiteRawOperator, _ i: Int) -> Int {
        i < op.inputs.count ? op.inputs[i] : -1
    }

    func output(_ op: TFLiteRawOperator) throws -> Int {
        guard op.outputs.count == 1 else { throw invalid(op, "expects 1 output, has \(op.outputs.count)") }
        return op.outputs[0]
    }

    /// The options table, checking its union type; nil when the file gives none.
    func options(_ op: TFLiteRawOperator, _ type: UInt8) throws -> FBTable? {
        guard let t = op.options, op.optionsType != 0 else { return nil }
        guard op.optionsType == type else {
            throw EngineError.malformedModel(
                path: path, detail: "operator \(op.index) (\(op.name)) carries options of type \(op.optionsType), expected \(type)")
        }
        return t
    }

    func shape(_ t: Int) -> [Int] { tensors[t].shape }

    /// The integer contents of constant tensor `t`.
    func constInts(_ op: TFLiteRawOperator, _ t: Int, what: String) throws -> [Int] {
        guard let ints = tensors[t].data?.asInts else {
            throw invalid(op, "\(what) must be a constant integer tensor")
        }
        return ints
    }

    func activation(_ op: TFLiteRawOperator, _ code: Int8) throws -> Activation {
        switch code {
        case 0: return .none
        case 1: return .relu
        case 2: return .reluN1To1
        case 3: return .relu6
        case 4: return .tanh
        case 5: throw invalid(op, "fused activation SIGN_BIT is not supported")
        default: throw invalid(op, "unknown fused activation \(code)")
        }
    }

    func padding(_ op: TFLiteRawOperator, _ code: Int8) throws -> Padding {
        switch code {
        case 0: return .same
        case 1: return .valid
        default: throw invalid(op, "unknown padding \(code)")
        }
    }

    /// A positive window parameter (kernel, stride, dilation) within `maxWindow`.
    func window(_ op: TFLiteRawOperator, _ v: Int, _ what: String) throws -> Int {
        guard v >= 1, v <= Self.maxWindow else { throw invalid(op, "\(what) \(v) is out of range") }
        return v
    }

    mutating func emit(_ o: Op, _ op: TFLiteRawOperator, inputs: [Int], outputs: [Int], suffix: String = "") {
        nodes.append(Node(op: o, inputs: inputs, outputs: outputs, name: nodeName(op) + suffix))
    }

    /// Emits `o` and then, when `act` is not none, a separate activation node
    /// through a new intermediate tensor (for ops whose kernel has no fused activation).
    mutating func emit(_ o: Op, _ op: TFLiteRawOperator, inputs: [Int], output: Int, thenActivation act: Activation) {
        guard act != .none else { emit(o, op, inputs: inputs, outputs: [output]); return }
        var mid = tensors[output]
        mid.name += "/pre_activation"
        mid.data = nil
        let m = tensors.count
        tensors.append(mid)
        emit(o, op, inputs: inputs, outputs: [m])
        emit(.unary(act), op, inputs: [m], outputs: [output], suffix: "_" + act.name.lowercased())
    }

    /// Normalizes possibly negative axes against `rank`.
    func axes(_ op: TFLiteRawOperator, _ raw: [Int], rank: Int) throws -> [Int] {
        var out: [Int] = []
        for a in raw {
            let n = a < 0 ? a + rank : a
            guard n >= 0, n < rank else { throw invalid(op, "axis \(a) is out of range for rank \(rank)") }
            if !out.contains(n) { out.append(n) }
        }
        return out.sorted()
    }

    // MARK: dispatch

    mutating func map(_ op: TFLiteRawOperator) throws {
        typealias C = TFLiteSchema.Op
        switch op.code {
        case C.conv2D: try mapConv2D(op)
        case C.depthwiseConv2D: try mapDepthwiseConv2D(op)
        case C.transposeConv: try mapTransposeConv(op)
        case C.custom where op.customCode == "Convolution2DTransposeBias": try mapConvolution2DTransposeBias(op)
        case C.add, C.sub, C.mul, C.div, C.maximum, C.minimum: try mapBinary(op)
        case C.hardSwish, C.relu, C.relu6, C.reluN1To1, C.logistic, C.tanh, C.leakyRelu: try mapUnary(op)
        case C.prelu:
            emit(.prelu, op, inputs: [try input(op, 0), try input(op, 1)], outputs: [try output(op)])
        case C.averagePool2D, C.maxPool2D: try mapPool(op)
        case C.mean: try mapMean(op)
        case C.resizeBilinear, C.resizeNearestNeighbor: try mapResize(op)
        case C.pad, C.padV2: try mapPad(op)
        case C.reshape: try mapReshape(op)
        case C.concatenation: try mapConcatenation(op)
        case C.depthToSpace: try mapDepthToSpace(op)
        case C.softmax: try mapSoftmax(op)
        case C.dequantize: try mapDequantize(op)
        case C.quantize: emit(.quantize, op, inputs: [try input(op, 0)], outputs: [try output(op)])
        case C.densify: try mapDensify(op)
        default: throw unsupported(op)
        }
    }
}
