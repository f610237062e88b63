import VSegCore

/// Calibrated uint8 parameters of one activation tensor, and whether the node
/// that produces it must stay in float32 (a table entry marked `fp32`).
public struct TensorQuantization: Sendable, Equatable {
    public var quant: ActivationQuant
    public var keepFP32: Bool
    /// Added to the float bias of the INT8 conv that produces this tensor, one
    /// value per output channel, before the bias is quantized (empirical bias
    /// correction, `BiasCorrection`). Ignored when the producer runs FP32.
    public var biasCorrection: [Float]?
    /// Per-channel factors the tensor is scaled by before quantization
    /// (`ChannelEqualization`); nil = none.
    public var equalization: [Float]?
    public init(quant: ActivationQuant, keepFP32: Bool = false, biasCorrection: [Float]? = nil,
                equalization: [Float]? = nil) {
        self.quant = quant
        self.keepFP32 = keepFP32
        self.biasCorrection = biasCorrection
        self.equalization = equalization
    }
}

/// Turns an FP32 graph (from `PassPipeline.run(…, clampsOnly: true)`) into the
/// INT8 graph `Session` runs. Same nodes and `Op` cases; what changes:
///
/// - A node runs INT8 when it has an INT8 definition that supports it, every
///   activation input has calibrated parameters, its output has an entry not
///   marked `fp32` (or its rule is `.sameAsInput`), and it would not be an INT8
///   island: non-conv ops only go INT8 when one activation input already is uint8.
///   Its output tensor becomes uint8 with the table's parameters (or its input's).
/// - Float activations read by an INT8 node get a Quantize node (once per
///   tensor); uint8 activations read by an FP32 node or returned as a graph
///   output get a Dequantize node (once per tensor). Graph inputs and outputs
///   stay float32, so callers see no difference.
public enum QuantizationPass {
    public struct Report: Sendable {
        public var int8Nodes = 0
        public var fp32Nodes = 0
        public var quantizeNodes = 0
        public var dequantizeNodes = 0
        /// Names of compute nodes (convs) left in FP32, with the reason.
        public var fp32Convs: [String] = []
        /// INT8 convs whose output is a graph output, written as float32 straight
        /// from the int32 accumulators (no uint8 rounding of the model's result).
        public var floatOutputConvs = 0
    }

    public static func run(_ source: Graph, table: [String: TensorQuantization]) throws -> (Graph, Report) {
        var g = source
        var r = Report()
        let keys = Session.tensorKeys(source)
        var quantized: [Int: Int] = [:]    // float tensor -> its uint8 copy
        var dequantized: [Int: Int] = [:]  // uint8 tensor -> its float copy
        var nodes: [Node] = []
        nodes.reserveCapacity(source.nodes.count + 8)

        func entry(_ t: Int) -> TensorQuantization? { table[keys[t]] }
        func isActivation(_ t: Int) -> Bool { t >= 0 && !g.tensors[t].isConstant }

        func u8(_ t: Int) -> Int {
            if g.tensors[t].dtype == .uint8 { return t }
            if let q = quantized[t] { return q }
            let q = entry(t)!.quant
            let info = g.tensors[t]
            let nt = g.addTensor(TensorInfo(name: info.name + "/u8", shape: info.shape, dtype: .uint8, quant: q.params))
            nodes.append(Node(op: .quantize, inputs: [t], outputs: [nt], name: info.name + "/quantize"))
            quantized[t] = nt
            r.quantizeNodes += 1
            return nt
        }
        func f32(_ t: Int) -> Int {
            if g.tensors[t].dtype != .uint8 { return t }
            if let d = dequantized[t] { return d }
            let info = g.tensors[t]
            let nt = g.addTensor(TensorInfo(name: info.name + "/f32", shape: info.shape, dtype: .float32))
            nodes.append(Node(op: .dequantize, inputs: [t], outputs: [nt], name: info.name + "/dequantize"))
            dequantized[t] = nt
            r.dequantizeNodes += 1
            return nt
        }

        let uses = GraphUses(source)
        for node in source.nodes {
            let decision = decide(node, g, source, entry: entry)
            var n = node
            if decision != nil, floatOutput(node, source, uses) {
                // The result leaves the graph: uint8 inputs, float32 accumulators out.
                n.inputs = node.inputs.map { isActivation($0) ? u8($0) : $0 }
                r.int8Nodes += 1
                r.floatOutputConvs += 1
            } else if let rule = decision {
                n.inputs = node.inputs.map { isActivation($0) ? u8($0) : $0 }
                let out = node.outputs[0]
                let q: ActivationQuant
                switch rule {
                case .calibrated: q = entry(out)!.quant
                case let .sameAsInput(k): q = try activationParams(g.tensors[n.inputs[k]], node: node)
                }
                g.tensors[out].dtype = .uint8
                g.tensors[out].quant = q.params
                r.int8Nodes += 1
            } else {
                n.inputs = node.inputs.map { isActivation($0) ? f32($0) : $0 }
                r.fp32Nodes += 1
                switch node.op {
                case .conv2D, .depthwiseConv2D, .transposeConv2D:
                    let out = node.outputs.first.map { keys[$0] } ?? "?"
                    r.fp32Convs.append("\(node.name) (\(entry(node.outputs[0])?.keepFP32 == true ? "fp32 in the table" : table[out] == nil ? "no range for \(out)" : "not supported in INT8"))")
                default: break
                }
            }
            if decision != nil { try correctBias(&n, &g, entry(node.outputs[0])?.biasCorrection) }
            nodes.append(n)
        }
        for k in g.outputs.indices where g.tensors[g.outputs[k].tensor].dtype == .uint8 {
            g.outputs[k].tensor = f32(g.outputs[k].tensor)
        }
        g.nodes = nodes
        return (g, r)
    }

    /// A dense or transposed conv (groups 1) whose output is a graph output, read
    /// by nothing else, or only through Reshape/Squeeze/Unsqueeze/Identity on the
    /// way to graph outputs. A transposed conv may also reach them through an
    /// activation: the upsampling logits -> Sigmoid head of segmentation models,
    /// where the activation then runs FP32 on exact logits (uint8 logits put a
    /// whole quantization step of error right at the mask's 0.5 threshold).
    static func floatOutput(_ node: Node, _ g: Graph, _ uses: GraphUses) -> Bool {
        switch node.op {
        case let .conv2D(a) where a.groups == 1: break
        case let .transposeConv2D(a, _) where a.groups == 1: break
        default: return false
        }
        guard node.outputs.count == 1 else { return false }
        func leaves(_ t: Int, depth: Int) -> Bool {
            let readers = uses.consumers[t] ?? []
            if readers.isEmpty { return uses.graphOutputs.contains(t) }
            guard depth < 4 else { return false }
            return readers.allSatisfy { i in
                let passes: Bool
                switch (node.op, g.nodes[i].op) {
                case (.transposeConv2D, .unary): passes = g.nodes[i].inputs.count == 1
                default: passes = OpRegistry.outputAliasesInput(g.nodes[i].op)
                }
                return passes && g.nodes[i].outputs.allSatisfy { leaves($0, depth: depth + 1) }
            }
        }
        return leaves(node.outputs[0], depth: 0)
    }

    /// Points an INT8 conv at a new bias constant `bias + correction` (a zero bias
    /// when the conv has none). Other ops have no bias to correct.
    static func correctBias(_ n: inout Node, _ g: inout Graph, _ correction: [Float]?) throws {
        guard let correction else { return }
        switch n.op {
        case .conv2D, .depthwiseConv2D, .transposeConv2D: break
        default: return
        }
        let out = g.tensors[n.outputs[0]]
        let channels = out.shape.last ?? 0
        guard correction.count == channels else {
            throw EngineError.tableMismatch(tensor: out.name, detail: "its bias line has \(correction.count) values, the conv producing it has \(channels) output channels")
        }
        var bias = [Float](repeating: 0, count: channels)
        if n.inputs.count > 2, n.inputs[2] >= 0 {
            guard let b = g.tensors[n.inputs[2]].data?.asFloats, b.count == channels else {
                throw EngineError.invalidOp(node: n.name, detail: "bias correction needs a constant bias of \(channels) values")
            }
            bias = b
        }
        for c in 0 ..< channels { bias[c] += correction[c] }
        let t = g.addConstant(name: out.name + "/corrected_bias", shape: [channels], data: .float32(bias))
        if n.inputs.count > 2 { n.inputs[2] = t } else {
            while n.inputs.count < 2 { n.inputs.append(-1) }
            n.inputs.append(t)
        }
    }

    /// The output rule if `node` runs INT8, nil if it stays FP32.
    static func decide(_ node: Node, _ g: Graph, _ source: Graph, entry: (Int) -> TensorQuantization?) -> Int8OutputRule? {
        guard let def = Int8OpRegistry.definition(for: node.op), node.outputs.count == 1 else { return nil }
        let out = node.outputs[0]
        guard g.tensors[out].dtype == .float32, entry(out)?.keepFP32 != true else { return nil }
        let acts = node.inputs.filter { $0 >= 0 && !g.tensors[$0].isConstant }
        guard !acts.isEmpty else { return nil }
        for t in acts {
            switch g.tensors[t].dtype {
            case .uint8: continue
            case .float32: if entry(t) == nil { return nil }
            default: return nil
            }
        }
        let isConv: Bool
        switch node.op {
        case .conv2D, .depthwiseConv2D, .transposeConv2D: isConv = true
        default: isConv = false
        }
        if !isConv && !acts.contains(where: { g.tensors[$0].dtype == .uint8 }) { return nil }
        guard def.supports(ShapeInference.inferContext(node, source)) else { return nil }
        let rule = def.outputRule(node.op)
        switch rule {
        case .calibrated: if entry(out) == nil { return nil }
        case let .sameAsInput(k):
            guard k < node.inputs.count, node.inputs[k] >= 0, g.tensors[node.inputs[k]].dtype == .uint8 else { return nil }
        }
        return rule
    }

    private static func activationParams(_ t: TensorInfo, node: Node) throws -> ActivationQuant {
        guard let q = t.quant, q.scale.count == 1, let zp = q.zeroPoint.first else {
            throw EngineError.invalidOp(node: node.name, detail: "INT8 input \(t.name) has no per-tensor parameters")
        }
        return ActivationQuant(scale: q.scale[0], zeroPoint: Int32(zp))
    }
}
