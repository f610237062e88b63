// Shared kernel source (see KernelSIMD.swift): compiled once per ISA.

/// Indirect GEMM microkernel: `MR` output pixels x `NR` output channels.
///
/// - `a`: `taps * MR` row pointers, tap-major; row pointer `a[t * MR + i]` is the
///   `kc` input channels that pixel `i` reads for tap `t` (a zero row for padding).
///   Rows `mr..<MR` must still point at readable rows (callers repeat a valid one).
///   `aOffset` is added to every row pointer (the input channels of a group).
/// - `w`: one packed panel: `NR` biases, then `taps * kc * NR` weights.
/// - `c`: `MR` output row pointers; `NR` channels are written at `c[i] + cOffset`,
///   only the first `nr` of them and only for rows `< mr`.
@inline(never)
func gemmMicrokernel(mr: Int, nr: Int, taps: Int, kc: Int,
                     a: UnsafePointer<UnsafePointer<Float>>, aOffset: Int, w: UnsafePointer<Float>,
                     c: UnsafePointer<UnsafeMutablePointer<Float>>, cOffset: Int,
                     lo: Float, hi: Float) {
    let b0 = load(w), b1 = load(w + VW)
    var c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1
    var c30 = b0, c31 = b1, c40 = b0, c41 = b1, c50 = b0, c51 = b1
#if VSEG_AVX512
    var c60 = b0, c61 = b1, c70 = b0, c71 = b1
#endif
    var wp = w + NR
    var ap = a
    for _ in 0..<taps {
        let a0 = ap[0] + aOffset, a1 = ap[1] + aOffset, a2 = ap[2] + aOffset
        let a3 = ap[3] + aOffset, a4 = ap[4] + aOffset, a5 = ap[5] + aOffset
#if VSEG_AVX512
        let a6 = ap[6] + aOffset, a7 = ap[7] + aOffset
#endif
        ap += MR
        var k = 0
        while k < kc {
            let w0 = load(wp), w1 = load(wp + VW)
            wp += NR
            var x = V(repeating: a0[k]); c00 = fma(c00, x, w0); c01 = fma(c01, x, w1)
            x = V(repeating: a1[k]); c10 = fma(c10, x, w0); c11 = fma(c11, x, w1)
            x = V(repeating: a2[k]); c20 = fma(c20, x, w0); c21 = fma(c21, x, w1)
            x = V(repeating: a3[k]); c30 = fma(c30, x, w0); c31 = fma(c31, x, w1)
            x = V(repeating: a4[k]); c40 = fma(c40, x, w0); c41 = fma(c41, x, w1)
            x = V(repeating: a5[k]); c50 = fma(c50, x, w0); c51 = fma(c51, x, w1)
#if VSEG_AVX512
            x = V(repeating: a6[k]); c60 = fma(c60, x, w0); c61 = fma(c61, x, w1)
            x = V(repeating: a7[k]); c70 = fma(c70, x, w0); c71 = fma(c71, x, w1)
#endif
            k &+= 1
        }
    }
    let vlo = V(repeating: lo), vhi = V(repeating: hi)
    storeTileRow(c[0] + cOffset, c00, c01, nr, vlo, vhi)
    if mr > 1 { storeTileRow(c[1] + cOffset, c10, c11, nr, vlo, vhi) }
    if mr > 2 { storeTileRow(c[2] + cOffset, c20, c21, nr, vlo, vhi) }
    if mr > 3 { storeTileRow(c[3] + cOffset, c30, c31, nr, vlo, vhi) }
    if mr > 4 { storeTileRow(c[4] + cOffset, c40, c41, nr, vlo, vhi) }
    if mr > 5 { storeTileRow(c[5] + cOffset, c50, c51, nr, vlo, vhi) }
#if VSEG_AVX512
    if mr > 6 { storeTileRow(c[6] + cOffset, c60, c61, nr, vlo, vhi) }
    if mr > 7 { storeTileRow(c[7] + cOffset, c70, c71, nr, vlo, vhi) }
#endif
}

/// `gemmMicrokernel` for a last panel of at most one vector of channels
/// (`nr <= VW`): half the FMAs, same packed layout (panel stride `NR`).
@inline(never)
func gemmMicrokernel1(mr: Int, nr: Int, taps: Int, kc: Int,
                      a: UnsafePointer<UnsafePointer<Float>>, aOffset: Int, w: UnsafePointer<Float>,
                      c: UnsafePointer<UnsafeMutablePointer<Float>>, cOffset: Int,
                      lo: Float, hi: Float) {
    let b0 = load(w)
    var c0 = b0, c1 = b0, c2 = b0, c3 = b0, c4 = b0, c5 = b0
#if VSEG_AVX512
    var c6 = b0, c7 = b0
#endif
    var wp = w + NR
    var ap = a
    for _ in 0..<taps {
        let a0 = ap[0] + aOffset, a1 = ap[1] + aOffset, a2 = ap[2] + aOffset
        let a3 = ap[3] + aOffset, a4 = ap[4] + aOffset, a5 = ap[5] + aOffset
#if VSEG_AVX512
        let a6 = ap[6] + aOffset, a7 = ap[7] + aOffset
#endif
        ap += MR
        var k = 0
        while k < kc {
            let w0 = load(wp)
            wp += NR
            c0 = fma(c0, V(repeating: a0[k]), w0)
            c1 = fma(c1, V(repeating: a1[k]), w0)
            c2 = fma(c2, V(repeating: a2[k]), w0)
            c3 = fma(c3, V(repeating: a3[k]), w0)
            c4 = fma(c4, V(repeating: a4[k]), w0)
            c5 = fma(c5, V(repeating: a5[k]), w0)
#if VSEG_AVX512
            c6 = fma(c6, V(repeating: a6[k]), w0)
            c7 = fma(c7, V(repeating: a7[k]), w0)
#endif
            k &+= 1
        }
    }
    let vlo = V(repeating: lo), vhi = V(repeating: hi)
    storeRow1(c[0] + cOffset, c0, nr, vlo, vhi)
    if mr > 1 { storeRow1(c[1] + cOffset, c1, nr, vlo, vhi) }
    if mr > 2 { storeRow1(c[2] + cOffset, c2, nr, vlo, vhi) }
    if mr > 3 { storeRow1(c[3] + cOffset, c3, nr, vlo, vhi) }
    if mr > 4 { storeRow1(c[4] + cOffset, c4, nr, vlo, vhi) }
    if mr > 5 { storeRow1(c[5] + cOffset, c5, nr, vlo, vhi) }
#if VSEG_AVX512
    if mr > 6 { storeRow1(c[6] + cOffset, c6, nr, vlo, vhi) }
    if mr > 7 { storeRow1(c[7] + cOffset, c7, nr, vlo, vhi) }
#endif
}

@_transparent
func storeRow1(_ p: UnsafeMutablePointer<Float>, _ v: V, _ nr: Int, _ lo: V, _ hi: V) {
    let x = clampV(v, lo, hi)
    if nr == VW { store(x, p) } else { storePartial(x, p, nr) }
}

@_transparent
func storeTileRow(_ p: UnsafeMutablePointer<Float>, _ v0: V, _ v1: V, _ nr: Int, _ lo: V, _ hi: V) {
    let x0 = clampV(v0, lo, hi), x1 = clampV(v1, lo, hi)
    if nr == NR {
        store(x0, p); store(x1, p + VW)
    } else if nr > VW {
        store(x0, p); storePartial(x1, p + VW, nr - VW)
    } else {
        storePartial(x0, p, nr)
    }
}

/// Output channels per packed panel: `NR`, except a single-channel conv (mask
/// heads, one-class logits), which is packed as one contiguous dot-product row.
@inline(__always)
func panelWidth(_ n: Int) -> Int { n == 1 ? 1 : NR }

@inline(__always)
func panelFloats(n: Int, taps: Int, kc: Int) -> Int { panelWidth(n) * (1 + taps * kc) }

/// Packs GEMM panels: for each group of `panelWidth(n)` output channels, the
/// biases then `taps * kc` rows of weights; `weight(o, t, k)` gives the source
/// value. Channels past `n` are zero.
@inline(__always)
func packPanels(n: Int, taps: Int, kc: Int, bias: UnsafePointer<Float>?, into dst: UnsafeMutablePointer<Float>,
                weight: (_ o: Int, _ t: Int, _ k: Int) -> Float) {
    let width = panelWidth(n)
    let size = panelFloats(n: n, taps: taps, kc: kc)
    for panel in 0..<ceilDiv(n, width) {
        let base = dst + panel * size
        for j in 0..<width {
            let o = panel * width + j
            base[j] = (o < n) ? (bias?[o] ?? 0) : 0
            for t in 0..<taps {
                for k in 0..<kc {
                    base[width + (t * kc + k) * width + j] = (o < n) ? weight(o, t, k) : 0
                }
            }
        }
    }
}

/// Single output channel: per pixel a dot product of its tap rows with the
/// packed weight row (`w`: bias, then `taps * kc` weights), vectorized along
/// the input channels. Four pixels at a time, so that four independent FMA
/// chains hide the FMA latency when `kc` is small. Same `a`/`c` conventions as
/// `gemmMicrokernel`.
@inline(never)
func dotKernel(mr: Int, taps: Int, kc: Int, a: UnsafePointer<UnsafePointer<Float>>, aOffset: Int, w: UnsafePointer<Float>,
               c: UnsafePointer<UnsafeMutablePointer<Float>>, cOffset: Int, lo: Float, hi: Float) {
    let kv = kc / VW * VW
    let kh = kc - kv >= H.scalarCount ? kv + H.scalarCount : kv
    let bias = w[0]
    var i = 0
    while i + 4 <= mr {
        var v0 = V(repeating: 0), v1 = v0, v2 = v0, v3 = v0
        var h0 = H(repeating: 0), h1 = h0, h2 = h0, h3 = h0
        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
        var wt = w + 1
        for t in 0..<taps {
            let p0 = a[t * MR + i] + aOffset, p1 = a[t * MR + i + 1] + aOffset
            let p2 = a[t * MR + i + 2] + aOffset, p3 = a[t * MR + i + 3] + aOffset
            var k = 0
            while k < kv {
                let wv = load(wt + k)
                v0 = fma(v0, load(p0 + k), wv); v1 = fma(v1, load(p1 + k), wv)
                v2 = fma(v2, load(p2 + k), wv); v3 = fma(v3, load(p3 + k), wv)
                k &+= VW
            }
            if k < kh {
                let wv: H = loadG(wt + k, as: H.self)
                h0 = fmaG(h0, loadG(p0 + k, as: H.self), wv); h1 = fmaG(h1, loadG(p1 + k, as: H.self), wv)
                h2 = fmaG(h2, loadG(p2 + k, as: H.self), wv); h3 = fmaG(h3, loadG(p3 + k, as: H.self), wv)
                k &+= H.scalarCount
            }
            while k < kc {
                let ws = wt[k]
                s0 = fma(s0, p0[k], ws); s1 = fma(s1, p1[k], ws); s2 = fma(s2, p2[k], ws); s3 = fma(s3, p3[k], ws)
                k &+= 1
            }
            wt += kc
        }
        v0.lowHalf += h0; v1.lowHalf += h1; v2.lowHalf += h2; v3.lowHalf += h3
        c[i][cOffset] = clampS(bias + (horizontalSum(v0) + s0), lo, hi)
        c[i + 1][cOffset] = clampS(bias + (horizontalSum(v1) + s1), lo, hi)
        c[i + 2][cOffset] = clampS(bias + (horizontalSum(v2) + s2), lo, hi)
        c[i + 3][cOffset] = clampS(bias + (horizontalSum(v3) + s3), lo, hi)
        i += 4
    }
    while i < mr {
        var v0 = V(repeating: 0)
        var h0 = H(repeating: 0)
        var s0: Float = 0
        var wt = w + 1
        for t in 0..<taps {
            let p0 = a[t * MR + i] + aOffset
            var k = 0
            while k < kv { v0 = fma(v0, load(p0 + k), load(wt + k)); k &+= VW }
            if k < kh { h0 = fmaG(h0, loadG(p0 + k, as: H.self), loadG(wt + k, as: H.self)); k &+= H.scalarCount }
            while k < kc { s0 = fma(s0, p0[k], wt[k]); k &+= 1 }
            wt += kc
        }
        v0.lowHalf += h0
        c[i][cOffset] = clampS(bias + (horizontalSum(v0) + s0), lo, hi)
        i += 1
    }
}

@_transparent
func horizontalSum(_ v: V) -> Float {
#if VSEG_AVX512
    let v8 = v.lowHalf + v.highHalf
    let v4 = v8.lowHalf + v8.highHalf
#elseif VSEG_AVX2
    let v4 = v.lowHalf + v.highHalf
#else
    let v4 = v
#endif
    let v2 = v4.lowHalf + v4.highHalf
    return v2[0] + v2[1]
}

/// Public entry for benchmarks: one pass of the microkernel over a plain GEMM
/// `C[m x n] = A[m x k] * B + bias` with B packed by `ISAConv.packGemm`.
public enum ISAGemm {
    public static var tile: (mr: Int, nr: Int) { (MR, NR) }

    public static func packedFloats(n: Int, k: Int) -> Int { ceilDiv(n, panelWidth(n)) * panelFloats(n: n, taps: 1, kc: k) }

    /// `b`: `[k, n]` row-major.
    public static func pack(n: Int, k: Int, b: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                            into dst: UnsafeMutablePointer<Float>) {
        packPanels(n: n, taps: 1, kc: k, bias: bias, into: dst) { o, _, kk in b[kk * n + o] }
    }

    /// Floats of scratch `gemm` needs.
    public static func scratchFloats() -> Int { pointerAreaFloats(2 * MR) }

    /// `a`: `[m, k]` row-major, `c`: `[m, n]` row-major.
    public static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, packed: UnsafePointer<Float>,
                            c: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let (area, _) = pointerArea(scratch, count: 2 * MR)
        let cRows = UnsafeMutableRawPointer(area + MR).bindMemory(to: UnsafeMutablePointer<Float>.self, capacity: MR)
        let size = panelFloats(n: n, taps: 1, kc: k)
        var m0 = 0
        while m0 < m {
            let mr = min(MR, m - m0)
            for i in 0..<MR {
                let row = m0 + min(i, mr - 1)
                area[i] = a + row * k
                cRows[i] = c + row * n
            }
            if n == 1 {
                dotKernel(mr: mr, taps: 1, kc: k, a: area, aOffset: 0, w: packed, c: cRows, cOffset: 0, lo: -.infinity, hi: .infinity)
            }
            var n0 = 0, panel = 0
            while n0 < n && n > 1 {
                gemmMicrokernel(mr: mr, nr: min(NR, n - n0), taps: 1, kc: k, a: area, aOffset: 0,
                                w: packed + panel * size, c: cRows, cOffset: n0,
                                lo: -.infinity, hi: .infinity)
                n0 += NR; panel += 1
            }
            m0 += MR
        }
    }
}
