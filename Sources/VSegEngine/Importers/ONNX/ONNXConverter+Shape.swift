import VSegCore

/// Shape-subgraph ops: Shape, Gather, Slice, Cast, Constant, ConstantOfShape, and the
/// constant folding of everything in `foldable` (PyTorch's Shape→Gather→Concat chains).
/// With non-constant operands they run on the value in the file's order (NHWC-held
/// values are transposed back first; Slice with constant axes has its axes remapped instead).
extension ONNXConverter {
    private static let foldable: Set<String> = [
        "Cast", "Gather", "Slice", "Concat", "Unsqueeze", "Squeeze", "Reshape", "Flatten", "Transpose",
        "Add", "Sub", "Mul", "Div", "Max", "Min", "Floor", "Ceil", "Identity",
    ]

    /// Evaluates `n` when every input is a constant. Returns false to convert it as an op instead.
    func foldConstant(_ n: ONNXNode) throws -> Bool {
        guard Self.foldable.contains(n.opType), !n.inputs.isEmpty else { return false }
        var ins: [(shape: [Int], data: TensorData)?] = []
        for i in 0..<n.inputs.count {
            guard let v = try input(n, i) else { ins.append(nil); continue }
            guard let d = constData(v) else { return false }
            ins.append((shape(v), d))
        }
        guard let (xs, xd) = ins[0] else { return false }
        func intsInput(_ i: Int) -> [Int]? { i < ins.count ? ins[i]?.data.asInts : nil }
        var result: (shape: [Int], data: TensorData)
        switch n.opType {
        case "Identity":
            result = (xs, xd)
        case "Cast":
            guard let to = ONNXTensorDecoder.dtype(Int32(clamping: n.int("to", 1))) else { throw invalid("Cast to unsupported type \(n.int("to", 1))") }
            result = (xs, ONNXConstantMath.cast(xd, to: to))
        case "Floor", "Ceil":
            guard xd.asInts == nil else { result = (xs, xd); break }
            result = (xs, .float32(xd.asFloats.map { n.opType == "Floor" ? $0.rounded(.down) : $0.rounded(.up) }))
        case "Add", "Sub", "Mul", "Div", "Max", "Min":
            guard ins.count == 2, let (bs, bd) = ins[1] else { return false }
            guard let out = ONNXConstantMath.broadcast(xs, bs), let count = ShapeMath.elementCount(out),
                  count <= ONNXConstantMath.foldLimit else { return false }
            let kinds: [String: BinaryKind] = ["Add": .add, "Sub": .sub, "Mul": .mul, "Div": .div, "Max": .max, "Min": .min]
            do {
                result = (out, try ONNXConstantMath.binary(kinds[n.opType]!, xd, xs, bd, bs, outShape: out))
            } catch {
                throw invalid("\(n.opType) on constants: integer division by zero or unsupported types")
            }
        case "Gather":
            guard let idx = intsInput(1), let idxShape = ins[1]?.shape else { return false }
            let ax = try axis(n.int("axis", 0), rank: xs.count)
            let dim = xs[ax]
            let outer = xs[..<ax].reduce(1, *), inner = xs[(ax + 1)...].reduce(1, *)
            let outShape = Array(xs[..<ax]) + idxShape + Array(xs[(ax + 1)...])
            guard let count = ShapeMath.elementCount(outShape), count <= ONNXConstantMath.foldLimit else { return false }
            var flat: [Int] = []
            flat.reserveCapacity(count)
            for o in 0..<outer {
                for k in idx {
                    let kk = k < 0 ? k + dim : k
                    guard kk >= 0, kk < dim else { throw invalid("Gather index \(k) out of range for dim \(dim)") }
                    for i in 0..<inner { flat.append((o * dim + kk) * inner + i) }
                }
            }
            result = (outShape, ONNXConstantMath.select(xd, flat))
        case "Slice":
            let (outShape, flat) = try sliceIndices(n, shape: xs, starts: intsInput(1), ends: intsInput(2),
                                                    axes: intsInput(3), steps: intsInput(4))
            guard let flat = flat else { return false }
            result = (outShape, ONNXConstantMath.select(xd, flat))
        case "Concat":
            let parts = ins.compactMap { $0 }
            let ax = try axis(n.int("axis", 0), rank: xs.count)
            var outShape = xs
            outShape[ax] = 0
            for p in parts {
                guard p.shape.count == xs.count else { throw invalid("Concat inputs differ in rank") }
                for d in 0..<xs.count where d != ax && p.shape[d] != xs[d] { throw invalid("Concat inputs differ in dim \(d)") }
                outShape[ax] += p.shape[ax]
            }
            guard let count = ShapeMath.elementCount(outShape), count <= ONNXConstantMath.foldLimit else { return false }
            let inner = xs[(ax + 1)...].reduce(1, *), outer = xs[..<ax].reduce(1, *)
            var pieces: [TensorData] = []
            for o in 0..<outer {
                for p in parts {
                    let block = p.shape[ax] * inner
                    pieces.append(ONNXConstantMath.select(p.data, Array((o * block)..<((o + 1) * block))))
                }
            }
            guard let data = ONNXConstantMath.append(pieces) else { return false }
            result = (outShape, data)
        case "Unsqueeze", "Squeeze":
            let axes = opset >= 13 ? intsInput(1) : n.ints("axes")
            result = (try squeezeShape(n.opType == "Squeeze", xs, axes: axes), xd)
        case "Reshape":
            guard let spec = intsInput(1) else { return false }
            let out = try reshapeShape(xs, spec, allowZero: n.int("allowzero", 0) != 0)
            result = (out, xd)
        case "Flatten":
            result = (try flattenShape(xs, n.int("axis", 1)), xd)
        case "Transpose":
            let perm = try transposePerm(n, rank: xs.count)
            result = (perm.map { xs[$0] }, ONNXConstantMath.permute(xd, shape: xs, perm: perm))
        default:
            return false
        }
        let t = try constant(outName(n), result.shape, result.data)
        try define(n, 0, ONNXValue(tensor: t, nhwc: false))
        return true
    }

    func convertShape(_ n: ONNXNode) throws {
        let x = try required(n, 0)
        let ls = logicalShape(x)
        let rank = ls.count
        func clampAxis(_ a: Int) -> Int { min(max(a < 0 ? a + rank : a, 0), rank) }
        let start = clampAxis(n.int("start", 0)), end = max(start, clampAxis(n.int("end", rank)))
        let dims = Array(ls[start..<end])
        if dims.allSatisfy({ $0 >= 0 }) {
            try define(n, 0, ONNXValue(tensor: try constant(outName(n), [dims.count], .int64(dims.map(Int64.init))), nhwc: false))
            return
        }
        let base = outName(n)
        let full = try emit(.shape, [x.tensor], [rank], .int64, base + "/internal")
        let order = x.nhwc ? ONNXLayout.toNCHW : Array(0..<rank)
        let idx = try constant(base + "/order", [end - start], .int64(order[start..<end].map(Int64.init)))
        let y = try emit(.gather(axis: 0), [full, idx], [end - start], .int64, base)
        try define(n, 0, ONNXValue(tensor: y, nhwc: false))
    }

    func convertGather(_ n: ONNXNode) throws {
        let x = try required(n, 0), i = try required(n, 1)
        let xs = logicalShape(x)
        let ax = try axis(n.int("axis", 0), rank: xs.count)
        let out = Array(xs[..<ax]) + shape(i) + Array(xs[(ax + 1)...])
        let y = try emit(.gather(axis: ax), [try plain(x), try plain(i)], out, dtype(x), outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: false))
    }

    /// Output shape of a Slice and, when every dim is known, the flat source indices.
    func sliceIndices(_ n: ONNXNode, shape xs: [Int], starts: [Int]?, ends: [Int]?, axes: [Int]?, steps: [Int]?) throws -> ([Int], [Int]?) {
        var st = starts, en = ends, ax = axes, sp = steps
        if opset < 10 { st = n.ints("starts"); en = n.ints("ends"); ax = n.ints("axes"); sp = nil }
        guard let s = st, let e = en, s.count == e.count else { throw invalid("Slice needs constant starts and ends of equal length") }
        let a = try (ax ?? Array(0..<s.count)).map { try axis($0, rank: xs.count) }
        let p = sp ?? [Int](repeating: 1, count: s.count)
        guard a.count == s.count, p.count == s.count, Set(a).count == a.count else { throw invalid("Slice starts/ends/axes/steps disagree") }
        guard p.allSatisfy({ $0 != 0 }) else { throw invalid("Slice step 0") }
        var first = [Int](repeating: 0, count: xs.count), step = [Int](repeating: 1, count: xs.count)
        var out = xs
        for (k, d) in a.enumerated() {
            guard xs[d] >= 0 else { out[d] = -1; continue }
            let (f, stp, c) = ONNXConstantMath.sliceRange(dim: xs[d], start: s[k], end: e[k], step: p[k])
            first[d] = f; step[d] = stp; out[d] = c
        }
        guard out.allSatisfy({ $0 >= 0 }), xs.allSatisfy({ $0 >= 0 }), let count = ShapeMath.elementCount(out),
              count <= ONNXConstantMath.foldLimit else { return (out, nil) }
        let strides = ONNXConstantMath.strides(xs)
        var flat: [Int] = []
        flat.reserveCapacity(count)
        var idx = [Int](repeating: 0, count: xs.count)
        for _ in 0..<count {
            var src = 0
            for d in 0..<xs.count { src += (first[d] + idx[d] * step[d]) * strides[d] }
            flat.append(src)
            var d = xs.count - 1
            while d >= 0 { idx[d] += 1; if idx[d] < out[d] { break }; idx[d] = 0; d -= 1 }
        }
        return (out, flat)
    }

    func convertSlice(_ n: ONNXNode) throws {
        let x = try required(n, 0)
        let xs = logicalShape(x)
        var params: [[Int]?] = []
        var allConst = true
        for i in 1...4 {
            if let v = try input(n, i) {
                if let c = constInts(v) { params.append(c) } else { params.append(nil); allConst = false }
            } else {
                params.append(nil)
            }
        }
        if opset < 10 || allConst {
            let (out, _) = try sliceIndices(n, shape: xs, starts: params[0], ends: params[1], axes: params[2], steps: params[3])
            var s = params[0] ?? [], e = params[1] ?? []
            var a = params[2] ?? Array(0..<s.count)
            if opset < 10 { s = n.ints("starts") ?? []; e = n.ints("ends") ?? []; a = n.ints("axes") ?? Array(0..<s.count) }
            let p = params[3] ?? [Int](repeating: 1, count: s.count)
            a = try a.map { try axis($0, rank: xs.count) }
            let held = x.nhwc && xs.count == 4
            if held { a = a.map { ONNXLayout.axisToNHWC[$0] } }
            let base = outName(n)
            let ins = [held ? x.tensor : try plain(x),
                       try constant(base + "/starts", [s.count], .int64(s.map(Int64.init))),
                       try constant(base + "/ends", [e.count], .int64(e.map(Int64.init))),
                       try constant(base + "/axes", [a.count], .int64(a.map(Int64.init))),
                       try constant(base + "/steps", [p.count], .int64(p.map(Int64.init)))]
            let y = try emit(.slice, ins, held ? ONNXLayout.toNHWC.map { out[$0] } : out, dtype(x), base)
            try define(n, 0, ONNXValue(tensor: y, nhwc: held))
            return
        }
        var ins = [try plain(x)]
        for i in 1..<n.inputs.count { ins.append(try input(n, i).map { try plain($0) } ?? -1) }
        let y = try emit(.slice, ins, xs.map { _ in -1 }, dtype(x), outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: false))
    }

    func convertCast(_ n: ONNXNode) throws {
        let x = try required(n, 0)
        guard let to = ONNXTensorDecoder.dtype(Int32(clamping: n.int("to", 1))) else { throw invalid("Cast to unsupported type \(n.int("to", 1))") }
        let y = try emit(.cast(to: to), [x.tensor], shape(x), to, outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: x.nhwc))
    }

    func convertConstant(_ n: ONNXNode) throws {
        let shape: [Int], data: TensorData
        if let t = n.attributes["value"]?.t {
            (shape, data) = try decoder.decode(t)
        } else if let f = n.attributes["value_float"]?.f {
            (shape, data) = ([], .float32([f]))
        } else if let a = n.attributes["value_floats"] {
            (shape, data) = ([a.floats.count], .float32(a.floats))
        } else if let i = n.attributes["value_int"]?.i {
            (shape, data) = ([], .int64([i]))
        } else if let a = n.attributes["value_ints"] {
            (shape, data) = ([a.ints.count], .int64(a.ints))
        } else {
            throw invalid("Constant without a supported value attribute (value, value_float(s), value_int(s))")
        }
        try define(n, 0, ONNXValue(tensor: try constant(outName(n), shape, data), nhwc: false))
    }

    func convertConstantOfShape(_ n: ONNXNode) throws {
        let s = try required(n, 0)
        var value: TensorData = .float32([0])
        if let t = n.attributes["value"]?.t {
            let (_, d) = try decoder.decode(t)
            guard d.count == 1 else { throw invalid("ConstantOfShape value must hold one element") }
            value = d
        }
        if let dims = constInts(s) {
            guard let count = ShapeMath.elementCount(dims) else {
                throw EngineError.invalidShape(tensor: outName(n), detail: "ConstantOfShape dims \(dims) are negative or too large")
            }
            if count <= ONNXConstantMath.foldLimit {
                let data = ONNXConstantMath.select(value, [Int](repeating: 0, count: count))
                try define(n, 0, ONNXValue(tensor: try constant(outName(n), dims, data), nhwc: false))
                return
            }
            let y = try emit(.constantOfShape(value: value), [s.tensor], dims, value.dtype, outName(n))
            try define(n, 0, ONNXValue(tensor: y, nhwc: false))
            return
        }
        let rank = shape(s).first ?? -1
        guard rank >= 0 else { throw invalid("ConstantOfShape needs a shape of known length") }
        let y = try emit(.constantOfShape(value: value), [try plain(s)], [Int](repeating: -1, count: rank), value.dtype, outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: false))
    }
}
