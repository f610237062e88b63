// Shared kernel source: this file is compiled into VSegKernelsAVX512,
// VSegKernelsAVX2 and VSegKernelsPortable (each target directory holds a
// symlink to it), once per ISA with that target's code-generation flags.
// Per-target defines pick the vector width, the tile and whether fused
// multiply-add exists:
//   VSEG_AVX512: SIMD16, 8 x 32 tile, FMA
//   VSEG_AVX2:   SIMD8,  6 x 16 tile, FMA
//   (none):      SIMD4,  6 x 8 tile, mul + add (on a CPU without FMA,
//                `addingProduct` becomes a libm `fmaf` call per lane)
//
// Rules for this directory:
// - A new file needs a symlink in each of the three target directories.
// - Public entry points take plain pointers and a ConvGeometry; everything
//   else stays internal, without @usableFromInline/@inlinable. Code that
//   crosses into another module (inlined, or emitted as a weak symbol shared
//   with the other ISA modules) would carry this module's -target-cpu with it
//   and could put AVX-512 instructions on the portable path.
//   Benchmarks/kernels/check-isa-isolation.sh verifies a linked binary.
// - Generic helpers take `KernelVector` (concrete conformances below), not
//   `SIMD`: generic SIMD operators lower to lane-by-lane loops.

#if VSEG_AVX512
typealias V = SIMD16<Float>
/// Half a vector, for channel tails.
typealias H = SIMD8<Float>
#elseif VSEG_AVX2
typealias V = SIMD8<Float>
typealias H = SIMD4<Float>
#else
typealias V = SIMD4<Float>
typealias H = SIMD2<Float>
#endif

/// Lanes of one vector.
let VW = V.scalarCount
/// Output channels per GEMM panel (two vectors).
let NR = 2 * V.scalarCount
#if VSEG_AVX512
/// Output pixels per GEMM microkernel call.
let MR = 8
#else
let MR = 6
#endif

@_transparent
func fma(_ acc: V, _ a: V, _ b: V) -> V {
#if VSEG_AVX512 || VSEG_AVX2
    return acc.addingProduct(a, b)
#else
    return acc + a * b
#endif
}

@_transparent
func fma(_ acc: Float, _ a: Float, _ b: Float) -> Float {
#if VSEG_AVX512 || VSEG_AVX2
    return acc.addingProduct(a, b)
#else
    return acc + a * b
#endif
}

@_transparent
func load(_ p: UnsafePointer<Float>) -> V {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
}

@_transparent
func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
}

@inline(__always)
func storePartial(_ v: V, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    var j = 0
    if n >= H.scalarCount {
        UnsafeMutableRawPointer(p).storeBytes(of: v.lowHalf, as: H.self)
        j = H.scalarCount
    }
    while j < n { p[j] = v[j]; j += 1 }
}

// Width-generic forms, specialized for V and H inside this module. The
// arithmetic goes through `KernelVector` because generic code only sees the
// generic SIMD operators (lane-by-lane loops); the conformances below are
// written on the concrete types, where the stdlib's vector builtins apply.
protocol KernelVector: SIMD where Scalar == Float {
    static func fmaK(_ acc: Self, _ a: Self, _ b: Self) -> Self
    static func clampK(_ v: Self, _ lo: Self, _ hi: Self) -> Self
}

extension SIMD2: KernelVector where Scalar == Float {
    @_transparent static func fmaK(_ acc: Self, _ a: Self, _ b: Self) -> Self { fmaOp(acc, a, b) }
    @_transparent static func clampK(_ v: Self, _ lo: Self, _ hi: Self) -> Self {
        var x = v; x.replace(with: lo, where: x .< lo); x.replace(with: hi, where: x .> hi); return x
    }
}
extension SIMD4: KernelVector where Scalar == Float {
    @_transparent static func fmaK(_ acc: Self, _ a: Self, _ b: Self) -> Self { fmaOp(acc, a, b) }
    @_transparent static func clampK(_ v: Self, _ lo: Self, _ hi: Self) -> Self {
        var x = v; x.replace(with: lo, where: x .< lo); x.replace(with: hi, where: x .> hi); return x
    }
}
extension SIMD8: KernelVector where Scalar == Float {
    @_transparent static func fmaK(_ acc: Self, _ a: Self, _ b: Self) -> Self { fmaOp(acc, a, b) }
    @_transparent static func clampK(_ v: Self, _ lo: Self, _ hi: Self) -> Self {
        var x = v; x.replace(with: lo, where: x .< lo); x.replace(with: hi, where: x .> hi); return x
    }
}
extension SIMD16: KernelVector where Scalar == Float {
    @_transparent static func fmaK(_ acc: Self, _ a: Self, _ b: Self) -> Self { fmaOp(acc, a, b) }
    @_transparent static func clampK(_ v: Self, _ lo: Self, _ hi: Self) -> Self {
        var x = v; x.replace(with: lo, where: x .< lo); x.replace(with: hi, where: x .> hi); return x
    }
}

@_transparent
func fmaOp(_ acc: SIMD2<Float>, _ a: SIMD2<Float>, _ b: SIMD2<Float>) -> SIMD2<Float> {
#if VSEG_AVX512 || VSEG_AVX2
    return acc.addingProduct(a, b)
#else
    return acc + a * b
#endif
}
@_transparent
func fmaOp(_ acc: SIMD4<Float>, _ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
#if VSEG_AVX512 || VSEG_AVX2
    return acc.addingProduct(a, b)
#else
    return acc + a * b
#endif
}
@_transparent
func fmaOp(_ acc: SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
#if VSEG_AVX512 || VSEG_AVX2
    return acc.addingProduct(a, b)
#else
    return acc + a * b
#endif
}
@_transparent
func fmaOp(_ acc: SIMD16<Float>, _ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
#if VSEG_AVX512 || VSEG_AVX2
    return acc.addingProduct(a, b)
#else
    return acc + a * b
#endif
}

@_transparent
func fmaG<W: KernelVector>(_ acc: W, _ a: W, _ b: W) -> W { W.fmaK(acc, a, b) }

@_transparent
func loadG<W: SIMD>(_ p: UnsafePointer<Float>, as: W.Type) -> W where W.Scalar == Float {
    UnsafeRawPointer(p).loadUnaligned(as: W.self)
}

@_transparent
func storeG<W: SIMD>(_ v: W, _ p: UnsafeMutablePointer<Float>) where W.Scalar == Float {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: W.self)
}

@_transparent
func clampG<W: KernelVector>(_ v: W, _ lo: W, _ hi: W) -> W { W.clampK(v, lo, hi) }

@_transparent
func clampV(_ v: V, _ lo: V, _ hi: V) -> V {
    // The mutating `replace` form lowers to vmaxps/vminps; the non-mutating
    // `replacing` did not.
    var x = v
    x.replace(with: lo, where: x .< lo)
    x.replace(with: hi, where: x .> hi)
    return x
}

@_transparent
func clampS(_ v: Float, _ lo: Float, _ hi: Float) -> Float {
    v < lo ? lo : (v > hi ? hi : v)
}

@inline(__always)
func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }

@inline(__always)
func roundUp(_ a: Int, _ b: Int) -> Int { ceilDiv(a, b) * b }

/// Contiguous share `part` of `0..<n` split into `parts` near-equal pieces.
@inline(__always)
func share(_ n: Int, parts: Int, part: Int) -> Range<Int> {
    (n * part / parts)..<(n * (part + 1) / parts)
}

/// Splits a grid of `mBlocks x nPanels` work units into exactly `tasks` cells.
/// Pixel blocks are split first; panels only when there are too few pixel
/// blocks to go round. Depends only on its arguments, so `taskCount` and `run`
/// agree on it.
func gridSplit(mBlocks: Int, nPanels: Int, tasks: Int, task: Int) -> (m: Range<Int>, n: Range<Int>) {
    var tN = 1
    if mBlocks < 4 * tasks && nPanels > 1 {
        // Largest divisor of `tasks` not above what the panels can absorb.
        let want = min(nPanels, ceilDiv(4 * tasks, max(mBlocks, 1)))
        for d in stride(from: min(want, tasks), through: 1, by: -1) where tasks % d == 0 { tN = d; break }
    }
    let tM = tasks / tN
    return (share(mBlocks, parts: tM, part: task / tN), share(nPanels, parts: tN, part: task % tN))
}

/// Tasks for a grid of work units on `threads` threads: one per thread, fewer
/// when the grid is tiny.
func gridTaskCount(mBlocks: Int, nPanels: Int, threads: Int) -> Int {
    max(1, min(threads, mBlocks * nPanels))
}

/// Pointer-aligned start of the scratch area (scratch is a Float buffer).
@inline(__always)
func pointerArea(_ scratch: UnsafeMutablePointer<Float>, count: Int)
    -> (ptrs: UnsafeMutablePointer<UnsafePointer<Float>>, rest: UnsafeMutablePointer<Float>) {
    let raw = UnsafeMutableRawPointer(scratch).alignedUp(for: UnsafePointer<Float>.self)
    let ptrs = raw.bindMemory(to: UnsafePointer<Float>.self, capacity: count)
    let end = raw + count * MemoryLayout<UnsafePointer<Float>>.stride
    return (ptrs, end.bindMemory(to: Float.self, capacity: 1))
}

/// Floats of scratch that hold `count` pointers plus alignment slack.
@inline(__always)
func pointerAreaFloats(_ count: Int) -> Int {
    count * MemoryLayout<UnsafePointer<Float>>.stride / MemoryLayout<Float>.stride + 2
}
