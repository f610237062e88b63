/// Numpy broadcasting helpers shared by binary-style ops.
enum Broadcast {
    /// Output shape of broadcasting `a` with `b`, or nil if incompatible.
    static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0 ..< r {
            let da = i - (r - a.count) >= 0 ? a[i - (r - a.count)] : 1
            let db = i - (r - b.count) >= 0 ? b[i - (r - b.count)] : 1
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Input shape left-padded with 1s to `rank`.
    static func padded(_ s: [Int], rank: Int) -> [Int] { [Int](repeating: 1, count: rank - s.count) + s }

    /// Element strides of `input` when read at output coordinates of `out` (0 on broadcast axes).
    static func strides(_ input: [Int], out: [Int]) -> [Int] {
        let p = padded(input, rank: out.count)
        let s = stridesOf(p)
        return (0 ..< out.count).map { p[$0] == 1 && out[$0] != 1 ? 0 : s[$0] }
    }

    /// Collapses adjacent axes with the same broadcast pattern for two inputs.
    /// Returns dims and per-input strides (in elements), innermost last.
    static func collapse(out: [Int], a: [Int], b: [Int]) -> (dims: [Int], sa: [Int], sb: [Int]) {
        let pa = padded(a, rank: out.count), pb = padded(b, rank: out.count)
        var dims: [Int] = [], fa: [Bool] = [], fb: [Bool] = []
        for i in 0 ..< out.count where out[i] != 1 {
            let ia = pa[i] != 1, ib = pb[i] != 1
            if let last = dims.last, fa.last == ia, fb.last == ib {
                dims[dims.count - 1] = last * out[i]
            } else {
                dims.append(out[i]); fa.append(ia); fb.append(ib)
            }
        }
        if dims.isEmpty { return ([1], [1], [1]) }
        var sa = [Int](repeating: 0, count: dims.count), sb = sa
        var acca = 1, accb = 1
        for i in stride(from: dims.count - 1, through: 0, by: -1) {
            if fa[i] { sa[i] = acca; acca *= dims[i] }
            if fb[i] { sb[i] = accb; accb *= dims[i] }
        }
        return (dims, sa, sb)
    }
}
