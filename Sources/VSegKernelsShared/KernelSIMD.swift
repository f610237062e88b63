// Shared kernel source: this file is compiled into VSegKernelsAVX512,
// VSegKernelsAVX2 and VSegKernelsPortable (each target directory holds a
// symlink to it), once per ISA with that target's code-generation flags.
// Per-target defines pick the vector width, the tile and whether fused
// multiply-add exists:
//   VSEG_AVX512: SIMD16, 8 x 32 tile, FMA
//   VSEG_AVX2:   SIMD8,  6 x 16 tile, FMA
//   (none):      SIMD4,  6 x 8 tile, mul + add (on a CPU without FMA,
//                `addingProduct` becomes a libm `fmaf` call per lane)

#if VSEG_AVX512
@usableFromInline typealias V = SIMD16<Float>
#elseif VSEG_AVX2
@usableFromInline typealias V = SIMD8<Float>
#else
@usableFromInline typealias V = SIMD4<Float>
#endif

/// Lanes of one vector.
@usableFromInline let VW = V.scalarCount
/// Output channels per GEMM panel (two vectors).
@usableFromInline let NR = 2 * V.scalarCount
#if VSEG_AVX512
/// Output pixels per GEMM microkernel call.
@usableFromInline let MR = 8
#else
@usableFromInline let MR = 6
#endif

@_transparent @usableFromInline
func fma(_ acc: V, _ a: V, _ b: V) -> V {
#if VSEG_AVX512 || VSEG_AVX2
    return acc.addingProduct(a, b)
#else
    return acc + a * b
#endif
}

@_transparent @usableFromInline
func fma(_ acc: Float, _ a: Float, _ b: Float) -> Float {
#if VSEG_AVX512 || VSEG_AVX2
    return acc.addingProduct(a, b)
#else
    return acc + a * b
#endif
}

@_transparent @usableFromInline
func load(_ p: UnsafePointer<Float>) -> V {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
}

@_transparent @usableFromInline
func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
}

@inline(__always) @usableFromInline
func storePartial(_ v: V, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    for j in 0..<n { p[j] = v[j] }
}

@_transparent @usableFromInline
func clampV(_ v: V, _ lo: V, _ hi: V) -> V {
    // The mutating `replace` form lowers to vmaxps/vminps; the non-mutating
    // `replacing` did not.
    var x = v
    x.replace(with: lo, where: x .< lo)
    x.replace(with: hi, where: x .> hi)
    return x
}

@_transparent @usableFromInline
func clampS(_ v: Float, _ lo: Float, _ hi: Float) -> Float {
    v < lo ? lo : (v > hi ? hi : v)
}

@inline(__always) @usableFromInline
func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }

@inline(__always) @usableFromInline
func roundUp(_ a: Int, _ b: Int) -> Int { ceilDiv(a, b) * b }

/// Contiguous share `part` of `0..<n` split into `parts` near-equal pieces.
@inline(__always) @usableFromInline
func share(_ n: Int, parts: Int, part: Int) -> Range<Int> {
    (n * part / parts)..<(n * (part + 1) / parts)
}

/// Splits a grid of `mBlocks x nPanels` work units into exactly `tasks` cells.
/// Pixel blocks are split first; panels only when there are too few pixel
/// blocks to go round. Depends only on its arguments, so `taskCount` and `run`
/// agree on it.
@usableFromInline
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
@usableFromInline
func gridTaskCount(mBlocks: Int, nPanels: Int, threads: Int) -> Int {
    max(1, min(threads, mBlocks * nPanels))
}

/// Pointer-aligned start of the scratch area (scratch is a Float buffer).
@inline(__always) @usableFromInline
func pointerArea(_ scratch: UnsafeMutablePointer<Float>, count: Int)
    -> (ptrs: UnsafeMutablePointer<UnsafePointer<Float>>, rest: UnsafeMutablePointer<Float>) {
    let raw = UnsafeMutableRawPointer(scratch).alignedUp(for: UnsafePointer<Float>.self)
    let ptrs = raw.bindMemory(to: UnsafePointer<Float>.self, capacity: count)
    let end = raw + count * MemoryLayout<UnsafePointer<Float>>.stride
    return (ptrs, end.bindMemory(to: Float.self, capacity: 1))
}

/// Floats of scratch that hold `count` pointers plus alignment slack.
@inline(__always) @usableFromInline
func pointerAreaFloats(_ count: Int) -> Int {
    count * MemoryLayout<UnsafePointer<Float>>.stride / MemoryLayout<Float>.stride + 2
}
