import VSegCore

/// Activations, PRelu and broadcasting binary ops. When an operand is an
/// NHWC-held activation the op runs in NHWC and constant operands are
/// broadcast-aligned to rank 4 and permuted ([1,C,1,1] → [1,1,1,C], [C,1,1] → [1,1,1,C]).
extension ONNXConverter {
    func convertActivation(_ n: ONNXNode) throws {
        let x = try required(n, 0)
        let act: Activation
        switch n.opType {
        case "Relu": act = .relu
        case "Sigmoid": act = .sigmoid
        case "Tanh": act = .tanh
        case "HardSwish": act = .hardSwish
        case "HardSigmoid": act = .hardSigmoid(alpha: n.float("alpha", 0.2), beta: n.float("beta", 0.5))
        case "LeakyRelu": act = .leakyRelu(alpha: n.float("alpha", 0.01))
        case "Clip":
            var lo = -Float.infinity, hi = Float.infinity
            if opset < 11 {
                lo = n.float("min", lo); hi = n.float("max", hi)
            } else {
                if let v = try input(n, 1) {
                    guard let f = constFloats(v), f.count == 1 else { throw invalid("Clip min must be a constant scalar") }
                    lo = f[0]
                }
                if let v = try input(n, 2) {
                    guard let f = constFloats(v), f.count == 1 else { throw invalid("Clip max must be a constant scalar") }
                    hi = f[0]
                }
            }
            act = lo == 0 && hi == 6 ? .relu6 : lo == 0 && hi == .infinity ? .relu : .clip(min: lo, max: hi)
        default:
            throw EngineError.unsupportedOp(path: path, op: n.opType, index: nodeIndex)
        }
        let y = try emit(.unary(act), [x.tensor], shape(x), dtype(x), outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: x.nhwc))
    }

    /// A constant operand broadcast against a rank-4 NCHW shape, as a rank-4 NHWC constant.
    func nhwcBroadcastConstant(_ v: ONNXValue, _ data: TensorData) throws -> Int {
        let s = shape(v)
        guard s.count <= 4 else { throw invalid("operand of rank \(s.count) cannot broadcast to rank 4") }
        let padded = [Int](repeating: 1, count: 4 - s.count) + s
        let name = g.tensors[v.tensor].name + "/nhwc"
        return try constant(name, ONNXLayout.toNHWC.map { padded[$0] }, ONNXConstantMath.permute(data, shape: padded, perm: ONNXLayout.toNHWC))
    }

    func convertPRelu(_ n: ONNXNode) throws {
        let x = try required(n, 0), slope = try required(n, 1)
        if x.nhwc, let d = constData(slope) {
            let st = try nhwcBroadcastConstant(slope, .float32(d.asFloats))
            let y = try emit(.prelu, [x.tensor, st], shape(x), .float32, outName(n))
            try define(n, 0, ONNXValue(tensor: y, nhwc: true))
            return
        }
        let xt = try plain(x), st = try plain(slope)
        let y = try emit(.prelu, [xt, st], logicalShape(x), .float32, outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: false))
    }

    func convertBinary(_ n: ONNXNode) throws {
        let kinds: [String: BinaryKind] = ["Add": .add, "Sub": .sub, "Mul": .mul, "Div": .div, "Max": .max, "Min": .min]
        guard let kind = kinds[n.opType] else { throw EngineError.unsupportedOp(path: path, op: n.opType, index: nodeIndex) }
        guard n.inputs.count == 2 else { throw invalid("\(n.opType) with \(n.inputs.count) inputs is not supported (2 expected)") }
        let a = try required(n, 0), b = try required(n, 1)
        guard let outLogical = ONNXConstantMath.broadcast(logicalShape(a), logicalShape(b)) else {
            throw invalid("shapes \(logicalShape(a)) and \(logicalShape(b)) do not broadcast")
        }
        let op = Op.binary(kind, activation: .none)
        let ty = dtype(a) == .float16 ? .float32 : dtype(a)
        if (a.nhwc || b.nhwc) && outLogical.count == 4 {
            var ins: [Int] = []
            var ok = true
            for v in [a, b] {
                if v.nhwc { ins.append(v.tensor) } else if let d = constData(v) { ins.append(try nhwcBroadcastConstant(v, d)) } else if shape(v).count == 4 { ins.append(try nhwc(v)) } else { ok = false }
            }
            if ok {
                let y = try emit(op, ins, ONNXLayout.toNHWC.map { outLogical[$0] }, ty, outName(n))
                try define(n, 0, ONNXValue(tensor: y, nhwc: true))
                return
            }
        }
        let y = try emit(op, [try plain(a), try plain(b)], outLogical, ty, outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: false))
    }
}
