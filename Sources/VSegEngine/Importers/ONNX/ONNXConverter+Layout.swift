import VSegCore

/// Ops that read memory order: Reshape, Flatten, Transpose, Squeeze, Unsqueeze.
/// They run on the value in the file's order; an NHWC-held input is transposed back
/// to NCHW first, except that a Transpose is composed with that permutation.
extension ONNXConverter {
    func reshapeShape(_ xs: [Int], _ spec: [Int], allowZero: Bool) throws -> [Int] {
        var out = spec
        var infer = -1
        for (i, s) in spec.enumerated() {
            if s == 0 && !allowZero {
                guard i < xs.count else { throw invalid("Reshape copies dim \(i) of a rank-\(xs.count) input") }
                out[i] = xs[i]
            } else if s == -1 {
                guard infer < 0 else { throw invalid("Reshape target \(spec) has two -1") }
                infer = i
            } else if s < -1 {
                throw invalid("Reshape target \(spec) has a negative dim")
            }
        }
        let total = xs.contains(-1) ? -1 : ShapeMath.elementCount(xs) ?? -1
        if infer >= 0 {
            let rest = out.enumerated().filter { $0.offset != infer }.map(\.element)
            if total < 0 || rest.contains(-1) {
                out[infer] = -1
            } else {
                guard let known = ShapeMath.elementCount(rest), known > 0, total % known == 0 else {
                    throw invalid("Reshape from \(xs) to \(spec) does not divide")
                }
                out[infer] = total / known
            }
        }
        if total >= 0, !out.contains(-1) {
            guard ShapeMath.elementCount(out) == total else { throw invalid("Reshape from \(xs) to \(spec) changes the element count") }
        }
        return out
    }

    func convertReshape(_ n: ONNXNode) throws {
        let x = try required(n, 0), s = try required(n, 1)
        let xs = logicalShape(x)
        if let spec = constInts(s) {
            let out = try reshapeShape(xs, spec, allowZero: n.int("allowzero", 0) != 0)
            let newShape = out.contains(-1) ? spec : out
            let y = try emit(.reshape(newShape: newShape), [try plain(x)], out, dtype(x), outName(n))
            try define(n, 0, ONNXValue(tensor: y, nhwc: false))
            return
        }
        let rank = shape(s).first ?? -1
        guard rank >= 0 else { throw invalid("Reshape target of unknown length") }
        let y = try emit(.reshape(newShape: nil), [try plain(x), try plain(s)], [Int](repeating: -1, count: rank), dtype(x), outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: false))
    }

    func flattenShape(_ xs: [Int], _ axisAttr: Int) throws -> [Int] {
        let ax = axisAttr < 0 ? axisAttr + xs.count : axisAttr
        guard ax >= 0, ax <= xs.count else { throw invalid("Flatten axis \(axisAttr) out of range for rank \(xs.count)") }
        let a = xs[..<ax], b = xs[ax...]
        return [a.contains(-1) ? -1 : a.reduce(1, *), b.contains(-1) ? -1 : b.reduce(1, *)]
    }

    func convertFlatten(_ n: ONNXNode) throws {
        let x = try required(n, 0)
        let out = try flattenShape(logicalShape(x), n.int("axis", 1))
        guard !(out[0] == -1 && out[1] == -1) else { throw invalid("Flatten needs the dims on one side of the axis to be known") }
        let y = try emit(.reshape(newShape: out), [try plain(x)], out, dtype(x), outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: false))
    }

    func transposePerm(_ n: ONNXNode, rank: Int) throws -> [Int] {
        let perm = n.ints("perm") ?? Array((0..<rank).reversed())
        guard perm.count == rank, Set(perm) == Set(0..<rank) else { throw invalid("Transpose perm \(perm) is not a permutation of \(rank) axes") }
        return perm
    }

    func convertTranspose(_ n: ONNXNode) throws {
        let x = try required(n, 0)
        let xs = logicalShape(x)
        let perm = try transposePerm(n, rank: xs.count)
        let out = perm.map { xs[$0] }
        // On an NHWC-held value, compose with the NHWC→NCHW permutation into one transpose.
        let effective = x.nhwc ? perm.map { ONNXLayout.toNCHW[$0] } : perm
        if effective == Array(0..<xs.count) {
            try define(n, 0, ONNXValue(tensor: x.tensor, nhwc: false))
            return
        }
        let y = try emit(.transpose(perm: effective), [x.tensor], out, dtype(x), outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: false))
    }

    func squeezeShape(_ squeeze: Bool, _ xs: [Int], axes: [Int]?) throws -> [Int] {
        if squeeze {
            guard let axes = axes, !axes.isEmpty else { return xs.filter { $0 != 1 } }
            let a = Set(try axes.map { try axis($0, rank: xs.count) })
            for d in a where xs[d] != 1 && xs[d] != -1 { throw invalid("Squeeze axis \(d) has size \(xs[d])") }
            return xs.enumerated().filter { !a.contains($0.offset) }.map(\.element)
        }
        guard let axes = axes, !axes.isEmpty else { throw invalid("Unsqueeze needs axes") }
        let rank = xs.count + axes.count
        let a = Set(try axes.map { try axis($0, rank: rank) })
        guard a.count == axes.count else { throw invalid("Unsqueeze axes \(axes) repeat") }
        var out: [Int] = []
        var src = xs.makeIterator()
        for d in 0..<rank { out.append(a.contains(d) ? 1 : src.next() ?? 1) }
        return out
    }

    func convertSqueeze(_ n: ONNXNode) throws {
        let x = try required(n, 0)
        let isSqueeze = n.opType == "Squeeze"
        var axes = n.ints("axes")
        if opset >= 13, let v = try input(n, 1) {
            guard let a = constInts(v) else { throw invalid("\(n.opType) axes must be constant") }
            axes = a
        }
        let xs = logicalShape(x)
        let out = try squeezeShape(isSqueeze, xs, axes: axes)
        let rank = isSqueeze ? xs.count : out.count
        let norm = try (axes ?? []).map { try axis($0, rank: rank) }.sorted()
        let op: Op = isSqueeze ? .squeeze(axes: norm) : .unsqueeze(axes: norm)
        let y = try emit(op, [try plain(x)], out, dtype(x), outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: false))
    }
}
