import CKernels
/// Dequantize to float32: float16 is widened; int8/uint8/int32 use the input's
/// QuantParams (per tensor or per channel along `axis`). fp16 weights are
/// constants, so this is normally folded at load. Fast path for float16:
/// 16-lane conversion; twin: per element.
enum DequantizeOp: OpDefinition {
    static func inferShapes(_ c: InferContext) throws -> [TensorMeta] {
        let x = try c.input(0)
        switch x.dtype {
        case .float16, .float32: break
        case .int8, .uint8, .int32:
            guard c.inputQuant.first.flatMap({ $0 }) != nil else { throw c.fail("Dequantize of \(x.dtype) needs quantization parameters") }
        default: throw c.fail("Dequantize of \(x.dtype) is not supported")
        }
        return [TensorMeta(shape: x.shape, dtype: .float32)]
    }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        let x = try c.input(0)
        let q = c.inputQuant.first.flatMap { $0 } ?? QuantParams(scale: [1], zeroPoint: [0])
        if !q.scale.isEmpty, q.scale.count > 1 {
            guard q.axis >= 0, q.axis < x.shape.count, x.shape[q.axis] == q.scale.count, q.zeroPoint.count == q.scale.count || q.zeroPoint.count == 1 else {
                throw c.fail("Dequantize per-channel parameters do not match \(x.shape)")
            }
        }
        if !c.reference, x.dtype == .uint8, q.scale.count == 1 {
            return FastU8(n: x.shape.reduce(1, *), scale: q.scale[0], zeroPoint: Int32(q.zeroPoint.first ?? 0),
                          x: c.inPtr[0]!.assumingMemoryBound(to: UInt8.self), y: c.floatOut(0))
        }
        return Prepared(dtype: x.dtype, shape: x.shape, q: q, x: c.inPtr[0]!, y: c.floatOut(0), reference: c.reference)
    }

    /// Per-tensor uint8 -> float32 (INT8 graph edges) in C (`vseg_q8_dequantize_u8`);
    /// same arithmetic as the twin.
    final class FastU8: PreparedOp {
        let n: Int, scale: Float, zeroPoint: Int32
        let x: UnsafeMutablePointer<UInt8>, y: UnsafeMutablePointer<Float>
        init(n: Int, scale: Float, zeroPoint: Int32, x: UnsafeMutablePointer<UInt8>, y: UnsafeMutablePointer<Float>) {
            self.n = n; self.scale = scale; self.zeroPoint = zeroPoint; self.x = x; self.y = y
        }
        func run(_ pool: ThreadPool) {
            pool.forChunks(n, grain: 65536) { r in
                vseg_q8_dequantize_u8(self.x + r.lowerBound, self.y + r.lowerBound, r.count, self.scale, self.zeroPoint)
            }
        }
    }

    final class Prepared: PreparedOp {
        let dtype: DType, n: Int, q: QuantParams, inner: Int, channels: Int, reference: Bool
        let x: UnsafeMutableRawPointer, y: UnsafeMutablePointer<Float>
        init(dtype: DType, shape: [Int], q: QuantParams, x: UnsafeMutableRawPointer, y: UnsafeMutablePointer<Float>, reference: Bool) {
            self.dtype = dtype; self.q = q; self.x = x; self.y = y; self.reference = reference
            n = shape.reduce(1, *)
            channels = max(q.scale.count, 1)
            inner = q.scale.count > 1 ? shape[(q.axis + 1)...].reduce(1, *) : 1
        }
        func run(_ pool: ThreadPool) {
            switch dtype {
            case .float32:
                if UnsafeMutableRawPointer(y) != x { y.update(from: x.assumingMemoryBound(to: Float.self), count: n) }
            case .float16:
                let src = x.assumingMemoryBound(to: Float16.self)
                if reference { for i in 0 ..< n { y[i] = Float(src[i]) }; return }
                var i = 0
                let rs = UnsafeRawPointer(x), rd = UnsafeMutableRawPointer(y)
                while i + 16 <= n {
                    let h = rs.loadUnaligned(fromByteOffset: i * 2, as: SIMD16<Float16>.self)
                    rd.storeBytes(of: SIMD16<Float>(h), toByteOffset: i * 4, as: F16.self)
                    i += 16
                }
                while i < n { y[i] = Float(src[i]); i += 1 }
            default:
                for i in 0 ..< n {
                    let ch = channels > 1 ? (i / inner) % channels : 0
                    let zp = q.zeroPoint.isEmpty ? 0 : q.zeroPoint[q.zeroPoint.count > 1 ? ch : 0]
                    y[i] = q.scale[ch] * Float(RawElements.int(x, dtype, i) - zp)
                }
            }
        }
    }
}
