/// Arithmetic shared by the INT8 non-conv ops. Every op requantizes the way
/// QuantScheme.swift describes: a float value `y` in output units (real / outputScale),
/// clamped to `[qmin - zp, qmax - zp]`, rounded to nearest even, plus zp.
///
/// Rounding uses the 1.5 * 2^23 magic number: for |y| < 2^22, `y + magic` is the
/// float whose low mantissa bits hold round(y) (ties to even, one IEEE add), so the
/// integer comes out of the bits with no conversion instruction. The scalar form
/// below and the C kernels of the fast paths (Sources/CKernels/int8_elementwise.c)
/// are the same sequence of correctly rounded operations (no FMA anywhere), which is
/// why fast paths and reference loops agree bit for bit.

let roundMagic: Float = 12_582_912  // 1.5 * 2^23, bit pattern 0x4B40_0000
let roundMagicBits: Int32 = 0x4B40_0000

/// Output side of an INT8 op: clamp bounds in output units and the zero point.
struct Int8Requant {
    var lo: Float, hi: Float, zp: Int32

    /// `clamp` is the fused activation range in real units (nil: none).
    init(output: ActivationQuant, clamp: (lo: Float, hi: Float)? = nil) {
        let p = Int8OutputParams(output: output, fusedMin: clamp?.lo ?? -.infinity, fusedMax: clamp?.hi ?? .infinity)
        lo = Float(p.qmin - p.zeroPoint); hi = Float(p.qmax - p.zeroPoint); zp = p.zeroPoint
    }

    /// Values already in the uint8 domain: clamp to 0...255 and round.
    static let bytes = Int8Requant(lo: 0, hi: 255, zp: 0)

    private init(lo: Float, hi: Float, zp: Int32) { self.lo = lo; self.hi = hi; self.zp = zp }

    @inline(__always)
    func scalar(_ y0: Float) -> UInt8 {
        var y = y0
        y = Swift.max(y, lo)
        y = Swift.min(y, hi)
        return UInt8(truncatingIfNeeded: Int32(bitPattern: (y + roundMagic).bitPattern) &- roundMagicBits &+ zp)
    }
}

/// Copies `n` bytes; short runs (a pixel's channels) inline in 16-byte moves,
/// where a memmove call per pixel would cost more than the copy.
@inline(__always)
func copyBytes(_ d: UnsafeMutablePointer<UInt8>, _ s: UnsafePointer<UInt8>, _ n: Int) {
    if n > 256 { UnsafeMutableRawPointer(d).copyMemory(from: s, byteCount: n); return }
    let rd = UnsafeMutableRawPointer(d), rs = UnsafeRawPointer(s)
    var i = 0
    while i + 16 <= n {
        rd.storeBytes(of: rs.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self), toByteOffset: i, as: SIMD16<UInt8>.self)
        i += 16
    }
    while i < n { d[i] = s[i]; i += 1 }
}

/// `x / y` computed in Double and rounded once (multipliers made at prepare).
@inline(__always)
func ratio(_ x: Float, _ y: Float) -> Float { Float(Double(x) / Double(y)) }

/// 256-entry table `q -> quantize_out(f(dequantize_in(q)))`.
func requantTable(input: ActivationQuant, output: ActivationQuant, _ f: (Float) -> Float) -> [UInt8] {
    (0 ..< 256).map { output.quantize(f(input.dequantize(UInt8($0)))) }
}

extension InferContext {
    /// This context with uint8 activations shown as float32, so that the FP32
    /// ops' shape helpers (which check for float input) can be reused at INT8 prepare.
    var asFloatView: InferContext {
        InferContext(node: node, inputs: inputs.map { m in m.map { $0.dtype == .uint8 ? TensorMeta(shape: $0.shape, dtype: .float32) : $0 } },
                     constants: constants, inputQuant: inputQuant, outputQuant: outputQuant, declaredOutputTypes: declaredOutputTypes)
    }

    /// Whether input `k` is a float32 constant.
    func isFloatConstant(_ k: Int) -> Bool {
        guard let d = constant(k) else { return false }
        return d.dtype == .float32
    }
}

extension ThreadPool {
    /// Like `forChunks` but also passes the task index (for per-task scratch).
    @inline(__always)
    func forTasks(_ n: Int, grain: Int, _ body: (Int, Range<Int>) -> Void) {
        let tasks = Swift.min(threadCount, Swift.max(1, n / Swift.max(grain, 1)))
        if tasks <= 1 { body(0, 0 ..< n); return }
        parallelFor(tasks) { t in body(t, splitRange(n, parts: tasks, t)) }
    }
}
