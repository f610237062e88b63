// The INT8 quantization scheme of vseg (issue 4, part 1). Every INT8 kernel —
// the C microkernels in Sources/CKernels/int8_*.c and the Swift twins in
// Int8Reference.swift — implements exactly this, bit for bit.
//
// Tensors
//   real = scale * (q - zeroPoint)
//   - Activations between layers: uint8, asymmetric, one (scale, zeroPoint) per
//     tensor, zeroPoint in 0...255. Unsigned on purpose: VNNI's vpdpbusd
//     multiplies unsigned bytes by signed bytes, so u8 activations x s8
//     weights need no sign flip in the hot loop.
//   - Weights: int8, symmetric (zeroPoint 0), one scale per output channel,
//     values in -127...127 (never -128, so |w| is symmetric).
//   - Bias: int32 in units of inputScale * weightScale[c], zero point 0.
//
// Accumulation (exact, int32)
//   acc[n] = bias[n] + sum_k (a[k] - zpIn) * w[k][n]
//          = (bias[n] - zpIn * sum_k w[k][n]) + sum_k a[k] * w[k][n]
//   The parenthesised term is the "packed bias" computed once at weight
//   packing, so the kernels only compute sum a*w. Padding taps read a row of
//   zpIn bytes, which contributes (zpIn - zpIn) * w = 0, as it must.
//   Integer arithmetic is exact, so the folded and unfolded forms agree as long
//   as nothing overflows: |a*w| <= 255*127, so K < 66,000 is safe.
//
// Requantization (XNNPACK-style fp32, round to nearest, ties to even)
//   scale[n] = Float(inputScale * weightScale[n] / outputScale)   (made at prepare)
//   y = Float(acc) * scale[n]                 int32 -> fp32 rounds to nearest even;
//                                             one fp32 multiply, never fused with anything
//   y = min(max(y, Float(qmin - zpOut)), Float(qmax - zpOut))
//   q = Int32(y.rounded(.toNearestOrEven)) + zpOut     (always in qmin...qmax)
//   The clamp [qmin, qmax] (within 0...255) carries fused ReLU / ReLU6.
//   SIMD kernels use cvtdq2ps / vmulps / vmaxps / vminps / cvtps2dq under the
//   default MXCSR (round to nearest even); NEON uses vcvtq_f32_s32 / vcvtnq;
//   the portable C kernel rounds with the 1.5 * 2^23 magic number. All agree
//   because every step is a single correctly rounded IEEE operation.
//   Why fp32 and not a fixed-point multiplier: it is one multiply per output
//   on every ISA, tiny (1e-6) and large (1e3) effective scales need no shift
//   range checks, and the Swift twin is a one-liner that cannot drift.
import CKernels

/// Quantization parameters of one uint8 activation tensor: `real = scale * (q - zeroPoint)`.
public struct ActivationQuant: Sendable, Equatable {
    public var scale: Float
    public var zeroPoint: Int32

    public init(scale: Float, zeroPoint: Int32) {
        precondition(scale > 0 && scale.isFinite && (0...255).contains(zeroPoint), "bad activation quantization")
        self.scale = scale
        self.zeroPoint = zeroPoint
    }

    /// The asymmetric uint8 parameters covering `[min, max]`, widened to include 0
    /// so that zero (padding, ReLU) is exactly representable.
    public init(min lo: Float, max hi: Float) {
        let lo = Swift.min(lo, 0), hi = Swift.max(hi, 0)
        let range = hi - lo
        let scale = range > 0 ? range / 255 : 1
        let zp = (-lo / scale).rounded(.toNearestOrEven)
        self.init(scale: scale, zeroPoint: Int32(Swift.min(Swift.max(zp, 0), 255)))
    }

    @inlinable public func quantize(_ x: Float) -> UInt8 {
        let q = (x / scale).rounded(.toNearestOrEven) + Float(zeroPoint)
        return UInt8(Swift.min(Swift.max(q, 0), 255))
    }

    @inlinable public func dequantize(_ q: UInt8) -> Float { scale * Float(Int32(q) - zeroPoint) }
}

/// Output side of a quantized conv/GEMM: zero point and the clamp that carries a fused activation.
public struct Int8OutputParams: Sendable, Equatable {
    public var zeroPoint: Int32
    public var qmin: Int32
    public var qmax: Int32

    public init(zeroPoint: Int32, qmin: Int32 = 0, qmax: Int32 = 255) {
        precondition((0...255).contains(zeroPoint) && 0 <= qmin && qmin <= qmax && qmax <= 255,
                     "bad output quantization zp \(zeroPoint) clamp \(qmin)...\(qmax)")
        self.zeroPoint = zeroPoint
        self.qmin = qmin
        self.qmax = qmax
    }

    /// Output params for `output`, with a fused clamp `[fusedMin, fusedMax]` in real units
    /// (ReLU: 0...inf, ReLU6: 0...6) turned into a uint8 clamp.
    public init(output: ActivationQuant, fusedMin: Float = -.infinity, fusedMax: Float = .infinity) {
        func q(_ x: Float) -> Int32 {
            guard x.isFinite else { return x < 0 ? 0 : 255 }
            let v = (x / output.scale).rounded(.toNearestOrEven) + Float(output.zeroPoint)
            return Int32(Swift.min(Swift.max(v, 0), 255))
        }
        self.init(zeroPoint: output.zeroPoint, qmin: q(fusedMin), qmax: q(fusedMax))
    }

    /// Float32 output (GEMM / indirect GEMM only): `y = min(max(Float(acc) * scale[n], floatMin), floatMax)`
    /// with `scale[n] = inputScale * weightScale[n]`, for a layer whose result leaves the INT8 graph.
    public private(set) var floatOutput = false
    public private(set) var floatMin: Float = -.infinity
    public private(set) var floatMax: Float = .infinity

    /// Float32 output clamped to `[min, max]` (a fused ReLU/ReLU6 in real units).
    public static func float(min: Float = -.infinity, max: Float = .infinity) -> Int8OutputParams {
        var p = Int8OutputParams(zeroPoint: 0)
        p.floatOutput = true
        p.floatMin = min
        p.floatMax = max
        return p
    }

    public var c: vseg_q8_output_params {
        vseg_q8_output_params(zero_point: zeroPoint, qmin: qmin, qmax: qmax, float_out: floatOutput ? 1 : 0,
                              fmin: floatMin, fmax: floatMax)
    }
}

/// The requantization and parameter helpers of the scheme described above.
public enum QuantScheme {
    /// int32 accumulator -> float32 output (`Int8OutputParams.float`); the twin of the kernels' float epilogue.
    @inlinable @inline(__always)
    public static func dequantizeAccumulator(_ acc: Int32, scale: Float, min lo: Float, max hi: Float) -> Float {
        var y = Float(acc) * scale
        y = y < lo ? lo : y
        y = y > hi ? hi : y
        return y
    }

    /// int32 accumulator -> uint8 output; the twin of every kernel's epilogue.
    @inlinable @inline(__always)
    public static func requantize(_ acc: Int32, scale: Float, zeroPoint: Int32, qmin: Int32, qmax: Int32) -> UInt8 {
        var y = Float(acc) * scale
        y = Swift.max(y, Float(qmin &- zeroPoint))
        y = Swift.min(y, Float(qmax &- zeroPoint))
        return UInt8(truncatingIfNeeded: Int32(y.rounded(.toNearestOrEven)) &+ zeroPoint)
    }

    /// Per-channel requantization scales `inputScale * weightScale[c] / outputScale`
    /// (computed in Double, rounded once to Float).
    public static func requantScales(inputScale: Float, weightScales: [Float], outputScale: Float) -> [Float] {
        weightScales.map { Float(Double(inputScale) * Double($0) / Double(outputScale)) }
    }

    /// Bias in int32 units of `inputScale * weightScale[c]`, rounded to nearest even, saturated.
    public static func quantizeBias(_ bias: [Float], inputScale: Float, weightScales: [Float]) -> [Int32] {
        precondition(bias.count == weightScales.count, "one bias per output channel")
        return zip(bias, weightScales).map { b, ws in
            let v = (Double(b) / (Double(inputScale) * Double(ws))).rounded(.toNearestOrEven)
            return Int32(Swift.min(Swift.max(v, Double(Int32.min)), Double(Int32.max)))
        }
    }
}
