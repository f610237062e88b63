/// INT8 DepthToSpace and Transpose: byte moves on uint8 that keep the input's
/// parameters. Fast paths copy contiguous runs and gather bytes with a stride,
/// rows split across threads; twins walk output elements one by one.

enum Int8DepthToSpaceOp: Int8OpDefinition {
    static func supports(_ c: InferContext) -> Bool {
        guard case .depthToSpace = c.node.op, let x = c.inputs.first ?? nil, x.dtype == .float32, c.constant(0) == nil else { return false }
        return (try? DepthToSpaceOp.inferShapes(c)) != nil
    }

    static func outputRule(_ op: Op) -> Int8OutputRule { .sameAsInput(0) }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .depthToSpace(b, dcr) = c.node.op else { preconditionFailure() }
        let s = try c.input(0).shape
        return Prepared(n: s[0], h: s[1], w: s[2], cin: s[3], b: b, dcr: dcr, x: c.u8In(0), y: c.u8Out(0), reference: c.reference)
    }

    final class Prepared: PreparedOp {
        let n: Int, h: Int, w: Int, cin: Int, b: Int, dcr: Bool, reference: Bool
        let x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>
        init(n: Int, h: Int, w: Int, cin: Int, b: Int, dcr: Bool, x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>, reference: Bool) {
            self.n = n; self.h = h; self.w = w; self.cin = cin; self.b = b; self.dcr = dcr; self.x = x; self.y = y
            self.reference = reference
        }

        func run(_ pool: ThreadPool) {
            let b = self.b, cout = cin / (b * b), oh = h * b, ow = w * b, cin = self.cin
            if reference {
                for nn in 0 ..< n { for oy in 0 ..< oh { for ox in 0 ..< ow { for c in 0 ..< cout {
                    let i = oy % b, j = ox % b
                    let ch = dcr ? (i * b + j) * cout + c : c * b * b + i * b + j
                    y[((nn * oh + oy) * ow + ox) * cout + c] = x[((nn * h + oy / b) * w + ox / b) * cin + ch]
                } } } }
                return
            }
            pool.forChunks(n * oh, grain: max(1, 16384 / max(ow * cout, 1))) { r in
                for row in r {
                    let nn = row / oh, oy = row % oh, i = oy % b
                    let srcRow = x + (nn * h + oy / b) * w * cin, dstRow = y + row * ow * cout
                    for ox in 0 ..< ow {
                        let j = ox % b
                        let src = srcRow + (ox / b) * cin, dst = dstRow + ox * cout
                        if dcr {
                            copyBytes(dst, src + (i * b + j) * cout, cout)
                        } else {
                            let s = src + i * b + j, step = b * b
                            for c in 0 ..< cout { dst[c] = s[c * step] }
                        }
                    }
                }
            }
        }
    }
}

enum Int8TransposeOp: Int8OpDefinition {
    static func supports(_ c: InferContext) -> Bool {
        guard case .transpose = c.node.op, let x = c.inputs.first ?? nil, x.dtype == .float32, c.constant(0) == nil else { return false }
        return (try? TransposeOp.perm(c)) != nil
    }

    static func outputRule(_ op: Op) -> Int8OutputRule { .sameAsInput(0) }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        let x = try c.input(0)
        let perm = try TransposeOp.perm(c.infer)
        let ins = stridesOf(x.shape)
        return Prepared(outShape: perm.map { x.shape[$0] }, srcStride: perm.map { ins[$0] }, x: c.u8In(0), y: c.u8Out(0),
                        reference: c.reference)
    }

    final class Prepared: PreparedOp {
        let outShape: [Int], srcStride: [Int], count: Int, reference: Bool
        let x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>
        init(outShape: [Int], srcStride: [Int], x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>, reference: Bool) {
            self.outShape = outShape; self.srcStride = srcStride; count = outShape.reduce(1, *)
            self.x = x; self.y = y; self.reference = reference
        }

        func run(_ pool: ThreadPool) {
            let rank = outShape.count
            if count == 0 { return }
            if rank == 0 { y[0] = x[0]; return }
            if reference {
                let os = stridesOf(outShape)
                for o in 0 ..< count {
                    var rem = o, src = 0
                    for a in 0 ..< rank { let q = rem / os[a]; rem -= q * os[a]; src += q * srcStride[a] }
                    y[o] = x[src]
                }
                return
            }
            let inner = outShape[rank - 1], rows = count / inner, step = srcStride[rank - 1]
            outShape.withUnsafeBufferPointer { outShape in srcStride.withUnsafeBufferPointer { srcStride in
                pool.forChunks(rows, grain: max(1, 16384 / max(inner, 1))) { r in
                    for row in r {
                        var rem = row, src = 0
                        var a = rank - 2
                        while a >= 0 { src += (rem % outShape[a]) * srcStride[a]; rem /= outShape[a]; a -= 1 }
                        let s = x + src, d = y + row * inner
                        if step == 1 { copyBytes(d, s, inner) } else { for i in 0 ..< inner { d[i] = s[i * step] } }
                    }
                }
            } }
        }
    }
}
