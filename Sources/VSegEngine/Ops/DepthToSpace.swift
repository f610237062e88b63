/// DepthToSpace on NHWC: [N,H,W,C] -> [N,H*b,W*b,C/b²]. DCR (TFLite, ONNX
/// default): channel (i*b+j)*C' + c; CRD: c*b² + i*b + j. Fast path: DCR copies
/// C' contiguous floats per output pixel, CRD gathers with stride b². Twin: per
/// output element.
enum DepthToSpaceOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        guard case let .depthToSpace(b, _) = c.node.op else { preconditionFailure() }
        let x = try c.input(0)
        guard x.shape.count == 4, b >= 1, x.shape[3] % (b * b) == 0 else {
            throw c.fail("DepthToSpace block \(b) does not divide the channels of \(x.shape)")
        }
        return [TensorMeta(shape: [x.shape[0], x.shape[1] * b, x.shape[2] * b, x.shape[3] / (b * b)], dtype: x.dtype)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .depthToSpace(b, dcr) = c.node.op else { preconditionFailure() }
        return Prepared(inShape: try c.input(0).shape, b: b, dcr: dcr, es: try c.input(0).dtype.byteSize,
                        x: c.inPtr[0]!, y: c.outPtr[0], reference: c.reference)
    }

    final class Prepared: PreparedOp {
        let n: Int, h: Int, w: Int, cin: Int, b: Int, dcr: Bool, es: Int, reference: Bool
        let x: UnsafeMutableRawPointer, y: UnsafeMutableRawPointer
        init(inShape: [Int], b: Int, dcr: Bool, es: Int, x: UnsafeMutableRawPointer, y: UnsafeMutableRawPointer, reference: Bool) {
            n = inShape[0]; h = inShape[1]; w = inShape[2]; cin = inShape[3]
            self.b = b; self.dcr = dcr; self.es = es; self.x = x; self.y = y; self.reference = reference
        }

        @inline(__always)
        func sourceChannel(_ i: Int, _ j: Int, _ c: Int, _ cout: Int) -> Int {
            dcr ? (i * b + j) * cout + c : c * b * b + i * b + j
        }

        func run(_ pool: ThreadPool) {
            let cout = cin / (b * b), oh = h * b, ow = w * b
            if reference {
                for nn in 0 ..< n { for oy in 0 ..< oh { for ox in 0 ..< ow { for c in 0 ..< cout {
                    let src = ((nn * h + oy / b) * w + ox / b) * cin + sourceChannel(oy % b, ox % b, c, cout)
                    let dst = ((nn * oh + oy) * ow + ox) * cout + c
                    (y + dst * es).copyMemory(from: x + src * es, byteCount: es)
                } } } }
                return
            }
            pool.forChunks(n * oh, grain: max(1, 4096 / max(ow * cout, 1))) { r in
                for row in r {
                    let nn = row / oh, oy = row % oh, i = oy % b
                    let srcRow = x + (nn * h + oy / b) * w * cin * es
                    let dstRow = y + row * ow * cout * es
                    for ox in 0 ..< ow {
                        let j = ox % b
                        let src = srcRow + (ox / b) * cin * es, dst = dstRow + ox * cout * es
                        if dcr {
                            dst.copyMemory(from: src + (i * b + j) * cout * es, byteCount: cout * es)
                        } else {
                            for c in 0 ..< cout { (dst + c * es).copyMemory(from: src + (c * b * b + i * b + j) * es, byteCount: es) }
                        }
                    }
                }
            }
        }
    }
}
