import CKernels
/// Elementwise activation math shared by the unary op and the fused post-ops
/// of conv/binary ops. Each activation is a small struct so the loops below are
/// specialized per activation (no switch inside the inner loop).

typealias F16 = SIMD16<Float>

// Swift's generic SIMD helpers (`clamped`, `rounded`, `replacing`, pointwiseMin)
// lower to lane-by-lane loops, and `rounded` to a libm call per lane on
// baseline x86-64: a HardSwish post-op over 128x128x16 took 2.7 ms that way
// against 37 us with the forms below. Only concrete operators and the
// mutating `replace` are used here.

/// Clamp to [lo, hi]; the mutating `replace` lowers to min/max instructions.
@inline(__always)
func vclamp(_ v: F16, _ lo: F16, _ hi: F16) -> F16 {
    var x = v
    x.replace(with: lo, where: x .< lo)
    x.replace(with: hi, where: x .> hi)
    return x
}

/// exp for 16 lanes: range reduction by ln2 and a degree-6 polynomial
/// (Cephes expf coefficients); ~2 ulp over the clamped range. The nearest
/// integer of x*log2(e) comes from the 1.5*2^23 magic number (its low mantissa
/// bits then hold the integer), so 2^n is built from bits with no per-lane call.
@inline(__always)
func vexp(_ x0: F16) -> F16 {
    let x = vclamp(x0, F16(repeating: -87.3), F16(repeating: 88.3))
    let magic = F16(repeating: 12_582_912)  // 1.5 * 2^23
    let t = x * 1.44269504088896341 + magic
    let n = t - magic
    var r = x - n * 0.693359375
    r = r + n * 2.12194440e-4
    var p = F16(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * (r * r) + r + 1
    let ni = unsafeBitCast(t, to: SIMD16<Int32>.self) &- 0x4B40_0000
    let bits = (ni &+ 127) &<< 23
    return p * unsafeBitCast(bits, to: F16.self)
}

protocol ActivationFn {
    func scalar(_ x: Float) -> Float
    func vector(_ v: F16) -> F16
}

struct ClampFn: ActivationFn {
    var lo: Float, hi: Float
    @inline(__always) func scalar(_ x: Float) -> Float { Swift.min(Swift.max(x, lo), hi) }
    @inline(__always) func vector(_ v: F16) -> F16 {
        vclamp(v, F16(repeating: lo), F16(repeating: hi))
    }
}
struct LeakyReluFn: ActivationFn {
    var alpha: Float
    @inline(__always) func scalar(_ x: Float) -> Float { x < 0 ? x * alpha : x }
    @inline(__always) func vector(_ v: F16) -> F16 { var x = v; x.replace(with: v * alpha, where: v .< 0); return x }
}
struct SigmoidFn: ActivationFn {
    @inline(__always) func scalar(_ x: Float) -> Float { vector(F16(repeating: x))[0] }
    @inline(__always) func vector(_ v: F16) -> F16 { 1 / (1 + vexp(-v)) }
}
struct TanhFn: ActivationFn {
    @inline(__always) func scalar(_ x: Float) -> Float { vector(F16(repeating: x))[0] }
    @inline(__always) func vector(_ v: F16) -> F16 {
        let c = vclamp(v, F16(repeating: -9), F16(repeating: 9))
        let e = vexp(c * 2)
        return (e - 1) / (e + 1)
    }
}
struct HardSwishFn: ActivationFn {
    @inline(__always) func scalar(_ x: Float) -> Float { x * Swift.min(Swift.max(x + 3, 0), 6) / 6 }
    @inline(__always) func vector(_ v: F16) -> F16 {
        v * vclamp(v + 3, F16(repeating: 0), F16(repeating: 6)) * (1.0 / 6.0)
    }
}
struct HardSigmoidFn: ActivationFn {
    var alpha: Float, beta: Float
    @inline(__always) func scalar(_ x: Float) -> Float { Swift.min(Swift.max(alpha * x + beta, 0), 1) }
    @inline(__always) func vector(_ v: F16) -> F16 {
        vclamp(v * alpha + beta, F16(repeating: 0), F16(repeating: 1))
    }
}

@inline(__always)
func mapFloats<F: ActivationFn>(_ f: F, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    let rs = UnsafeRawPointer(src), rd = UnsafeMutableRawPointer(dst)
    while i + 16 <= n {
        let v = rs.loadUnaligned(fromByteOffset: i * 4, as: F16.self)
        rd.storeBytes(of: f.vector(v), toByteOffset: i * 4, as: F16.self)
        i += 16
    }
    while i < n { dst[i] = f.scalar(src[i]); i += 1 }
}

extension Activation {
    /// The clamp this activation is, if it is one (fusable into conv outputs).
    var clampRange: (lo: Float, hi: Float)? {
        switch self {
        case .none: return (-.infinity, .infinity)
        case .relu: return (0, .infinity)
        case .relu6: return (0, 6)
        case .reluN1To1: return (-1, 1)
        case let .clip(lo, hi): return (lo, hi)
        default: return nil
        }
    }

    /// Plain scalar definition (the reference twin).
    func reference(_ x: Float) -> Float {
        switch self {
        case .none: return x
        case .relu: return Swift.max(x, 0)
        case .relu6: return Swift.min(Swift.max(x, 0), 6)
        case .reluN1To1: return Swift.min(Swift.max(x, -1), 1)
        case let .clip(lo, hi): return Swift.min(Swift.max(x, lo), hi)
        case let .leakyRelu(a): return x < 0 ? a * x : x
        case .sigmoid: return Float(1 / (1 + libmExp(-Double(x))))
        case .tanh: return Float(libmTanh(Double(x)))
        case .hardSwish: return x * Swift.min(Swift.max(x + 3, 0), 6) / 6
        case let .hardSigmoid(a, b): return Swift.min(Swift.max(a * x + b, 0), 1)
        }
    }

    /// Vectorized `dst[i] = act(src[i])`; src may equal dst.
    func apply(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        switch self {
        case .none: if UnsafePointer(dst) != src { dst.update(from: src, count: n) }
        case .relu, .relu6, .reluN1To1, .clip:
            let r = clampRange!
            mapFloats(ClampFn(lo: r.lo, hi: r.hi), src, dst, n)
        case let .leakyRelu(a): mapFloats(LeakyReluFn(alpha: a), src, dst, n)
        case .sigmoid:
            // Long runs (a standalone Sigmoid): SigmoidFn's arithmetic in C at AVX-512/AVX2 width, same bits.
            // Short runs (fused post-ops per tile) stay inline: a call per tile costs more than it saves.
            if n >= 1024 { vseg_f32_sigmoid(src, dst, n) } else { mapFloats(SigmoidFn(), src, dst, n) }
        case .tanh: mapFloats(TanhFn(), src, dst, n)
        case .hardSwish: mapFloats(HardSwishFn(), src, dst, n)
        case let .hardSigmoid(a, b): mapFloats(HardSigmoidFn(alpha: a, beta: b), src, dst, n)
        }
    }

    /// Reference loop over a buffer.
    func applyReference(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0 ..< n { dst[i] = reference(src[i]) }
    }

    var isIdentity: Bool { if case .none = self { return true }; return false }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func libmExp(_ x: Double) -> Double { Glibc.exp(x) }
@inline(__always) func libmTanh(_ x: Double) -> Double { Glibc.tanh(x) }
#else
import Darwin
@inline(__always) func libmExp(_ x: Double) -> Double { Darwin.exp(x) }
@inline(__always) func libmTanh(_ x: Double) -> Double { Darwin.tanh(x) }
#endif
