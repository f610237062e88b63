/// Folds a per-channel affine right after a convolution into its weights and
/// bias: conv -> Mul(const) and conv -> Add/Sub(const), where the constant is a
/// scalar or has one value per output channel on the last axis (what ONNX
/// BatchNormalization and TFLite's unfused BN become). New constant tensors are
/// added, so shared weights are never modified. Applies repeatedly, so
/// conv -> Mul -> Add folds completely.
enum BatchNormFolding {
    @discardableResult
    static func run(_ g: inout Graph) -> Int {
        var folded = 0
        while foldOne(&g) { folded += 1 }
        return folded
    }

    private static func foldOne(_ g: inout Graph) -> Bool {
        let uses = GraphUses(g)
        for i in 0 ..< g.nodes.count {
            let n = g.nodes[i]
            let outC: Int
            switch n.op {
            case let .conv2D(a) where a.activation.isIdentity: outC = g.tensors[n.outputs[0]].shape.last ?? -1
            case let .depthwiseConv2D(a, _) where a.activation.isIdentity: outC = g.tensors[n.outputs[0]].shape.last ?? -1
            case let .transposeConv2D(a, _) where a.activation.isIdentity: outC = g.tensors[n.outputs[0]].shape.last ?? -1
            default: continue
            }
            guard n.inputs.count >= 2, let w = g.tensors[n.inputs[1]].data, g.tensors[n.inputs[1]].shape.count == 4,
                  let ci = uses.soleConsumer(n.outputs[0]) else { continue }
            let m = g.nodes[ci]
            guard case let .binary(kind, act) = m.op, kind == .mul || kind == .add || kind == .sub, m.inputs.count == 2 else { continue }
            let other = m.inputs[0] == n.outputs[0] ? m.inputs[1] : m.inputs[0]
            guard other != n.outputs[0], let cdata = g.tensors[other].data, cdata.dtype == .float32 || cdata.dtype == .float16 else { continue }
            // Sub only folds when the conv is the minuend.
            if kind == .sub && m.inputs[0] != n.outputs[0] { continue }
            let cshape = g.tensors[other].shape
            guard cdata.count == 1 || (cdata.count == outC && cshape.last == outC && cshape.dropLast().allSatisfy { $0 == 1 }) else { continue }
            // The result must keep the conv's output shape (no broadcasting up).
            guard g.tensors[m.outputs[0]].shape == g.tensors[n.outputs[0]].shape else { continue }
            let cv = cdata.asFloats
            let c = { (o: Int) -> Float in cv.count == 1 ? cv[0] : cv[o] }
            var bias = n.inputs.count > 2 && n.inputs[2] >= 0 ? (g.tensors[n.inputs[2]].data?.asFloats ?? []) : [Float](repeating: 0, count: outC)
            guard bias.count == outC else { continue }
            var weights = w.asFloats
            var newInputs = n.inputs
            if kind == .mul {
                let wshape = g.tensors[n.inputs[1]].shape
                if case .depthwiseConv2D = n.op {
                    for k in 0 ..< weights.count { weights[k] *= c(k % outC) }
                } else {
                    let per = wshape[1] * wshape[2] * wshape[3]
                    for k in 0 ..< weights.count { weights[k] *= c(k / per) }
                }
                for o in 0 ..< outC { bias[o] *= c(o) }
                newInputs[1] = g.addConstant(name: g.tensors[n.inputs[1]].name + "_bnfold", shape: wshape, data: .float32(weights))
            } else {
                for o in 0 ..< outC { bias[o] += kind == .add ? c(o) : -c(o) }
            }
            let b = g.addConstant(name: n.name + "_bias_bnfold", shape: [outC], data: .float32(bias))
            if newInputs.count > 2 { newInputs[2] = b } else { newInputs.append(b) }
            g.nodes[i].inputs = newInputs
            g.nodes[i].outputs = m.outputs
            if !act.isIdentity, let op = ActivationFusion.withActivation(g.nodes[i].op, act) { g.nodes[i].op = op }
            g.nodes.remove(at: ci)
            return true
        }
        return false
    }
}
