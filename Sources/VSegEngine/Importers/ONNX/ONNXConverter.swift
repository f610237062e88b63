import VSegCore

/// One ONNX value as the converter holds it: its IR tensor and whether that
/// tensor is a rank-4 activation held as NHWC (see `ONNXImporter` for the strategy).
struct ONNXValue {
    var tensor: Int
    var nhwc: Bool
}

/// Axis maps and transposes between the file's NCHW and the engine's NHWC.
enum ONNXLayout {
    /// NCHW axis → NHWC axis for rank-4 tensors.
    static let axisToNHWC = [0, 3, 1, 2]
    /// Transpose perms: NHWC data → NCHW order, and back.
    static let toNCHW = [0, 3, 1, 2]
    static let toNHWC = [0, 2, 3, 1]
}

/// Walks an ONNX graph in order and builds the IR. One instance per load.
final class ONNXConverter {
    let path: String
    let opset: Int
    let model: ONNXModelProto
    let decoder: ONNXTensorDecoder
    var g = Graph(format: .onnx)
    var values: [String: ONNXValue] = [:]
    private var toPlainCache: [Int: Int] = [:]
    private var toNHWCCache: [Int: Int] = [:]
    /// How many node inputs and graph outputs read each ONNX name.
    var useCount: [String: Int] = [:]
    /// IR tensor → index of the IR node that writes it.
    var producer: [Int: Int] = [:]
    var nodeIndex = 0
    var nodeName = ""

    init(path: String, opset: Int, model: ONNXModelProto) {
        self.path = path; self.opset = opset; self.model = model
        self.decoder = ONNXTensorDecoder(modelPath: path)
    }

    // MARK: errors

    func invalid(_ detail: String) -> EngineError { .invalidOp(node: nodeName, detail: detail) }
    func malformed(_ detail: String) -> EngineError { .malformedModel(path: path, detail: detail) }

    // MARK: the walk

    func run(inputShapes: [String: [Int]]) throws -> Graph {
        let graph = model.graph
        for t in graph.initializers {
            let (shape, data) = try decoder.decode(t)
            values[t.name] = ONNXValue(tensor: g.addConstant(name: t.name, shape: shape, data: data), nhwc: false)
        }
        for n in graph.nodes { for i in n.inputs where !i.isEmpty { useCount[i, default: 0] += 1 } }
        for o in graph.outputs { useCount[o.name, default: 0] += 1 }
        try addInputs(inputShapes)
        for (i, n) in graph.nodes.enumerated() {
            nodeIndex = i
            nodeName = n.name.isEmpty ? "\(n.opType)_\(i)" : n.name
            try convert(n, index: i)
        }
        try addOutputs()
        dropUnreferencedTensors()
        return g
    }

    /// Initializers replaced by permuted copies (conv weights, broadcast constants) and
    /// folded shape-subgraph intermediates are no longer read by anything: drop them so the
    /// graph does not carry the weights twice.
    private func dropUnreferencedTensors() {
        var keep = [Bool](repeating: false, count: g.tensors.count)
        for n in g.nodes { for t in n.inputs + n.outputs where t >= 0 { keep[t] = true } }
        for io in g.inputs + g.outputs { keep[io.tensor] = true }
        var remap = [Int](repeating: -1, count: g.tensors.count)
        var tensors: [TensorInfo] = []
        for (i, t) in g.tensors.enumerated() where keep[i] {
            remap[i] = tensors.count
            tensors.append(t)
        }
        g.tensors = tensors
        for i in g.nodes.indices {
            g.nodes[i].inputs = g.nodes[i].inputs.map { $0 >= 0 ? remap[$0] : -1 }
            g.nodes[i].outputs = g.nodes[i].outputs.map { remap[$0] }
        }
        for i in g.inputs.indices { g.inputs[i].tensor = remap[g.inputs[i].tensor] }
        for i in g.outputs.indices { g.outputs[i].tensor = remap[g.outputs[i].tensor] }
    }

    private func addInputs(_ shapes: [String: [Int]]) throws {
        let real = model.graph.inputs.filter { values[$0.name] == nil }
        for key in shapes.keys where !key.isEmpty && !real.contains(where: { $0.name == key }) {
            throw EngineError.inputMismatch(detail: "the model has no input named '\(key)' (inputs: \(real.map(\.name).joined(separator: ", ")))")
        }
        for (k, inp) in real.enumerated() {
            var dims = (inp.dims ?? []).map { $0 ?? -1 }
            if let s = shapes[inp.name] ?? (k == 0 ? shapes[""] : nil) {
                if let fileDims = inp.dims, fileDims.count != s.count {
                    throw EngineError.inputMismatch(detail: "input '\(inp.name)' has rank \(fileDims.count), given shape \(s)")
                }
                guard s.allSatisfy({ $0 > 0 }), ShapeMath.elementCount(s) != nil else {
                    throw EngineError.inputMismatch(detail: "input '\(inp.name)': shape \(s) is not a valid size")
                }
                dims = s
            } else if inp.dims == nil {
                throw EngineError.invalidShape(tensor: inp.name, detail: "the file gives no shape for this input; pass the input shape")
            }
            guard let dtype = ONNXTensorDecoder.dtype(inp.elemType) else {
                throw malformed("input '\(inp.name)' has unsupported element type \(inp.elemType)")
            }
            let nhwc = dims.count == 4 && dtype == .float32
            let shape = nhwc ? ONNXLayout.toNHWC.map { dims[$0] } : dims
            let t = try newTensor(inp.name, shape, dtype)
            g.inputs.append(GraphIO(tensor: t, name: inp.name, toSourceLayout: nhwc ? ONNXLayout.toNCHW : nil))
            values[inp.name] = ONNXValue(tensor: t, nhwc: nhwc)
        }
    }

    private func addOutputs() throws {
        var used = Set<Int>()
        let inputTensors = Set(g.inputs.map(\.tensor))
        for o in model.graph.outputs {
            guard let v = values[o.name] else { throw malformed("graph output '\(o.name)' is never produced") }
            var t = v.tensor
            if g.tensors[t].isConstant || inputTensors.contains(t) || used.contains(t) {
                t = try emit(.identity, [t], g.tensors[t].shape, g.tensors[t].dtype, o.name)
            }
            used.insert(t)
            g.tensors[t].name = o.name
            g.outputs.append(GraphIO(tensor: t, name: o.name, toSourceLayout: v.nhwc ? ONNXLayout.toNCHW : nil))
        }
    }

    // MARK: values

    func input(_ n: ONNXNode, _ i: Int) throws -> ONNXValue? {
        guard i < n.inputs.count, !n.inputs[i].isEmpty else { return nil }
        guard let v = values[n.inputs[i]] else {
            throw malformed("node \(nodeIndex) (\(n.opType)) reads '\(n.inputs[i])', which no earlier node produces")
        }
        return v
    }

    func required(_ n: ONNXNode, _ i: Int) throws -> ONNXValue {
        guard let v = try input(n, i) else { throw invalid("\(n.opType) is missing input \(i)") }
        return v
    }

    func define(_ n: ONNXNode, _ i: Int, _ v: ONNXValue) throws {
        guard i < n.outputs.count else { throw invalid("\(n.opType) has no output \(i)") }
        if !n.outputs[i].isEmpty { values[n.outputs[i]] = v }
    }

    func outName(_ n: ONNXNode, _ i: Int = 0) -> String {
        i < n.outputs.count && !n.outputs[i].isEmpty ? n.outputs[i] : "\(nodeName):\(i)"
    }

    func isUsed(_ n: ONNXNode, _ i: Int) -> Bool {
        i < n.outputs.count && !n.outputs[i].isEmpty && useCount[n.outputs[i], default: 0] > 0
    }

    func shape(_ v: ONNXValue) -> [Int] { g.tensors[v.tensor].shape }
    func dtype(_ v: ONNXValue) -> DType { g.tensors[v.tensor].dtype }

    /// The ONNX (file-order) dims of a value.
    func logicalShape(_ v: ONNXValue) -> [Int] {
        let s = shape(v)
        return v.nhwc ? ONNXLayout.toNCHW.map { s[$0] } : s
    }

    func constData(_ v: ONNXValue) -> TensorData? { v.nhwc ? nil : g.tensors[v.tensor].data }
    func constInts(_ v: ONNXValue?) -> [Int]? { v.flatMap { constData($0)?.asInts } }
    func constFloats(_ v: ONNXValue?) -> [Float]? {
        guard let v = v, let d = constData(v) else { return nil }
        return d.asFloats
    }

    // MARK: emitting

    func newTensor(_ name: String, _ shape: [Int], _ dtype: DType, data: TensorData? = nil) throws -> Int {
        guard shape.allSatisfy({ $0 >= -1 }), ShapeMath.elementCount(shape.map { $0 < 0 ? 1 : $0 }) != nil else {
            throw EngineError.invalidShape(tensor: name, detail: "shape \(shape) is negative or exceeds \(ShapeMath.maxElements) elements")
        }
        return g.addTensor(TensorInfo(name: name, shape: shape, dtype: dtype, data: data))
    }

    func constant(_ name: String, _ shape: [Int], _ data: TensorData) throws -> Int {
        try newTensor(name, shape, data.dtype, data: data)
    }

    @discardableResult
    func emit(_ op: Op, _ inputs: [Int], _ shape: [Int], _ dtype: DType, _ name: String) throws -> Int {
        let t = try newTensor(name, shape, dtype)
        g.nodes.append(Node(op: op, inputs: inputs, outputs: [t], name: name))
        producer[t] = g.nodes.count - 1
        return t
    }

    /// The value's tensor in the file's order (transposing an NHWC-held activation back to NCHW).
    func plain(_ v: ONNXValue) throws -> Int {
        guard v.nhwc else { return v.tensor }
        if let t = toPlainCache[v.tensor] { return t }
        let t = try emit(.transpose(perm: ONNXLayout.toNCHW), [v.tensor], logicalShape(v), dtype(v),
                         g.tensors[v.tensor].name + "/nchw")
        toPlainCache[v.tensor] = t
        toNHWCCache[t] = v.tensor
        return t
    }

    /// The value as an NHWC tensor; `v` must be rank 4. Constants are permuted at import.
    func nhwc(_ v: ONNXValue) throws -> Int {
        if v.nhwc { return v.tensor }
        let s = shape(v)
        guard s.count == 4 else { throw invalid("expected a rank-4 (NCHW) tensor, got shape \(s)") }
        if let t = toNHWCCache[v.tensor] { return t }
        let name = g.tensors[v.tensor].name + "/nhwc"
        let t: Int
        if let d = constData(v) {
            t = try constant(name, ONNXLayout.toNHWC.map { s[$0] }, ONNXConstantMath.permute(d, shape: s, perm: ONNXLayout.toNHWC))
        } else {
            t = try emit(.transpose(perm: ONNXLayout.toNHWC), [v.tensor], ONNXLayout.toNHWC.map { s[$0] }, dtype(v), name)
        }
        toNHWCCache[v.tensor] = t
        return t
    }

    /// Normalizes a possibly negative axis against `rank`.
    func axis(_ a: Int, rank: Int) throws -> Int {
        let r = a < 0 ? a + rank : a
        guard r >= 0, r < rank else { throw invalid("axis \(a) out of range for rank \(rank)") }
        return r
    }

    // MARK: dispatch

    func convert(_ n: ONNXNode, index: Int) throws {
        guard n.domain.isEmpty || n.domain == "ai.onnx" else {
            throw EngineError.unsupportedOp(path: path, op: "\(n.domain).\(n.opType)", index: index)
        }
        if try foldConstant(n) { return }
        switch n.opType {
        case "Conv": try convertConv(n)
        case "ConvTranspose": try convertConvTranspose(n)
        case "BatchNormalization": try convertBatchNorm(n)
        case "Relu", "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "LeakyRelu", "Clip":
            try convertActivation(n)
        case "PRelu": try convertPRelu(n)
        case "Add", "Sub", "Mul", "Div", "Max", "Min": try convertBinary(n)
        case "MaxPool", "AveragePool": try convertPool(n)
        case "GlobalAveragePool", "GlobalMaxPool": try convertGlobalPool(n)
        case "ReduceMean", "ReduceMax", "ReduceSum": try convertReduce(n)
        case "Resize", "Upsample": try convertResize(n)
        case "Concat": try convertConcat(n)
        case "Pad": try convertPad(n)
        case "Softmax": try convertSoftmax(n)
        case "ArgMax": try convertArgMax(n)
        case "Reshape": try convertReshape(n)
        case "Flatten": try convertFlatten(n)
        case "Transpose": try convertTranspose(n)
        case "Squeeze", "Unsqueeze": try convertSqueeze(n)
        case "Identity", "Dropout":
            if n.opType == "Dropout", isUsed(n, 1) { throw invalid("Dropout's mask output is not supported") }
            try define(n, 0, try required(n, 0))
        case "Shape": try convertShape(n)
        case "Gather": try convertGather(n)
        case "Slice": try convertSlice(n)
        case "Cast": try convertCast(n)
        case "Constant": try convertConstant(n)
        case "ConstantOfShape": try convertConstantOfShape(n)
        case "DepthToSpace": try convertDepthToSpace(n)
        default:
            throw EngineError.unsupportedOp(path: path, op: n.opType, index: index)
        }
    }
}

extension ONNXNode {
    func int(_ name: String, _ def: Int) -> Int {
        attributes[name]?.i.map { Int(clamping: $0) } ?? def
    }
    func ints(_ name: String) -> [Int]? {
        guard let a = attributes[name] else { return nil }
        return a.ints.map { Int(clamping: $0) }
    }
    func float(_ name: String, _ def: Float) -> Float { attributes[name]?.f ?? def }
    func floats(_ name: String) -> [Float]? { attributes[name]?.floats }
    func string(_ name: String, _ def: String) -> String { attributes[name]?.s ?? def }
}
