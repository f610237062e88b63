import VSegCore

/// Conv, ConvTranspose and BatchNormalization: weights are permuted from ONNX's
/// OIHW / IOHW into the IR's OHWI (or [1,KH,KW,C*m] for depthwise) at import.
extension ONNXConverter {
    struct SpatialAttrs {
        var kernel: (Int, Int)
        var stride: (Int, Int)
        var dilation: (Int, Int)
        var pads: (top: Int, left: Int, bottom: Int, right: Int)
        var autoPad: String
    }

    /// Reads kernel_shape/strides/dilations/pads/auto_pad for a 2-D spatial op.
    func spatialAttrs(_ n: ONNXNode, kernel: (Int, Int)?) throws -> SpatialAttrs {
        func pair(_ name: String, _ def: Int) throws -> (Int, Int) {
            guard let v = n.ints(name) else { return (def, def) }
            guard v.count == 2 else { throw invalid("\(name) \(v) must have 2 values (only 2-D is supported)") }
            return (v[0], v[1])
        }
        let k: (Int, Int)
        if let ks = n.ints("kernel_shape") {
            guard ks.count == 2 else { throw invalid("kernel_shape \(ks) must have 2 values (only 2-D is supported)") }
            k = (ks[0], ks[1])
        } else if let kernel = kernel {
            k = kernel
        } else {
            throw invalid("kernel_shape is missing")
        }
        let s = try pair("strides", 1), d = try pair("dilations", 1)
        var pads = (top: 0, left: 0, bottom: 0, right: 0)
        if let p = n.ints("pads") {
            guard p.count == 4 else { throw invalid("pads \(p) must have 4 values") }
            guard p.allSatisfy({ $0 >= 0 && $0 < 1 << 20 }) else { throw invalid("pads \(p) out of range") }
            pads = (p[0], p[1], p[2], p[3])
        }
        for (name, v) in [("kernel_shape", k), ("strides", s), ("dilations", d)] {
            guard v.0 >= 1, v.1 >= 1, v.0 < 1 << 16, v.1 < 1 << 16 else { throw invalid("\(name) (\(v.0), \(v.1)) out of range") }
        }
        return SpatialAttrs(kernel: k, stride: s, dilation: d, pads: pads, autoPad: n.string("auto_pad", "NOTSET"))
    }

    func padding(_ a: SpatialAttrs) throws -> Padding {
        switch a.autoPad {
        case "NOTSET", "": return .explicit(top: a.pads.top, left: a.pads.left, bottom: a.pads.bottom, right: a.pads.right)
        case "SAME_UPPER": return .same
        case "SAME_LOWER": return .sameLower
        case "VALID": return .valid
        default: throw invalid("auto_pad '\(a.autoPad)' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID")
        }
    }

    /// Output extent of a conv/pool along one axis; -1 when the input extent is unknown.
    func convOut(_ size: Int, k: Int, s: Int, d: Int, before: Int, after: Int, auto: String, ceil: Bool = false) throws -> Int {
        guard size >= 0 else { return -1 }
        let eff = (k - 1) * d + 1
        let out: Int
        switch auto {
        case "SAME_UPPER", "SAME_LOWER": out = (size + s - 1) / s
        case "VALID": out = size >= eff ? (size - eff) / s + 1 : 0
        default:
            let span = size + before + after - eff
            guard span >= 0 else { out = 0; break }
            if ceil {
                var o = (span + s - 1) / s + 1
                if (o - 1) * s >= size + before { o -= 1 }
                out = o
            } else {
                out = span / s + 1
            }
        }
        guard out >= 1 else { throw invalid("window \(k)x dilation \(d) does not fit an input extent of \(size)") }
        return out
    }

    func convertConv(_ n: ONNXNode) throws {
        let x = try required(n, 0), w = try required(n, 1)
        guard let wData = constData(w)?.asFloats else { throw invalid("Conv weights must be constant") }
        let ws = shape(w)
        guard ws.count == 4 else { throw invalid("only 2-D Conv is supported (weight shape \(ws))") }
        let (m, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3])
        let xs = logicalShape(x)
        guard xs.count == 4 else { throw invalid("Conv input must be rank 4, got \(xs)") }
        let group = n.int("group", 1)
        guard group >= 1, m >= 1, m % group == 0, cg >= 1 else { throw invalid("group \(group) does not divide \(m) output channels") }
        let cin = cg * group
        guard xs[1] == -1 || xs[1] == cin else { throw invalid("input has \(xs[1]) channels, weights expect \(cin)") }
        let a = try spatialAttrs(n, kernel: (kh, kw))
        guard a.kernel == (kh, kw) else { throw invalid("kernel_shape \(a.kernel) does not match weights \(ws)") }
        var bias = -1
        if let b = try input(n, 2) {
            guard let bd = constData(b)?.asFloats, bd.count == m else { throw invalid("Conv bias must be a constant of \(m) values") }
            bias = try constant(g.tensors[b.tensor].name, [m], .float32(bd))
        }
        let xt = try nhwc(x)
        let attrs = ConvAttrs(kernel: (kh, kw), stride: a.stride, dilation: a.dilation, padding: try padding(a), groups: 1)
        let oh = try convOut(xs[2], k: kh, s: a.stride.0, d: a.dilation.0, before: a.pads.top, after: a.pads.bottom, auto: a.autoPad)
        let ow = try convOut(xs[3], k: kw, s: a.stride.1, d: a.dilation.1, before: a.pads.left, after: a.pads.right, auto: a.autoPad)
        let outShape = [xs[0], oh, ow, m]
        let wname = g.tensors[w.tensor].name
        let op: Op
        let weight: Int
        if group > 1 && cg == 1 {
            // depthwise: [C*m, 1, KH, KW] -> [1, KH, KW, C*m]
            weight = try constant(wname, [1, kh, kw, m], ONNXConstantMath.permute(.float32(wData), shape: ws, perm: [1, 2, 3, 0]))
            var at = attrs; at.groups = group
            op = .depthwiseConv2D(at, multiplier: m / group)
        } else {
            weight = try constant(wname, [m, kh, kw, cg], ONNXConstantMath.permute(.float32(wData), shape: ws, perm: [0, 2, 3, 1]))
            var at = attrs; at.groups = group
            op = .conv2D(at)
        }
        let y = try emit(op, [xt, weight, bias], outShape, .float32, outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: true))
    }

    func convertConvTranspose(_ n: ONNXNode) throws {
        let x = try required(n, 0), w = try required(n, 1)
        guard let wData = constData(w)?.asFloats else { throw invalid("ConvTranspose weights must be constant") }
        let ws = shape(w)
        guard ws.count == 4 else { throw invalid("only 2-D ConvTranspose is supported (weight shape \(ws))") }
        let xs = logicalShape(x)
        guard xs.count == 4 else { throw invalid("ConvTranspose input must be rank 4, got \(xs)") }
        let group = n.int("group", 1)
        let (cin, coutG, kh, kw) = (ws[0], ws[1], ws[2], ws[3])
        guard group >= 1, cin >= 1, coutG >= 1, cin % group == 0 else { throw invalid("group \(group) does not divide \(cin) input channels") }
        guard xs[1] == -1 || xs[1] == cin else { throw invalid("input has \(xs[1]) channels, weights expect \(cin)") }
        let cout = coutG * group, cinG = cin / group
        let a = try spatialAttrs(n, kernel: (kh, kw))
        guard a.kernel == (kh, kw) else { throw invalid("kernel_shape \(a.kernel) does not match weights \(ws)") }
        var outPad = (0, 0)
        if let op = n.ints("output_padding") {
            guard op.count == 2, op.allSatisfy({ $0 >= 0 && $0 < 1 << 16 }) else { throw invalid("output_padding \(op) must be 2 small values") }
            outPad = (op[0], op[1])
        }
        var pads = a.pads
        var size = (-1, -1)
        let full = { (i: Int, k: Int, s: Int, d: Int, op: Int) -> Int in i < 0 ? -1 : s * (i - 1) + op + (k - 1) * d + 1 }
        let fullH = full(xs[2], kh, a.stride.0, a.dilation.0, outPad.0), fullW = full(xs[3], kw, a.stride.1, a.dilation.1, outPad.1)
        if let os = n.ints("output_shape") {
            guard os.count >= 2 else { throw invalid("output_shape \(os) needs H and W") }
            let (th, tw) = (os[os.count - 2], os[os.count - 1])
            guard fullH >= 0, fullW >= 0 else { throw invalid("output_shape needs a known input size") }
            let totalH = fullH - th, totalW = fullW - tw
            guard totalH >= 0, totalW >= 0 else { throw invalid("output_shape \(os) is larger than the full output") }
            if a.autoPad == "SAME_UPPER" {
                pads = (totalH / 2, totalW / 2, totalH - totalH / 2, totalW - totalW / 2)
            } else {
                pads = (totalH - totalH / 2, totalW - totalW / 2, totalH / 2, totalW / 2)
            }
        } else if a.autoPad == "SAME_UPPER" || a.autoPad == "SAME_LOWER" {
            // output = input * stride
            guard fullH >= 0, fullW >= 0 else { throw invalid("auto_pad \(a.autoPad) needs a known input size") }
            let totalH = max(0, fullH - xs[2] * a.stride.0), totalW = max(0, fullW - xs[3] * a.stride.1)
            if a.autoPad == "SAME_UPPER" {
                pads = (totalH / 2, totalW / 2, totalH - totalH / 2, totalW - totalW / 2)
            } else {
                pads = (totalH - totalH / 2, totalW - totalW / 2, totalH / 2, totalW / 2)
            }
        } else if a.autoPad == "VALID" {
            pads = (0, 0, 0, 0)
        }
        if fullH >= 0 { size.0 = fullH - pads.top - pads.bottom }
        if fullW >= 0 { size.1 = fullW - pads.left - pads.right }
        guard size.0 == -1 || size.0 >= 1, size.1 == -1 || size.1 >= 1 else { throw invalid("ConvTranspose output would be empty") }
        var bias = -1
        if let b = try input(n, 2) {
            guard let bd = constData(b)?.asFloats, bd.count == cout else { throw invalid("ConvTranspose bias must be a constant of \(cout) values") }
            bias = try constant(g.tensors[b.tensor].name, [cout], .float32(bd))
        }
        // [Cin, Cout/g, KH, KW] -> OHWI [Cout, KH, KW, Cin/g]
        var out = [Float](repeating: 0, count: cout * kh * kw * cinG)
        for gi in 0..<group {
            for oo in 0..<coutG {
                let o = gi * coutG + oo
                for ci in 0..<cinG {
                    let c = gi * cinG + ci
                    for y in 0..<kh {
                        for xk in 0..<kw {
                            out[((o * kh + y) * kw + xk) * cinG + ci] = wData[((c * coutG + oo) * kh + y) * kw + xk]
                        }
                    }
                }
            }
        }
        let weight = try constant(g.tensors[w.tensor].name, [cout, kh, kw, cinG], .float32(out))
        let attrs = ConvAttrs(kernel: (kh, kw), stride: a.stride, dilation: a.dilation,
                              padding: .explicit(top: pads.top, left: pads.left, bottom: pads.bottom, right: pads.right), groups: group)
        let y = try emit(.transposeConv2D(attrs, outputPadding: (outPad.0, outPad.1)), [try nhwc(x), weight, bias],
                         [xs[0], size.0, size.1, cout], .float32, outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: true))
    }

    /// Folds into the producing conv when possible, else emits y = x * s + (beta - mean * s) per channel.
    func convertBatchNorm(_ n: ONNXNode) throws {
        for i in 1..<n.outputs.count where isUsed(n, i) { throw invalid("BatchNormalization training outputs are not supported") }
        let x = try required(n, 0)
        var params: [[Float]] = []
        for i in 1...4 {
            guard let p = constFloats(try required(n, i)) else { throw invalid("BatchNormalization parameters must be constant") }
            params.append(p)
        }
        let c = params[0].count
        guard c >= 1, params.allSatisfy({ $0.count == c }) else { throw invalid("BatchNormalization parameters differ in length") }
        let xs = logicalShape(x)
        guard xs.count >= 2, xs[1] == -1 || xs[1] == c else { throw invalid("BatchNormalization over \(c) channels, input \(xs)") }
        let eps = n.float("epsilon", 1e-5)
        var scale = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c)
        for i in 0..<c {
            scale[i] = params[0][i] / (params[3][i] + eps).squareRoot()
            shift[i] = params[1][i] - params[2][i] * scale[i]
        }
        if x.nhwc, try foldIntoProducer(x, n, scale: scale, shift: shift) {
            try define(n, 0, x)
            return
        }
        let rank = xs.count
        let cshape = x.nhwc ? [1, 1, 1, c] : [1, c] + [Int](repeating: 1, count: rank - 2)
        let xt = x.nhwc ? x.tensor : try plain(x)
        let base = outName(n)
        let sc = try constant(base + "/scale", cshape, .float32(scale))
        let sh = try constant(base + "/shift", cshape, .float32(shift))
        let mid = try emit(.binary(.mul, activation: .none), [xt, sc], shape(x), .float32, base + "/mul")
        let y = try emit(.binary(.add, activation: .none), [mid, sh], shape(x), .float32, base)
        try define(n, 0, ONNXValue(tensor: y, nhwc: x.nhwc))
    }

    /// BN after a conv whose output nothing else reads: scale the weights per output channel, shift the bias.
    private func foldIntoProducer(_ x: ONNXValue, _ n: ONNXNode, scale: [Float], shift: [Float]) throws -> Bool {
        guard useCount[n.inputs[0], default: 0] == 1, let p = producer[x.tensor] else { return false }
        let node = g.nodes[p]
        let channelsLast: Bool
        switch node.op {
        case .conv2D(let a) where a.activation == .none: channelsLast = false
        case .transposeConv2D(let a, _) where a.activation == .none: channelsLast = false
        case .depthwiseConv2D(let a, _) where a.activation == .none: channelsLast = true
        default: return false
        }
        let wi = node.inputs[1]
        guard case .float32(var w)? = g.tensors[wi].data else { return false }
        let c = scale.count
        let ws = g.tensors[wi].shape
        guard (channelsLast ? ws.last : ws.first) == c else { return false }
        let per = w.count / c
        for i in 0..<w.count {
            w[i] *= scale[channelsLast ? i % c : i / per]
        }
        g.tensors[wi].data = .float32(w)
        var bias = [Float](repeating: 0, count: c)
        if node.inputs.count > 2, node.inputs[2] >= 0, let b = g.tensors[node.inputs[2]].data?.asFloats, b.count == c { bias = b }
        for i in 0..<c { bias[i] = bias[i] * scale[i] + shift[i] }
        let bt = try constant(g.tensors[x.tensor].name + "/bias", [c], .float32(bias))
        var inputs = node.inputs
        while inputs.count < 3 { inputs.append(-1) }
        inputs[2] = bt
        g.nodes[p].inputs = inputs
        return true
    }
}
