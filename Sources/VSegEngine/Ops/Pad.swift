/// Pad with constant, reflect or edge mode. Pads are a constant int tensor
/// [rank, 2] of (before, after) per axis; negative amounts crop. Any element
/// type. Fast path (constant mode): the output is filled row by row, interior
/// spans copied with memcpy, rows split across threads. Twin: per output
/// element, map each coordinate back to the input.
enum PadOp: OpDefinition {
    /// Input index read by output index `o` along an axis of `d` elements with
    /// `before` padded elements in front; -1 for a constant-padded position.
    /// Shared by the FP32 and the INT8 Pad.
    @inline(__always)
    static func sourceIndex(_ o: Int, _ d: Int, _ before: Int, _ mode: PadMode) -> Int {
        var i = o - before
        if i >= 0 && i < d { return i }
        switch mode {
        case .constant: return -1
        case .edge: return i < 0 ? 0 : d - 1
        case .reflect:
            if d == 1 { return 0 }
            let period = 2 * (d - 1)
            i = ((i % period) + period) % period
            return i < d ? i : period - i
        }
    }

    static func amounts(_ c: InferContext) throws -> [(Int, Int)] {
        let x = try c.input(0)
        guard let p = c.constantInts(1) else { throw c.fail("Pad amounts must be constant") }
        guard p.count == 2 * x.shape.count else { throw c.fail("Pad has \(p.count) amounts for rank \(x.shape.count)") }
        return (0 ..< x.shape.count).map { (p[2 * $0], p[2 * $0 + 1]) }
    }

    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        guard case let .pad(mode) = c.node.op else { preconditionFailure() }
        let x = try c.input(0)
        let p = try amounts(c)
        var out: [Int] = []
        for (i, d) in x.shape.enumerated() {
            let o = d + p[i].0 + p[i].1
            guard o >= 0 else { throw c.fail("Pad crops axis \(i) below zero") }
            if mode == .reflect && (p[i].0 >= d || p[i].1 >= d) && (p[i].0 > 0 || p[i].1 > 0) {
                throw c.fail("reflect Pad of \(max(p[i].0, p[i].1)) needs axis \(i) larger than \(d)")
            }
            if mode != .constant && d == 0 && o > 0 { throw c.fail("\(mode) Pad of an empty axis") }
            out.append(o)
        }
        return [TensorMeta(shape: out, dtype: x.dtype)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .pad(mode) = c.node.op else { preconditionFailure() }
        let x = try c.input(0)
        var value: Double = 0
        if c.has(2) {
            guard let v = c.constant(2) else { throw c.fail("Pad constant value must be constant") }
            value = v.count > 0 ? Double(v.asFloats[0]) : 0
        }
        return Prepared(mode: mode, dtype: x.dtype, inShape: x.shape, outShape: c.outputs[0].shape, pads: try amounts(c.infer),
                        value: value, x: c.inPtr[0]!, y: c.outPtr[0], reference: c.reference || mode != .constant)
    }

    final class Prepared: PreparedOp {
        let mode: PadMode, dtype: DType, inShape: [Int], outShape: [Int], pads: [(Int, Int)], reference: Bool
        let x: UnsafeMutableRawPointer, y: UnsafeMutableRawPointer
        let fill: UnsafeMutableRawPointer, es: Int
        /// Fast-path view: trailing unpadded axes folded into the axis before
        /// them, so e.g. an HW pad of NHWC copies whole padded W*C rows instead
        /// of one tiny C row (plus index arithmetic) per pixel.
        let fastIn: [Int], fastOut: [Int], fastPads: [(Int, Int)], fastInStrides: [Int]
        init(mode: PadMode, dtype: DType, inShape: [Int], outShape: [Int], pads: [(Int, Int)], value: Double,
             x: UnsafeMutableRawPointer, y: UnsafeMutableRawPointer, reference: Bool) {
            self.mode = mode; self.dtype = dtype; self.inShape = inShape; self.outShape = outShape; self.pads = pads
            self.x = x; self.y = y; self.reference = reference
            es = dtype.byteSize
            fill = .allocate(byteCount: 8, alignment: 8)
            RawElements.setDouble(fill, dtype, 0, value)
            var fi = inShape, fo = outShape, fp = pads
            while fi.count >= 2, fp[fp.count - 1] == (0, 0) {
                let d = fi.removeLast(); fo.removeLast(); fp.removeLast()
                let k = fi.count - 1
                fi[k] *= d; fo[k] *= d; fp[k] = (fp[k].0 * d, fp[k].1 * d)
            }
            fastIn = fi; fastOut = fo; fastPads = fp; fastInStrides = stridesOf(fi)
        }
        deinit { fill.deallocate() }

        /// Input index for output coordinate `o` on axis `a`, or nil if it lands in constant padding.
        @inline(__always)
        func sourceIndex(_ o: Int, _ a: Int) -> Int? {
            let i = PadOp.sourceIndex(o, inShape[a], pads[a].0, mode)
            return i >= 0 ? i : nil
        }

        func run(_ pool: ThreadPool) {
            if reference { runReference(); return }
            let rank = fastOut.count
            if rank == 0 { y.copyMemory(from: x, byteCount: es); return }
            let outShape = fastOut, inShape = fastIn, pads = fastPads
            let inner = outShape[rank - 1], rows = outShape.dropLast().reduce(1, *)
            let ins = fastInStrides
            let (pb, _) = pads[rank - 1]
            let srcLo = max(0, -pb), dstLo = max(0, pb)
            let span = max(0, min(inShape[rank - 1] - srcLo, inner - dstLo))
            pool.forChunks(rows, grain: max(1, 16384 / max(inner, 1))) { r in
                for row in r {
                    let dst = y + row * inner * es
                    var rem = row, src = 0, inside = true
                    var a = rank - 2
                    while a >= 0 {
                        let o = rem % outShape[a]; rem /= outShape[a]
                        let i = o - pads[a].0
                        if i < 0 || i >= inShape[a] { inside = false; break }
                        src += i * ins[a]; a -= 1
                    }
                    if !inside || span == 0 {
                        fillElements(dst, inner)
                        continue
                    }
                    fillElements(dst, dstLo)
                    dst.advanced(by: dstLo * es).copyMemory(from: x + (src + srcLo) * es, byteCount: span * es)
                    fillElements(dst + (dstLo + span) * es, inner - dstLo - span)
                }
            }
        }

        @inline(__always)
        func fillElements(_ p: UnsafeMutableRawPointer, _ n: Int) {
            if n <= 0 { return }
            if es == 4 {
                let v = fill.load(as: UInt32.self)
                p.bindMemory(to: UInt32.self, capacity: n).update(repeating: v, count: n)
            } else {
                for i in 0 ..< n { (p + i * es).copyMemory(from: fill, byteCount: es) }
            }
        }

        func runReference() {
            let os = stridesOf(outShape), ins = stridesOf(inShape)
            let total = outShape.reduce(1, *)
            for o in 0 ..< total {
                var rem = o, src = 0, inside = true
                for a in 0 ..< outShape.count {
                    let q = rem / os[a]; rem -= q * os[a]
                    if let i = sourceIndex(q, a) { src += i * ins[a] } else { inside = false }
                }
                (y + o * es).copyMemory(from: inside ? UnsafeRawPointer(x + src * es) : UnsafeRawPointer(fill), byteCount: es)
            }
        }
    }
}
