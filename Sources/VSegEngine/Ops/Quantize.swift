import CKernels
/// Quantize float32 to int8/uint8 with the output tensor's QuantParams:
/// q = clamp(round_half_even(x / scale) + zeroPoint). Fast path for the INT8
/// graph's edges (uint8, per tensor): 16 lanes, split across threads;
/// twin: the per-element loop.
enum QuantizeOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        let x = try c.input(0)
        guard x.dtype == .float32 else { throw c.fail("Quantize needs float32 input") }
        let t = c.declaredOutputTypes.first ?? .int8
        guard t == .int8 || t == .uint8 else { throw c.fail("Quantize to \(t) is not supported") }
        guard c.outputQuant.first.flatMap({ $0 }) != nil else { throw c.fail("Quantize needs output quantization parameters") }
        return [TensorMeta(shape: x.shape, dtype: t)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        let x = try c.input(0)
        guard let q = c.outputQuant.first.flatMap({ $0 }), !q.scale.isEmpty else { throw c.fail("Quantize needs output quantization parameters") }
        if !c.reference, c.outputs[0].dtype == .uint8, q.scale.count == 1 {
            return FastU8(n: x.shape.reduce(1, *), scale: q.scale[0], zeroPoint: Float(q.zeroPoint.first ?? 0),
                          x: c.floatIn(0), y: c.u8Out(0))
        }
        return Prepared(to: c.outputs[0].dtype, shape: x.shape, q: q, x: c.floatIn(0), y: c.outPtr[0])
    }

    /// Per-tensor float32 -> uint8 in C (`vseg_q8_quantize_f32`), split across
    /// threads; bit-identical to `Prepared` (the value is clamped to +-512 before
    /// rounding, far outside 0...255 either way).
    final class FastU8: PreparedOp {
        let n: Int, scale: Float, zeroPoint: Int32
        let x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<UInt8>
        init(n: Int, scale: Float, zeroPoint: Float, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<UInt8>) {
            self.n = n; self.scale = scale; self.zeroPoint = Int32(zeroPoint); self.x = x; self.y = y
        }
        func run(_ pool: ThreadPool) {
            pool.forChunks(n, grain: 65536) { r in
                vseg_q8_quantize_f32(self.x + r.lowerBound, self.y + r.lowerBound, r.count, self.scale, self.zeroPoint)
            }
        }
    }

    final class Prepared: PreparedOp {
        let to: DType, n: Int, q: QuantParams, inner: Int, channels: Int
        let x: UnsafeMutablePointer<Float>, y: UnsafeMutableRawPointer
        init(to: DType, shape: [Int], q: QuantParams, x: UnsafeMutablePointer<Float>, y: UnsafeMutableRawPointer) {
            self.to = to; self.q = q; self.x = x; self.y = y
            n = shape.reduce(1, *)
            channels = q.scale.count
            inner = channels > 1 && q.axis < shape.count ? shape[(q.axis + 1)...].reduce(1, *) : 1
        }
        func run(_ pool: ThreadPool) {
            let lo: Float = to == .int8 ? -128 : 0, hi: Float = to == .int8 ? 127 : 255
            for i in 0 ..< n {
                let ch = channels > 1 ? (i / inner) % channels : 0
                let zp = q.zeroPoint.isEmpty ? 0 : Float(q.zeroPoint[q.zeroPoint.count > 1 ? ch : 0])
                let v = Swift.min(Swift.max((x[i] / q.scale[ch]).rounded(.toNearestOrEven) + zp, lo), hi)
                RawElements.setInt(y, to, i, Int64(v))
            }
        }
    }
}
