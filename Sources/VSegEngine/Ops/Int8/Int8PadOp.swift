/// INT8 Pad (constant, reflect, edge) on uint8 with the input's parameters.
/// The constant is quantized with the input parameters (clamped to 0...255).
/// Source indices follow `PadOp` (negative amounts crop; reflect excludes the
/// edge, edge repeats it).
/// Fast path: output rows (all axes but the last) map to one source row; the
/// last axis is a memcpy of its interior plus a per-element table for its padded
/// ends. Constant mode first folds trailing unpadded axes into the one before, so
/// an H/W pad of NHWC copies whole W*C rows. Rows split across threads.
/// Twin: per output element, each coordinate mapped back to the input.
enum Int8PadOp: Int8OpDefinition {
    static func supports(_ c: InferContext) -> Bool {
        guard case .pad = c.node.op, let x = c.inputs.first ?? nil, x.dtype == .float32, c.constant(0) == nil,
              (try? PadOp.inferShapes(c)) != nil else { return false }
        if c.has(2) { return c.constant(2) != nil }
        return true
    }

    static func outputRule(_ op: Op) -> Int8OutputRule { .sameAsInput(0) }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .pad(mode) = c.node.op else { preconditionFailure() }
        let qx = try c.activationQuant(input: 0)
        var value: Float = 0
        if c.has(2) {
            guard let v = c.constant(2) else { throw c.fail("Pad constant value must be constant") }
            value = v.count > 0 ? v.asFloats[0] : 0
        }
        return Prepared(mode: mode, inShape: try c.input(0).shape, outShape: c.outputs[0].shape, pads: try PadOp.amounts(c.infer),
                        fill: qx.quantize(value), x: c.u8In(0), y: c.u8Out(0), reference: c.reference)
    }


    final class Prepared: PreparedOp {
        let mode: PadMode, inShape: [Int], outShape: [Int], pads: [(Int, Int)], fill: UInt8, reference: Bool
        let x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>
        /// Fast view (folded for constant mode), its input strides, and for the last
        /// axis: the source index of every output element (-1: fill) and the interior span.
        let fIn: [Int], fOut: [Int], fPads: [(Int, Int)], fStrides: [Int], lastSrc: [Int]
        let dstLo: Int, srcLo: Int, span: Int

        init(mode: PadMode, inShape: [Int], outShape: [Int], pads: [(Int, Int)], fill: UInt8, x: UnsafePointer<UInt8>,
             y: UnsafeMutablePointer<UInt8>, reference: Bool) {
            self.mode = mode; self.inShape = inShape; self.outShape = outShape; self.pads = pads; self.fill = fill
            self.x = x; self.y = y; self.reference = reference
            var fi = inShape, fo = outShape, fp = pads
            while mode == .constant, fi.count >= 2, fp[fp.count - 1] == (0, 0) {
                let d = fi.removeLast(); fo.removeLast(); fp.removeLast()
                let k = fi.count - 1
                fi[k] *= d; fo[k] *= d; fp[k] = (fp[k].0 * d, fp[k].1 * d)
            }
            fIn = fi; fOut = fo; fPads = fp; fStrides = stridesOf(fi)
            let last = max(fi.count - 1, 0)
            let d = fi.isEmpty ? 1 : fi[last], n = fo.isEmpty ? 1 : fo[last], before = fp.isEmpty ? 0 : fp[last].0
            lastSrc = (0 ..< n).map { PadOp.sourceIndex($0, d, before, mode) }
            srcLo = max(0, -before); dstLo = max(0, before)
            span = max(0, min(d - srcLo, n - dstLo))
        }

        func run(_ pool: ThreadPool) {
            if reference { runReference(); return }
            let rank = fOut.count
            if rank == 0 { y[0] = x[0]; return }
            let inner = fOut[rank - 1], rows = fOut.dropLast().reduce(1, *), constant = mode == .constant
            if inner == 0 || rows == 0 { return }
            fOut.withUnsafeBufferPointer { fOut in fIn.withUnsafeBufferPointer { fIn in
            fStrides.withUnsafeBufferPointer { strides in lastSrc.withUnsafeBufferPointer { lastSrc in
                pool.forChunks(rows, grain: max(1, 32768 / inner)) { r in
                    for row in r {
                        let dst = y + row * inner
                        var rem = row, src = 0, inside = true
                        var a = rank - 2
                        while a >= 0 {
                            let o = rem % fOut[a]; rem /= fOut[a]
                            let i = PadOp.sourceIndex(o, fIn[a], fPads[a].0, mode)
                            if i < 0 { inside = false; break }
                            src += i * strides[a]; a -= 1
                        }
                        if !inside { dst.update(repeating: fill, count: inner); continue }
                        let s = x + src
                        if constant {
                            // the ends are all fill: after folding, an H/W pad's W ends are whole pixels of bytes
                            dst.update(repeating: fill, count: dstLo)
                            (dst + dstLo + span).update(repeating: fill, count: inner - dstLo - span)
                        } else {
                            for o in 0 ..< dstLo { dst[o] = lastSrc[o] < 0 ? fill : s[lastSrc[o]] }
                            for o in dstLo + span ..< inner { dst[o] = lastSrc[o] < 0 ? fill : s[lastSrc[o]] }
                        }
                        UnsafeMutableRawPointer(dst + dstLo).copyMemory(from: s + srcLo, byteCount: span)
                    }
                }
            } } } }
        }

        func runReference() {
            let os = stridesOf(outShape), ins = stridesOf(inShape)
            for o in 0 ..< outShape.reduce(1, *) {
                var rem = o, src = 0, inside = true
                for a in 0 ..< outShape.count {
                    let q = rem / os[a]; rem -= q * os[a]
                    let i = PadOp.sourceIndex(q, inShape[a], pads[a].0, mode)
                    if i < 0 { inside = false } else { src += i * ins[a] }
                }
                y[o] = inside ? x[src] : fill
            }
        }
    }
}
