/* x86 INT8 microkernels. Each function carries its own target attribute, so the
 * file compiles without -m flags and the binary runs on any x86-64; the
 * dispatcher in int8_dispatch.c calls a variant only when cpuid reports it.
 * All variants: uint8 activations x int8 weights, int32 accumulators, then the
 * fp32 requantization of QuantScheme.swift (RNE conversions, no FMA). */
#if defined(__x86_64__)
#include "ckernels_int8.h"
#include "int8_dw_rows.h"
#include <immintrin.h>
#include <string.h>

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define T512_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define TVNNI __attribute__((target("avx2,fma,avxvnni")))
#define TAVX2 __attribute__((target("avx2,fma")))

static inline uint32_t load4(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
/* 1..3 bytes of a row's end, zero-extended (no libc call: it would force the accumulators to memory) */
static inline uint32_t load_tail(const uint8_t *p, size_t n) {
    return (uint32_t)p[0] | (n > 1 ? (uint32_t)p[1] << 8 : 0) | (n > 2 ? (uint32_t)p[2] << 16 : 0);
}

/* Row pointers of one tap; rows past mr repeat the last valid row (computed, never stored). */
static inline void tap_rows(const uint8_t **a, size_t rows, size_t mr, size_t taps, size_t t,
                            const uint8_t *input, const int64_t *offs, size_t a_stride, const uint8_t *zero) {
    for (size_t i = 0; i < rows; i++) {
        size_t r = i < mr ? i : mr - 1;
        if (offs) {
            int64_t o = offs[r * taps + t];
            a[i] = o < 0 ? zero : input + o;
        } else {
            a[i] = input + r * a_stride;
        }
    }
}

/* ---- AVX-512 VNNI: 6 rows x up to 4 zmm (64 columns) --------------------- */

T512_INLINE void k512(const int nv, size_t mr, size_t nc, size_t taps, size_t kc, const uint8_t *input,
                      const int64_t *offs, size_t a_stride, const uint8_t *zero, const uint8_t *w, size_t pb,
                      uint8_t *c, size_t c_stride, const vseg_q8_output_params *p) {
    __m512i acc[6][4];
    const uint8_t *wk[4];
    for (int v = 0; v < nv; v++) {
        __m512i b = _mm512_loadu_si512(w + v * pb);
        for (int r = 0; r < 6; r++) acc[r][v] = b;
        wk[v] = w + v * pb + 192;
    }
    const size_t kc4 = kc & ~(size_t)3, rem = kc - kc4;
    for (size_t t = 0; t < taps; t++) {
        const uint8_t *a[6];
        tap_rows(a, 6, mr, taps, t, input, offs, a_stride, zero);
        for (size_t k = 0; k < kc4; k += 4) {
            __m512i wv[4];
            for (int v = 0; v < nv; v++) { wv[v] = _mm512_loadu_si512(wk[v]); wk[v] += 64; }
            for (int r = 0; r < 6; r++) {
                __m512i av = _mm512_set1_epi32((int)load4(a[r] + k));
                for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], av, wv[v]);
            }
        }
        if (rem) {
            __m512i wv[4];
            for (int v = 0; v < nv; v++) { wv[v] = _mm512_loadu_si512(wk[v]); wk[v] += 64; }
            for (int r = 0; r < 6; r++) {
                __m512i av = _mm512_set1_epi32((int)load_tail(a[r] + kc4, rem));
                for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], av, wv[v]);
            }
        }
    }
    if (p->float_out) {
        const __m512 flo = _mm512_set1_ps(p->fmin), fhi = _mm512_set1_ps(p->fmax);
        for (int v = 0; v < nv; v++) {
            const __m512 scale = _mm512_loadu_ps((const float *)(w + v * pb + 64));
            size_t cols = nc - (size_t)v * 16;
            const __mmask16 mask = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
            for (int r = 0; r < 6; r++) {
                if ((size_t)r >= mr) break;
                __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][v]), scale);
                y = _mm512_min_ps(_mm512_max_ps(y, flo), fhi);
                _mm512_mask_storeu_ps((float *)(c + r * c_stride) + v * 16, mask, y);
            }
        }
        return;
    }
    const __m512 lo = _mm512_set1_ps((float)(p->qmin - p->zero_point));
    const __m512 hi = _mm512_set1_ps((float)(p->qmax - p->zero_point));
    const __m512i zp = _mm512_set1_epi32(p->zero_point);
    for (int v = 0; v < nv; v++) {
        const __m512 scale = _mm512_loadu_ps((const float *)(w + v * pb + 64));
        size_t cols = nc - (size_t)v * 16;
        const __mmask16 mask = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
        for (int r = 0; r < 6; r++) {
            if ((size_t)r >= mr) break;
            __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][v]), scale);
            y = _mm512_min_ps(_mm512_max_ps(y, lo), hi);
            __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(y), zp);
            _mm_mask_storeu_epi8(c + r * c_stride + v * 16, mask, _mm512_cvtepi32_epi8(q));
        }
    }
}

T512 void vseg_q8_ukernel_avx512vnni(size_t mr, size_t nc, size_t taps, size_t kc, const uint8_t *input,
                                     const int64_t *offs, size_t a_stride, const uint8_t *zero,
                                     const uint8_t *w, size_t pb, uint8_t *c, size_t c_stride,
                                     const vseg_q8_output_params *p) {
    switch ((nc + 15) / 16) {
    case 4: k512(4, mr, nc, taps, kc, input, offs, a_stride, zero, w, pb, c, c_stride, p); break;
    case 3: k512(3, mr, nc, taps, kc, input, offs, a_stride, zero, w, pb, c, c_stride, p); break;
    case 2: k512(2, mr, nc, taps, kc, input, offs, a_stride, zero, w, pb, c, c_stride, p); break;
    default: k512(1, mr, nc, taps, kc, input, offs, a_stride, zero, w, pb, c, c_stride, p); break;
    }
}

/* Depthwise, 16 channels per zmm, 64 per step. Inputs zero-extended to int32
 * lanes ([a,0,0,0] bytes) against int32-packed weights: one vpdpbusd per 16
 * products (the weight's sign-extension bytes meet zeros). At most 64 taps. */
T512_INLINE __m512i dw512_requant(__m512i acc, const uint8_t *blk, __m512 lo, __m512 hi, __m512i zp) {
    __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps((const float *)(blk + 64)));
    y = _mm512_min_ps(_mm512_max_ps(y, lo), hi);
    return _mm512_add_epi32(_mm512_cvtps_epi32(y), zp);
}

T512 void vseg_q8_dw_avx512(const vseg_q8_dw_geometry *g, const uint8_t *input, const uint8_t *zero,
                            const uint8_t *packed, uint8_t *output, int32_t y_begin, int32_t y_end,
                            const vseg_q8_output_params *p) {
    const int32_t C = g->channels, taps = g->k_h * g->k_w;
    const size_t bb = 128 + (size_t)taps * 64;
    const __m512 lo = _mm512_set1_ps((float)(p->qmin - p->zero_point));
    const __m512 hi = _mm512_set1_ps((float)(p->qmax - p->zero_point));
    const __m512i zp = _mm512_set1_epi32(p->zero_point);
    const uint8_t *rows[64];
    ptrdiff_t toff[64];
    dw_tap_offsets(g, toff);
    for (int32_t oy = y_begin; oy < y_end; oy++)
        for (int32_t ox = 0; ox < g->out_w; ox++) {
            uint8_t *out = output + ((size_t)oy * g->out_w + ox) * C;
            dw_rows(g, oy, ox, input, zero, toff, rows);
            int32_t c0 = 0;
            for (; c0 + 64 <= C; c0 += 64) {
                const uint8_t *blk = packed + (size_t)(c0 / 16) * bb;
                __m512i acc[4];
                for (int v = 0; v < 4; v++) acc[v] = _mm512_loadu_si512(blk + v * bb);
                for (int32_t t = 0; t < taps; t++) {
                    const uint8_t *row = rows[t] + c0;
                    for (int v = 0; v < 4; v++) {
                        const __m512i a = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(row + v * 16)));
                        const __m512i w = _mm512_loadu_si512(blk + v * bb + 128 + t * 64);
                        acc[v] = _mm512_dpbusd_epi32(acc[v], a, w);
                    }
                }
                for (int v = 0; v < 4; v++)
                    _mm_storeu_si128((__m128i *)(out + c0 + v * 16),
                                     _mm512_cvtepi32_epi8(dw512_requant(acc[v], blk + v * bb, lo, hi, zp)));
            }
            for (; c0 < C; c0 += 16) {
                const uint8_t *blk = packed + (size_t)(c0 / 16) * bb;
                const int32_t cols = C - c0 < 16 ? C - c0 : 16;
                const __mmask16 mask = (__mmask16)((1u << cols) - 1);
                __m512i acc = _mm512_loadu_si512(blk);
                for (int32_t t = 0; t < taps; t++) {
                    const __m512i a = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, rows[t] + c0));
                    acc = _mm512_dpbusd_epi32(acc, a, _mm512_loadu_si512(blk + 128 + t * 64));
                }
                _mm_mask_storeu_epi8(out + c0, mask, _mm512_cvtepi32_epi8(dw512_requant(acc, blk, lo, hi, zp)));
            }
        }
}

/* Depthwise on AVX2, 8 channels per ymm: vpmaddwd of zero-extended u8 lanes and
 * int32 weights (exact: the high int16 halves of the inputs are 0). */
TAVX2 void vseg_q8_dw_avx2(const vseg_q8_dw_geometry *g, const uint8_t *input, const uint8_t *zero,
                           const uint8_t *packed, uint8_t *output, int32_t y_begin, int32_t y_end,
                           const vseg_q8_output_params *p) {
    const int32_t C = g->channels, taps = g->k_h * g->k_w;
    const size_t bb = 128 + (size_t)taps * 64;
    const __m256 lo = _mm256_set1_ps((float)(p->qmin - p->zero_point));
    const __m256 hi = _mm256_set1_ps((float)(p->qmax - p->zero_point));
    const __m256i zp = _mm256_set1_epi32(p->zero_point);
    const uint8_t *rows[64];
    ptrdiff_t toff[64];
    dw_tap_offsets(g, toff);
    for (int32_t oy = y_begin; oy < y_end; oy++)
        for (int32_t ox = 0; ox < g->out_w; ox++) {
            uint8_t *out = output + ((size_t)oy * g->out_w + ox) * C;
            dw_rows(g, oy, ox, input, zero, toff, rows);
            for (int32_t c0 = 0; c0 < C; c0 += 8) {
                const uint8_t *blk = packed + (size_t)(c0 / 16) * bb;
                const int half = (c0 / 8) % 2;
                const int32_t cols = C - c0 < 8 ? C - c0 : 8;
                __m256i acc = _mm256_loadu_si256((const __m256i *)(blk + half * 32));
                for (int32_t t = 0; t < taps; t++) {
                    __m128i bytes;
                    if (cols == 8) {
                        bytes = _mm_loadl_epi64((const __m128i *)(rows[t] + c0));
                    } else {
                        uint8_t tmp[8] = {0};
                        for (int32_t j = 0; j < cols; j++) tmp[j] = rows[t][c0 + j];
                        bytes = _mm_loadl_epi64((const __m128i *)tmp);
                    }
                    const __m256i w = _mm256_loadu_si256((const __m256i *)(blk + 128 + t * 64 + half * 32));
                    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_cvtepu8_epi32(bytes), w));
                }
                __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps((const float *)(blk + 64 + half * 32)));
                y = _mm256_min_ps(_mm256_max_ps(y, lo), hi);
                const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(y), zp);
                __m128i x = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
                x = _mm_packus_epi16(x, x);
                uint8_t tmp[16];
                _mm_storeu_si128((__m128i *)tmp, x);
                memcpy(out + c0, tmp, (size_t)cols);
            }
        }
}

/* ---- AVX-VNNI: 6 rows x 16 columns (2 ymm) ---------------------------------- */

TVNNI void vseg_q8_ukernel_avxvnni(size_t mr, size_t nc, size_t taps, size_t kc, const uint8_t *input,
                                   const int64_t *offs, size_t a_stride, const uint8_t *zero,
                                   const uint8_t *w, size_t pb, uint8_t *c, size_t c_stride,
                                   const vseg_q8_output_params *p) {
    (void)pb;
    __m256i acc[6][2];
    const __m256i b0 = _mm256_loadu_si256((const __m256i *)w), b1 = _mm256_loadu_si256((const __m256i *)(w + 32));
    for (int r = 0; r < 6; r++) { acc[r][0] = b0; acc[r][1] = b1; }
    const uint8_t *wk = w + 192;
    const size_t kc4 = kc & ~(size_t)3, rem = kc - kc4;
    for (size_t t = 0; t < taps; t++) {
        const uint8_t *a[6];
        tap_rows(a, 6, mr, taps, t, input, offs, a_stride, zero);
#define VNNI_STEP(LOAD)                                                                  \
    do {                                                                                 \
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)wk);                      \
        const __m256i w1 = _mm256_loadu_si256((const __m256i *)(wk + 32));               \
        wk += 64;                                                                        \
        for (int r = 0; r < 6; r++) {                                                    \
            const __m256i av = _mm256_set1_epi32((int)(LOAD));                           \
            acc[r][0] = _mm256_dpbusd_avx_epi32(acc[r][0], av, w0);                      \
            acc[r][1] = _mm256_dpbusd_avx_epi32(acc[r][1], av, w1);                      \
        }                                                                                \
    } while (0)
        for (size_t k = 0; k < kc4; k += 4) VNNI_STEP(load4(a[r] + k));
        if (rem) VNNI_STEP(load_tail(a[r] + kc4, rem));
#undef VNNI_STEP
    }
    const __m256 lo = _mm256_set1_ps((float)(p->qmin - p->zero_point));
    const __m256 hi = _mm256_set1_ps((float)(p->qmax - p->zero_point));
    const __m256i zp = _mm256_set1_epi32(p->zero_point);
    const __m256 s0 = _mm256_loadu_ps((const float *)(w + 64)), s1 = _mm256_loadu_ps((const float *)(w + 96));
    if (p->float_out) {
        const __m256 flo = _mm256_set1_ps(p->fmin), fhi = _mm256_set1_ps(p->fmax);
        for (size_t r = 0; r < mr; r++) {
            float tmp[16];
            for (int v = 0; v < 2; v++) {
                __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][v]), v ? s1 : s0);
                _mm256_storeu_ps(tmp + v * 8, _mm256_min_ps(_mm256_max_ps(y, flo), fhi));
            }
            memcpy(c + r * c_stride, tmp, nc * 4);
        }
        return;
    }
    for (size_t r = 0; r < mr; r++) {
        __m256i q[2];
        for (int v = 0; v < 2; v++) {
            __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][v]), v ? s1 : s0);
            y = _mm256_min_ps(_mm256_max_ps(y, lo), hi);
            q[v] = _mm256_add_epi32(_mm256_cvtps_epi32(y), zp);
        }
        /* 16 int32 in [0, 255] -> 16 bytes in order */
        __m128i h0 = _mm_packs_epi32(_mm256_castsi256_si128(q[0]), _mm256_extracti128_si256(q[0], 1));
        __m128i h1 = _mm_packs_epi32(_mm256_castsi256_si128(q[1]), _mm256_extracti128_si256(q[1], 1));
        __m128i bytes = _mm_packus_epi16(h0, h1);
        if (nc == 16) _mm_storeu_si128((__m128i *)(c + r * c_stride), bytes);
        else { uint8_t tmp[16]; _mm_storeu_si128((__m128i *)tmp, bytes); memcpy(c + r * c_stride, tmp, nc); }
    }
}

/* ---- AVX2: 6 rows x 8 columns per pass, two passes per 16-column panel ------
 * u8/s8 widened to int16 and multiplied with vpmaddwd (exact; vpmaddubsw would
 * saturate). Lane layout per accumulator: (column, k-pair) pairs, reduced with
 * vphaddd at the end. */
TAVX2 static void avx2_half(size_t mr, size_t taps, size_t kc, const uint8_t *input, const int64_t *offs,
                            size_t a_stride, const uint8_t *zero, const uint8_t *w, int half, __m256i out[6]) {
    __m256i acc[6][2];
    for (int r = 0; r < 6; r++) { acc[r][0] = _mm256_setzero_si256(); acc[r][1] = _mm256_setzero_si256(); }
    const uint8_t *wk = w + 192 + half * 32;
    const size_t kc4 = kc & ~(size_t)3, rem = kc - kc4;
    for (size_t t = 0; t < taps; t++) {
        const uint8_t *a[6];
        tap_rows(a, 6, mr, taps, t, input, offs, a_stride, zero);
#define AVX2_STEP(LOAD)                                                                  \
    do {                                                                                 \
        const __m256i wv0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)wk));  \
        const __m256i wv1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wk + 16))); \
        wk += 64;                                                                        \
        for (int r = 0; r < 6; r++) {                                                    \
            const __m256i av = _mm256_cvtepu8_epi16(_mm_set1_epi32((int)(LOAD)));        \
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, wv0));         \
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, wv1));         \
        }                                                                                \
    } while (0)
        for (size_t k = 0; k < kc4; k += 4) AVX2_STEP(load4(a[r] + k));
        if (rem) AVX2_STEP(load_tail(a[r] + kc4, rem));
#undef AVX2_STEP
    }
    const __m256i bias = _mm256_loadu_si256((const __m256i *)(w + half * 32));
    for (int r = 0; r < 6; r++) {
        __m256i h = _mm256_hadd_epi32(acc[r][0], acc[r][1]); /* [c0 c1 c4 c5 | c2 c3 c6 c7] */
        out[r] = _mm256_add_epi32(_mm256_permute4x64_epi64(h, 0xD8), bias);
    }
}

TAVX2 void vseg_q8_ukernel_avx2(size_t mr, size_t nc, size_t taps, size_t kc, const uint8_t *input,
                                const int64_t *offs, size_t a_stride, const uint8_t *zero, const uint8_t *w,
                                size_t pb, uint8_t *c, size_t c_stride, const vseg_q8_output_params *p) {
    (void)pb;
    const __m256 lo = _mm256_set1_ps((float)(p->qmin - p->zero_point));
    const __m256 hi = _mm256_set1_ps((float)(p->qmax - p->zero_point));
    const __m256i zp = _mm256_set1_epi32(p->zero_point);
    for (int half = 0; half < 2; half++) {
        if ((size_t)half * 8 >= nc) break;
        const size_t cols = nc - half * 8 < 8 ? nc - half * 8 : 8;
        __m256i acc[6];
        avx2_half(mr, taps, kc, input, offs, a_stride, zero, w, half, acc);
        const __m256 s = _mm256_loadu_ps((const float *)(w + 64 + half * 32));
        if (p->float_out) {
            const __m256 flo = _mm256_set1_ps(p->fmin), fhi = _mm256_set1_ps(p->fmax);
            for (size_t r = 0; r < mr; r++) {
                float tmp[8];
                __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r]), s);
                _mm256_storeu_ps(tmp, _mm256_min_ps(_mm256_max_ps(y, flo), fhi));
                memcpy(c + r * c_stride + half * 32, tmp, cols * 4);
            }
            continue;
        }
        for (size_t r = 0; r < mr; r++) {
            __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r]), s);
            y = _mm256_min_ps(_mm256_max_ps(y, lo), hi);
            const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(y), zp);
            __m128i x = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
            x = _mm_packus_epi16(x, x);
            uint8_t tmp[16];
            _mm_storeu_si128((__m128i *)tmp, x);
            memcpy(c + r * c_stride + half * 8, tmp, cols);
        }
    }
}
#endif
