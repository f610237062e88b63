/// Slice (ONNX semantics): constant starts, ends, axes?, steps?; negative
/// values count from the end and are clamped; steps may be negative. Any
/// element type. Fast path: per output row, memcpy when the last axis has step
/// 1, else a strided copy. Twin: per output element.
enum SliceOp: OpDefinition {
    struct Plan { var start: [Int]; var step: [Int]; var out: [Int] }

    static func plan(_ c: InferContext) throws -> Plan {
        let x = try c.input(0)
        let r = x.shape.count
        guard let starts = c.constantInts(1), let ends = c.constantInts(2) else { throw c.fail("Slice starts/ends must be constant") }
        let axes = c.has(3) ? (c.constantInts(3) ?? []) : Array(0 ..< starts.count)
        let steps = c.has(4) ? (c.constantInts(4) ?? []) : [Int](repeating: 1, count: starts.count)
        guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count else {
            throw c.fail("Slice starts/ends/axes/steps lengths differ")
        }
        var p = Plan(start: [Int](repeating: 0, count: r), step: [Int](repeating: 1, count: r), out: x.shape)
        for k in 0 ..< starts.count {
            let a = try normalizeAxis(axes[k], rank: r, node: c.node.name)
            let d = x.shape[a], st = steps[k]
            guard st != 0 else { throw c.fail("Slice step 0") }
            var s = starts[k], e = ends[k]
            if s < 0 { s += d }
            if e < 0 { e += d }
            if st > 0 {
                s = min(max(s, 0), d); e = min(max(e, 0), d)
                p.out[a] = e > s ? (e - s + st - 1) / st : 0
            } else {
                s = min(max(s, -1), d - 1); e = min(max(e, -1), d - 1)
                p.out[a] = s > e ? (s - e + (-st) - 1) / (-st) : 0
            }
            p.start[a] = s; p.step[a] = st
        }
        return p
    }

    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        let x = try c.input(0)
        return [TensorMeta(shape: try plan(c).out, dtype: x.dtype)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        let x = try c.input(0)
        return Prepared(inShape: x.shape, plan: try plan(c.infer), es: x.dtype.byteSize, x: c.inPtr[0]!, y: c.outPtr[0],
                        reference: c.reference)
    }

    final class Prepared: PreparedOp {
        let ins: [Int], p: Plan, es: Int, reference: Bool, count: Int
        let x: UnsafeMutableRawPointer, y: UnsafeMutableRawPointer
        init(inShape: [Int], plan: Plan, es: Int, x: UnsafeMutableRawPointer, y: UnsafeMutableRawPointer, reference: Bool) {
            ins = stridesOf(inShape); p = plan; self.es = es; self.x = x; self.y = y; self.reference = reference
            count = plan.out.reduce(1, *)
        }

        func run(_ pool: ThreadPool) {
            let rank = p.out.count
            if count == 0 { return }
            if rank == 0 { y.copyMemory(from: x, byteCount: es); return }
            if reference {
                let os = stridesOf(p.out)
                for o in 0 ..< count {
                    var rem = o, src = 0
                    for a in 0 ..< rank { let q = rem / os[a]; rem -= q * os[a]; src += (p.start[a] + q * p.step[a]) * ins[a] }
                    (y + o * es).copyMemory(from: x + src * es, byteCount: es)
                }
                return
            }
            let inner = p.out[rank - 1], rows = count / inner, st = p.step[rank - 1] * ins[rank - 1]
            for row in 0 ..< rows {
                var rem = row, src = p.start[rank - 1] * ins[rank - 1]
                var a = rank - 2
                while a >= 0 { src += (p.start[a] + (rem % p.out[a]) * p.step[a]) * ins[a]; rem /= p.out[a]; a -= 1 }
                let dst = y + row * inner * es
                if st == 1 {
                    dst.copyMemory(from: x + src * es, byteCount: inner * es)
                } else {
                    for i in 0 ..< inner { (dst + i * es).copyMemory(from: x + (src + i * st) * es, byteCount: es) }
                }
            }
        }
    }
}
