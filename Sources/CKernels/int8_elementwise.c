/* INT8 elementwise kernels (see ckernels_int8_ew.h). The loops are written once
 * as always-inline plain C and stamped out three times: portable (baseline
 * x86-64 / any target), an AVX2 clone and an AVX-512 clone, each through a
 * per-function target attribute, so the file needs no -m flags. The table
 * lookup has an AVX-512 VBMI form (vpermi2b) when the CPU has it.
 *
 * Bit-exactness with the Swift twins: every float operation below is the
 * twin's, in the same order, each correctly rounded. Contraction into FMA is
 * off for the whole file (the AVX2/AVX-512 clones have FMA available), and
 * nothing here is built with -ffast-math. Rounding uses the 1.5 * 2^23 magic
 * number exactly like Int8Requant: |y| <= 255 after the clamp, so the low
 * mantissa bits of y + magic are round_half_even(y). */
#pragma clang fp contract(off)
#pragma STDC FP_CONTRACT OFF

#include "ckernels_int8.h"
#include "ckernels_int8_ew.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define EW_INLINE static inline __attribute__((always_inline))
#define MAGIC 12582912.0f
#define MAGIC_BITS 0x4B400000

/* ---- ISA choice ------------------------------------------------------------ */

enum { EW_PORTABLE = 0, EW_AVX2 = 1, EW_AVX512 = 2 };

static int ew_level(int isa) {
#if defined(__x86_64__)
    /* avx512vnni support implies avx512f/bw/vl/dq (cpu_features.c) */
    if (isa == VSEG_Q8_ISA_AVX512VNNI && vseg_q8_isa_supported(isa)) return EW_AVX512;
    if ((isa == VSEG_Q8_ISA_AVX2 || isa == VSEG_Q8_ISA_AVXVNNI) && vseg_q8_isa_supported(isa)) return EW_AVX2;
#else
    (void)isa;
#endif
    return EW_PORTABLE;
}

/* ---- requantization ---------------------------------------------------------- */

/* Int8Requant.scalar: clamp (as selects, which keep a NaN like Swift.max/min do),
 * magic number rounding, zero point added to the integer bits, low byte kept. */
EW_INLINE uint8_t requant(float y, float lo, float hi, int32_t bias) {
    y = y < lo ? lo : y;
    y = y > hi ? hi : y;
    union { float f; int32_t i; } u;
    u.f = y + MAGIC;
    return (uint8_t)(u.i - bias); /* bias = MAGIC_BITS - zero_point */
}

/* BinaryOp.scalar of Binary.swift. Max differs from Swift.max (y >= x ? y : x)
 * only in which zero of +-0 it returns, and both zeros round to the same byte. */
EW_INLINE float binary_op(const int op, float x, float y) {
    switch (op) {
    case VSEG_Q8_BINARY_ADD: return x + y;
    case VSEG_Q8_BINARY_SUB: return x - y;
    case VSEG_Q8_BINARY_MUL: return x * y;
    case VSEG_Q8_BINARY_MAX: return y > x ? y : x;
    default: return y < x ? y : x;
    }
}

/* ---- binary ops ------------------------------------------------------------------ */

/* 16 lanes per step and no interleaving: rows are often one pixel's channels
 * (16...64), which a 64-element interleaved main loop would leave to the epilogue. */
#define EW_LOOP _Pragma("clang loop vectorize_width(16) interleave_count(1)")

/* One block; `op` and `bf` (B is float) are constants at every call site, so
 * each (op, operand form) pair becomes its own vectorized loop. */
EW_INLINE void binary_rows(const int op, const int bf, const vseg_q8_binary_params *p, size_t rows, size_t n,
                            const uint8_t *a, size_t a_row, size_t a_step, const void *bv, size_t b_row,
                            size_t b_step, uint8_t *y, size_t y_row) {
    const float za = p->za, ka = p->ka, zb = p->zb, kb = p->kb, lo = p->lo, hi = p->hi;
    const int32_t bias = MAGIC_BITS - p->zero_point;
    const uint8_t *bu = (const uint8_t *)bv;
    const float *bfl = (const float *)bv;
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *ar = a + r * a_row;
        uint8_t *yr = y + r * y_row;
        if (a_step && b_step) {
            if (bf) {
                const float *br = bfl + r * b_row;
                EW_LOOP for (size_t i = 0; i < n; i++)
                    yr[i] = requant(binary_op(op, ((float)ar[i] - za) * ka, br[i]), lo, hi, bias);
            } else {
                const uint8_t *br = bu + r * b_row;
                EW_LOOP for (size_t i = 0; i < n; i++)
                    yr[i] = requant(binary_op(op, ((float)ar[i] - za) * ka, ((float)br[i] - zb) * kb), lo, hi, bias);
            }
        } else if (a_step) {
            const float xb = bf ? bfl[r * b_row] : ((float)bu[r * b_row] - zb) * kb;
            EW_LOOP for (size_t i = 0; i < n; i++) yr[i] = requant(binary_op(op, ((float)ar[i] - za) * ka, xb), lo, hi, bias);
        } else {
            const float xa = ((float)ar[0] - za) * ka;
            if (!b_step) {
                const float xb = bf ? bfl[r * b_row] : ((float)bu[r * b_row] - zb) * kb;
                const uint8_t q = requant(binary_op(op, xa, xb), lo, hi, bias);
                for (size_t i = 0; i < n; i++) yr[i] = q;
            } else if (bf) {
                const float *br = bfl + r * b_row;
                EW_LOOP for (size_t i = 0; i < n; i++) yr[i] = requant(binary_op(op, xa, br[i]), lo, hi, bias);
            } else {
                const uint8_t *br = bu + r * b_row;
                EW_LOOP for (size_t i = 0; i < n; i++)
                    yr[i] = requant(binary_op(op, xa, ((float)br[i] - zb) * kb), lo, hi, bias);
            }
        }
    }
}

/* A uint8 B row shared by every row (the squeeze-excite gate: b_row == 0) is
 * converted once per block of columns, then the rows run the float-B loop on
 * the same values ((q - zb) * kb, computed as in the twin). */
#define EW_BCACHE 256
EW_INLINE void binary_block(const int op, const int bf, const vseg_q8_binary_params *p, size_t rows, size_t n,
                            const uint8_t *a, size_t a_row, size_t a_step, const void *bv, size_t b_row,
                            size_t b_step, uint8_t *y, size_t y_row) {
    if (bf || !b_step || b_row != 0 || rows < 2) {
        binary_rows(op, bf, p, rows, n, a, a_row, a_step, bv, b_row, b_step, y, y_row);
        return;
    }
    const uint8_t *bu = (const uint8_t *)bv;
    const float zb = p->zb, kb = p->kb;
    float cache[EW_BCACHE];
    for (size_t c0 = 0; c0 < n; c0 += EW_BCACHE) {
        const size_t cn = n - c0 < EW_BCACHE ? n - c0 : EW_BCACHE;
        for (size_t i = 0; i < cn; i++) cache[i] = ((float)bu[c0 + i] - zb) * kb;
        binary_rows(op, 1, p, rows, cn, a + c0 * a_step, a_row, a_step, cache, 0, 1, y + c0, y_row);
    }
}

#define EW_BINARY_ARGS                                                                                  \
    const vseg_q8_binary_params *p, size_t rows, size_t n, const uint8_t *a, size_t a_row, size_t a_step, \
        const void *b, size_t b_row, size_t b_step, uint8_t *y, size_t y_row
#define EW_BINARY_PASS p, rows, n, a, a_row, a_step, b, b_row, b_step, y, y_row

EW_INLINE void binary_dispatch(const int bf, EW_BINARY_ARGS) {
    switch (p->op) {
    case VSEG_Q8_BINARY_ADD: binary_block(VSEG_Q8_BINARY_ADD, bf, EW_BINARY_PASS); break;
    case VSEG_Q8_BINARY_SUB: binary_block(VSEG_Q8_BINARY_SUB, bf, EW_BINARY_PASS); break;
    case VSEG_Q8_BINARY_MUL: binary_block(VSEG_Q8_BINARY_MUL, bf, EW_BINARY_PASS); break;
    case VSEG_Q8_BINARY_MAX: binary_block(VSEG_Q8_BINARY_MAX, bf, EW_BINARY_PASS); break;
    default: binary_block(VSEG_Q8_BINARY_MIN, bf, EW_BINARY_PASS); break;
    }
}

/* ---- bilinear resize ------------------------------------------------------------------ */

EW_INLINE void resize_row(const uint8_t *r0, const uint8_t *r1, size_t ow, size_t c, const ptrdiff_t *x0,
                          const ptrdiff_t *x1, const float *wx, float fy, uint8_t *y) {
    const float gy = 1.0f - fy;
    for (size_t ox = 0; ox < ow; ox++) {
        const uint8_t *p00 = r0 + x0[ox], *p01 = r0 + x1[ox], *p10 = r1 + x0[ox], *p11 = r1 + x1[ox];
        const float fx = wx[ox], gx = 1.0f - fx;
        uint8_t *o = y + ox * c;
        /* one vector per 16 (or 8) channels: C is often 16...64, too short for an interleaved loop */
#pragma clang loop interleave_count(1)
        for (size_t ch = 0; ch < c; ch++) {
            const float top = (float)p00[ch] * gx + (float)p01[ch] * fx;
            const float bot = (float)p10[ch] * gx + (float)p11[ch] * fx;
            o[ch] = requant(top * gy + bot * fy, 0.0f, 255.0f, MAGIC_BITS);
        }
    }
}

/* ---- average pooling ---------------------------------------------------------------- */

/* Window sum for channels [c0, c0 + cn) of pixel (hs, ws), requantized; as
 * window_max, a constant cn keeps the sums in registers. */
EW_INLINE void window_mean(const int cn_const, const vseg_q8_pool_geometry *g, const uint8_t *image, int32_t hs,
                           int32_t ws, size_t c0, size_t cn, int32_t bias, float k, float lo, float hi,
                           int32_t bias_out, uint8_t *o) {
    const size_t C = (size_t)g->channels, n = cn_const ? (size_t)cn_const : cn;
    int32_t acc[16];
    for (size_t j = 0; j < n; j++) acc[j] = 0;
    for (int32_t ky = 0; ky < g->k_h; ky++) {
        const int32_t iy = hs + ky * g->dilation_h;
        if (iy < 0 || iy >= g->in_h) continue;
        for (int32_t kx = 0; kx < g->k_w; kx++) {
            const int32_t ix = ws + kx * g->dilation_w;
            if (ix < 0 || ix >= g->in_w) continue;
            const uint8_t *src = image + ((size_t)iy * (size_t)g->in_w + (size_t)ix) * C + c0;
            for (size_t j = 0; j < n; j++) acc[j] += src[j];
        }
    }
    for (size_t j = 0; j < n; j++) o[c0 + j] = requant((float)(acc[j] - bias) * k, lo, hi, bias_out);
}

EW_INLINE void avgpool_row(const vseg_q8_pool_geometry *g, const uint8_t *image, int32_t oy, int32_t div_h,
                           const int32_t *div_w, const float *mult, int32_t zp_in, float lo, float hi,
                           int32_t zero_point, uint8_t *y) {
    const size_t C = (size_t)g->channels;
    const int32_t hs = oy * g->stride_h - g->pad_top, bias_out = MAGIC_BITS - zero_point;
    int32_t valid_h = 0;
    for (int32_t ky = 0; ky < g->k_h; ky++) {
        const int32_t iy = hs + ky * g->dilation_h;
        valid_h += iy >= 0 && iy < g->in_h;
    }
    for (int32_t ox = 0; ox < g->out_w; ox++) {
        const int32_t ws = ox * g->stride_w - g->pad_left;
        int32_t valid_w = 0;
        for (int32_t kx = 0; kx < g->k_w; kx++) {
            const int32_t ix = ws + kx * g->dilation_w;
            valid_w += ix >= 0 && ix < g->in_w;
        }
        const int32_t d = div_h * div_w[ox], bias = valid_h * valid_w * zp_in;
        const float k = mult[d > 1 ? d : 1];
        uint8_t *o = y + (size_t)ox * C;
        size_t c0 = 0;
        for (; c0 + 16 <= C; c0 += 16) window_mean(16, g, image, hs, ws, c0, 16, bias, k, lo, hi, bias_out, o);
        if (c0 < C) window_mean(0, g, image, hs, ws, c0, C - c0, bias, k, lo, hi, bias_out, o);
    }
}

/* Max over one window for channels [c0, c0 + cn) of pixel (hs, ws). With cn a
 * constant (full chunks) the running max is a local array the compiler keeps in
 * a register; a max kept in the output would chain every tap through memory. */
EW_INLINE void window_max(const int cn_const, const vseg_q8_pool_geometry *g, const uint8_t *image, int32_t hs,
                          int32_t ws, size_t c0, size_t cn, uint8_t qmin, uint8_t qmax, uint8_t *o) {
    const size_t C = (size_t)g->channels, n = cn_const ? (size_t)cn_const : cn;
    uint8_t m[32];
    for (size_t j = 0; j < n; j++) m[j] = 0;
    for (int32_t ky = 0; ky < g->k_h; ky++) {
        const int32_t iy = hs + ky * g->dilation_h;
        if (iy < 0 || iy >= g->in_h) continue;
        for (int32_t kx = 0; kx < g->k_w; kx++) {
            const int32_t ix = ws + kx * g->dilation_w;
            if (ix < 0 || ix >= g->in_w) continue;
            const uint8_t *src = image + ((size_t)iy * (size_t)g->in_w + (size_t)ix) * C + c0;
            for (size_t j = 0; j < n; j++) m[j] = src[j] > m[j] ? src[j] : m[j];
        }
    }
    for (size_t j = 0; j < n; j++) {
        const uint8_t v = m[j] < qmin ? qmin : m[j];
        o[c0 + j] = v > qmax ? qmax : v;
    }
}

EW_INLINE void maxpool_row(const vseg_q8_pool_geometry *g, const uint8_t *image, int32_t oy, uint8_t qmin,
                           uint8_t qmax, uint8_t *y) {
    const size_t C = (size_t)g->channels;
    const int32_t hs = oy * g->stride_h - g->pad_top;
    for (int32_t ox = 0; ox < g->out_w; ox++) {
        const int32_t ws = ox * g->stride_w - g->pad_left;
        uint8_t *o = y + (size_t)ox * C;
        size_t c0 = 0;
        for (; c0 + 32 <= C; c0 += 32) window_max(32, g, image, hs, ws, c0, 32, qmin, qmax, o);
        if (c0 < C) window_max(0, g, image, hs, ws, c0, C - c0, qmin, qmax, o);
    }
}

/* ---- reduce mean ------------------------------------------------------------------------ */

EW_INLINE void sum_rows(const uint8_t *x, size_t rows, size_t inner, int32_t *acc) {
    for (size_t i = 0; i < inner; i++) acc[i] = 0;
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *s = x + r * inner;
        EW_LOOP for (size_t i = 0; i < inner; i++) acc[i] += s[i];
    }
}

EW_INLINE void requant_sums(const int32_t *acc, size_t n, int32_t bias, float k, float lo, float hi,
                            int32_t zero_point, uint8_t *y) {
    const int32_t bias_out = MAGIC_BITS - zero_point;
    EW_LOOP for (size_t i = 0; i < n; i++) y[i] = requant((float)(acc[i] - bias) * k, lo, hi, bias_out);
}

/* ---- table lookups ------------------------------------------------------------------------ */

EW_INLINE void lut_scalar(const uint8_t *t, const uint8_t *x, uint8_t *y, size_t n) {
    size_t i = 0;
    /* four independent loads per step, so the stores do not serialize them */
    for (; i + 4 <= n; i += 4) {
        const uint8_t a = t[x[i]], b = t[x[i + 1]], c = t[x[i + 2]], d = t[x[i + 3]];
        y[i] = a; y[i + 1] = b; y[i + 2] = c; y[i + 3] = d;
    }
    for (; i < n; i++) y[i] = t[x[i]];
}

EW_INLINE void concat_rows(void (*map)(const uint8_t *, const uint8_t *, uint8_t *, size_t), size_t rows,
                           size_t count, const uint8_t *const *srcs, const size_t *slabs,
                           const uint8_t *const *tables, uint8_t *y, size_t row_bytes) {
    for (size_t r = 0; r < rows; r++) {
        uint8_t *d = y + r * row_bytes;
        for (size_t k = 0; k < count; k++) {
            const uint8_t *s = srcs[k] + r * slabs[k];
            if (tables[k]) map(tables[k], s, d, slabs[k]);
            else memcpy(d, s, slabs[k]);
            d += slabs[k];
        }
    }
}

static void lut_portable(const uint8_t *t, const uint8_t *x, uint8_t *y, size_t n) { lut_scalar(t, x, y, n); }

/* ---- clones ------------------------------------------------------------------------------ */

#define EW_CLONES(suffix, attr)                                                                          \
    attr static void binary_u8_##suffix(EW_BINARY_ARGS) { binary_dispatch(0, EW_BINARY_PASS); }          \
    attr static void binary_f32_##suffix(EW_BINARY_ARGS) { binary_dispatch(1, EW_BINARY_PASS); }         \
    attr static void resize_##suffix(const uint8_t *r0, const uint8_t *r1, size_t ow, size_t c,           \
                                     const ptrdiff_t *x0, const ptrdiff_t *x1, const float *wx, float fy, \
                                     uint8_t *y) {                                                        \
        resize_row(r0, r1, ow, c, x0, x1, wx, fy, y);                                                     \
    }

#define EW_REQ_CLONE(suffix, attr)                                                                       \
    attr static void requant_sums_##suffix(const int32_t *acc, size_t n, int32_t bias, float k, float lo,  \
                                           float hi, int32_t zero_point, uint8_t *y) {                    \
        requant_sums(acc, n, bias, k, lo, hi, zero_point, y);                                             \
    }

#define EW_POOL_CLONE(suffix, attr)                                                                      \
    attr static void maxpool_##suffix(const vseg_q8_pool_geometry *g, const uint8_t *image, int32_t oy,  \
                                      uint8_t qmin, uint8_t qmax, uint8_t *y) {                           \
        maxpool_row(g, image, oy, qmin, qmax, y);                                                         \
    }                                                                                                     \
    attr static void sum_rows_##suffix(const uint8_t *x, size_t rows, size_t inner, int32_t *acc) {        \
        sum_rows(x, rows, inner, acc);                                                                    \
    }                                                                                                     \
    attr static void avgpool_##suffix(const vseg_q8_pool_geometry *g, const uint8_t *image, int32_t oy,  \
                                      int32_t div_h, const int32_t *div_w, const float *mult,             \
                                      int32_t zp_in, float lo, float hi, int32_t zero_point, uint8_t *y) { \
        avgpool_row(g, image, oy, div_h, div_w, mult, zp_in, lo, hi, zero_point, y);                      \
    }

EW_CLONES(portable, )
EW_REQ_CLONE(portable, )
EW_POOL_CLONE(portable, )
#if defined(__x86_64__)
#define T_AVX2 __attribute__((target("avx2")))
#define T_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define T_VBMI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vbmi")))
EW_CLONES(avx2, T_AVX2)
EW_REQ_CLONE(avx2, T_AVX2)
EW_REQ_CLONE(avx512, T_AVX512)
EW_POOL_CLONE(avx2, T_AVX2)
EW_CLONES(avx512, T_AVX512)

/* Max pooling with the window max of 64 channels in one register. */
T_AVX512 static void maxpool_avx512_reg(const vseg_q8_pool_geometry *g, const uint8_t *image, int32_t oy,
                                        uint8_t qmin, uint8_t qmax, uint8_t *y) {
    const int32_t C = g->channels, hs = oy * g->stride_h - g->pad_top;
    const size_t row_bytes = (size_t)g->in_w * (size_t)C;
    const __m512i lo = _mm512_set1_epi8((char)qmin), hi = _mm512_set1_epi8((char)qmax);
    for (int32_t ox = 0; ox < g->out_w; ox++) {
        const int32_t ws = ox * g->stride_w - g->pad_left;
        uint8_t *o = y + (size_t)ox * (size_t)C;
        for (int32_t c0 = 0; c0 < C; c0 += 64) {
            const __mmask64 m = C - c0 >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (C - c0)) - 1;
            __m512i acc = _mm512_setzero_si512();
            for (int32_t ky = 0; ky < g->k_h; ky++) {
                const int32_t iy = hs + ky * g->dilation_h;
                if (iy < 0 || iy >= g->in_h) continue;
                const uint8_t *row = image + (size_t)iy * row_bytes + c0;
                for (int32_t kx = 0; kx < g->k_w; kx++) {
                    const int32_t ix = ws + kx * g->dilation_w;
                    if (ix < 0 || ix >= g->in_w) continue;
                    acc = _mm512_max_epu8(acc, _mm512_maskz_loadu_epi8(m, row + (size_t)ix * (size_t)C));
                }
            }
            _mm512_mask_storeu_epi8(o + c0, m, _mm512_min_epu8(_mm512_max_epu8(acc, lo), hi));
        }
    }
}

/* The c bytes of each of 16 / c pixels at base + off[i], one after the other (c = 1, 2, 4, 8). */
T_AVX512 static inline __m128i resize_pixels(const int c, const uint8_t *base, const ptrdiff_t *off) {
    if (c == 8) {
        uint64_t a, b;
        memcpy(&a, base + off[0], 8); memcpy(&b, base + off[1], 8);
        return _mm_set_epi64x((long long)b, (long long)a);
    }
    if (c == 4) {
        uint32_t v[4];
        for (int i = 0; i < 4; i++) memcpy(&v[i], base + off[i], 4);
        return _mm_set_epi32((int)v[3], (int)v[2], (int)v[1], (int)v[0]);
    }
    uint8_t v[16];
    for (int i = 0; i < 16 / c; i++) memcpy(v + i * c, base + off[i], (size_t)c);
    return _mm_loadu_si128((const __m128i *)v);
}

/* Bilinear row for c = 1, 2, 4 or 8 (resize_row's channel loop would run them
 * in scalar code): 16 / c output pixels per vector, lane l is pixel l / c,
 * channel l % c. Per lane the operations of resize_row, in its order. */
T_AVX512 static inline void resize_small_c(const int c, const uint8_t *r0, const uint8_t *r1, size_t ow,
                                           const ptrdiff_t *x0, const ptrdiff_t *x1, const float *wx, float fy,
                                           uint8_t *y) {
    const int px = 16 / c;
    const __m512 vfy = _mm512_set1_ps(fy), vgy = _mm512_set1_ps(1.0f - fy), one = _mm512_set1_ps(1.0f);
    const __m512 zero = _mm512_setzero_ps(), top255 = _mm512_set1_ps(255.0f), magic = _mm512_set1_ps(MAGIC);
    const __m512i bits = _mm512_set1_epi32(MAGIC_BITS);
    const int sh = c == 8 ? 3 : c == 4 ? 2 : c == 2 ? 1 : 0;
    const __m512i lane_px = _mm512_srli_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), sh);
    const __mmask16 wmask = (__mmask16)((1u << px) - 1);
    size_t ox = 0;
    for (; ox + (size_t)px <= ow; ox += (size_t)px) {
        const __m512 fx = _mm512_permutexvar_ps(lane_px, _mm512_maskz_loadu_ps(wmask, wx + ox));
        const __m512 gx = _mm512_sub_ps(one, fx);
        const __m512 q00 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(resize_pixels(c, r0, x0 + ox)));
        const __m512 q01 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(resize_pixels(c, r0, x1 + ox)));
        const __m512 q10 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(resize_pixels(c, r1, x0 + ox)));
        const __m512 q11 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(resize_pixels(c, r1, x1 + ox)));
        const __m512 top = _mm512_add_ps(_mm512_mul_ps(q00, gx), _mm512_mul_ps(q01, fx));
        const __m512 bot = _mm512_add_ps(_mm512_mul_ps(q10, gx), _mm512_mul_ps(q11, fx));
        __m512 v = _mm512_add_ps(_mm512_mul_ps(top, vgy), _mm512_mul_ps(bot, vfy));
        v = _mm512_min_ps(_mm512_max_ps(v, zero), top255);
        const __m512i q = _mm512_sub_epi32(_mm512_castps_si512(_mm512_add_ps(v, magic)), bits);
        _mm_storeu_si128((__m128i *)(y + ox * (size_t)c), _mm512_cvtepi32_epi8(q));
    }
    if (ox < ow) resize_row(r0, r1, ow - ox, (size_t)c, x0 + ox, x1 + ox, wx + ox, fy, y + ox * (size_t)c);
}

T_AVX512 static void resize_small_avx512(const uint8_t *r0, const uint8_t *r1, size_t ow, size_t c,
                                         const ptrdiff_t *x0, const ptrdiff_t *x1, const float *wx, float fy,
                                         uint8_t *y) {
    switch (c) {
    case 1: resize_small_c(1, r0, r1, ow, x0, x1, wx, fy, y); break;
    case 2: resize_small_c(2, r0, r1, ow, x0, x1, wx, fy, y); break;
    case 4: resize_small_c(4, r0, r1, ow, x0, x1, wx, fy, y); break;
    default: resize_small_c(8, r0, r1, ow, x0, x1, wx, fy, y); break;
    }
}

/* Column sums with 16 columns per register, summed down all rows (one store per column). */
T_AVX512 static void sum_rows_avx512(const uint8_t *x, size_t rows, size_t inner, int32_t *acc) {
    for (size_t i0 = 0; i0 < inner; i0 += 16) {
        const __mmask16 m = inner - i0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (inner - i0)) - 1);
        __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
        const uint8_t *s = x + i0;
        size_t r = 0;
        for (; r + 2 <= rows; r += 2, s += 2 * inner) {
            a0 = _mm512_add_epi32(a0, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, s)));
            a1 = _mm512_add_epi32(a1, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, s + inner)));
        }
        if (r < rows) a0 = _mm512_add_epi32(a0, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, s)));
        _mm512_mask_storeu_epi32(acc + i0, m, _mm512_add_epi32(a0, a1));
    }
}

/* Average pooling with the window sum of 16 channels held in one register and
 * masked loads for the channel tail. Same integer sum, same
 * (float)(acc - bias) * k and requantization as avgpool_row. */
T_AVX512 static void avgpool_avx512_sum(const vseg_q8_pool_geometry *g, const uint8_t *image, int32_t oy,
                                        int32_t div_h, const int32_t *div_w, const float *mult, int32_t zp_in,
                                        float lo, float hi, int32_t zero_point, uint8_t *y) {
    const int32_t C = g->channels, hs = oy * g->stride_h - g->pad_top;
    const size_t row_bytes = (size_t)g->in_w * (size_t)C;
    int32_t valid_h = 0;
    for (int32_t ky = 0; ky < g->k_h; ky++) {
        const int32_t iy = hs + ky * g->dilation_h;
        valid_h += iy >= 0 && iy < g->in_h;
    }
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi), magic = _mm512_set1_ps(MAGIC);
    const __m512i bias_out = _mm512_set1_epi32(MAGIC_BITS - zero_point);
    for (int32_t ox = 0; ox < g->out_w; ox++) {
        const int32_t ws = ox * g->stride_w - g->pad_left;
        int32_t valid_w = 0;
        for (int32_t kx = 0; kx < g->k_w; kx++) {
            const int32_t ix = ws + kx * g->dilation_w;
            valid_w += ix >= 0 && ix < g->in_w;
        }
        const int32_t d = div_h * div_w[ox];
        const __m512 k = _mm512_set1_ps(mult[d > 1 ? d : 1]);
        const __m512i bias = _mm512_set1_epi32(valid_h * valid_w * zp_in);
        uint8_t *o = y + (size_t)ox * (size_t)C;
        for (int32_t c0 = 0; c0 < C; c0 += 16) {
            const __mmask16 m = C - c0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (C - c0)) - 1);
            __m512i acc = _mm512_setzero_si512();
            for (int32_t ky = 0; ky < g->k_h; ky++) {
                const int32_t iy = hs + ky * g->dilation_h;
                if (iy < 0 || iy >= g->in_h) continue;
                const uint8_t *row = image + (size_t)iy * row_bytes + c0;
                for (int32_t kx = 0; kx < g->k_w; kx++) {
                    const int32_t ix = ws + kx * g->dilation_w;
                    if (ix < 0 || ix >= g->in_w) continue;
                    acc = _mm512_add_epi32(acc, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, row + (size_t)ix * (size_t)C)));
                }
            }
            __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc, bias)), k);
            v = _mm512_min_ps(_mm512_max_ps(v, vlo), vhi);
            const __m512i q = _mm512_sub_epi32(_mm512_castps_si512(_mm512_add_ps(v, magic)), bias_out);
            _mm512_mask_cvtepi32_storeu_epi8(o + c0, m, q);
        }
    }
}

/* 256-entry lookup, 64 bytes per step: vpermi2b picks from 128 table bytes by
 * index bits 0...6 (bit 6 chooses the 64-byte half), once for each table half;
 * index bit 7 selects between the two results. */
T_VBMI static inline __m512i lut64(__m512i x, __m512i t0, __m512i t1, __m512i t2, __m512i t3) {
    const __m512i lo = _mm512_permutex2var_epi8(t0, x, t1), hi = _mm512_permutex2var_epi8(t2, x, t3);
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi);
}

T_VBMI static void lut_vbmi(const uint8_t *t, const uint8_t *x, uint8_t *y, size_t n) {
    const __m512i t0 = _mm512_loadu_si512(t), t1 = _mm512_loadu_si512(t + 64);
    const __m512i t2 = _mm512_loadu_si512(t + 128), t3 = _mm512_loadu_si512(t + 192);
    size_t i = 0;
    for (; i + 64 <= n; i += 64)
        _mm512_storeu_si512(y + i, lut64(_mm512_loadu_si512(x + i), t0, t1, t2, t3));
    if (i < n) {
        const __mmask64 m = ((__mmask64)1 << (n - i)) - 1; /* n - i < 64 */
        _mm512_mask_storeu_epi8(y + i, m, lut64(_mm512_maskz_loadu_epi8(m, x + i), t0, t1, t2, t3));
    }
}

/* Input-major, so each input's table stays in registers across the rows;
 * slabs up to 64 bytes are one masked load and store (a libc call per pixel
 * costs more than the bytes). */
T_VBMI static void concat_vbmi(size_t rows, size_t count, const uint8_t *const *srcs, const size_t *slabs,
                               const uint8_t *const *tables, uint8_t *y, size_t row_bytes) {
    size_t at = 0;
    for (size_t k = 0; k < count; k++) {
        const size_t n = slabs[k];
        const uint8_t *s = srcs[k], *t = tables[k];
        uint8_t *d = y + at;
        at += n;
        if (n > 64) {
            for (size_t r = 0; r < rows; r++) {
                if (t) lut_vbmi(t, s + r * n, d + r * row_bytes, n);
                else memcpy(d + r * row_bytes, s + r * n, n);
            }
            continue;
        }
        const __mmask64 m = n == 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
        if (t) {
            const __m512i t0 = _mm512_loadu_si512(t), t1 = _mm512_loadu_si512(t + 64);
            const __m512i t2 = _mm512_loadu_si512(t + 128), t3 = _mm512_loadu_si512(t + 192);
            for (size_t r = 0; r < rows; r++)
                _mm512_mask_storeu_epi8(d + r * row_bytes, m, lut64(_mm512_maskz_loadu_epi8(m, s + r * n), t0, t1, t2, t3));
        } else {
            for (size_t r = 0; r < rows; r++)
                _mm512_mask_storeu_epi8(d + r * row_bytes, m, _mm512_maskz_loadu_epi8(m, s + r * n));
        }
    }
}

static int has_vbmi(void) {
    static int cached = -1; /* benign race: every thread computes the same value */
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512vbmi") ? 1 : 0;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

#if defined(__x86_64__)
/* Rows of uint8 A against one B value per row: every output byte is a function
 * of the A byte, so the row's 256 outcomes are computed by the AVX-512 loop
 * itself (A = 0...255, same B) and the row becomes a vpermi2b lookup. */
#define EW_TABLE_MIN 1024
static const uint8_t iota256[256] = {
#define EW_I4(x) x, x + 1, x + 2, x + 3
#define EW_I16(x) EW_I4(x), EW_I4(x + 4), EW_I4(x + 8), EW_I4(x + 12)
#define EW_I64(x) EW_I16(x), EW_I16(x + 16), EW_I16(x + 32), EW_I16(x + 48)
    EW_I64(0), EW_I64(64), EW_I64(128), EW_I64(192)};

static int binary_by_table(int bf, EW_BINARY_ARGS) {
    if (a_step != 1 || b_step != 0 || n < EW_TABLE_MIN || !has_vbmi()) return 0;
    uint8_t table[256];
    for (size_t r = 0; r < rows; r++) {
        const void *br = bf ? (const void *)((const float *)b + r * b_row) : (const void *)((const uint8_t *)b + r * b_row);
        if (bf) binary_f32_avx512(p, 1, 256, iota256, 0, 1, br, 0, 0, table, 0);
        else binary_u8_avx512(p, 1, 256, iota256, 0, 1, br, 0, 0, table, 0);
        lut_vbmi(table, a + r * a_row, y + r * y_row, n);
    }
    return 1;
}
#endif

/* ---- entry points ---------------------------------------------------------------------------- */

void vseg_q8_binary_u8(int isa, const vseg_q8_binary_params *p, size_t rows, size_t n, const uint8_t *a,
                       size_t a_row, size_t a_step, const uint8_t *b, size_t b_row, size_t b_step, uint8_t *y,
                       size_t y_row) {
    switch (ew_level(isa)) {
#if defined(__x86_64__)
    case EW_AVX512:
        if (!binary_by_table(0, EW_BINARY_PASS)) binary_u8_avx512(EW_BINARY_PASS);
        return;
    case EW_AVX2: binary_u8_avx2(EW_BINARY_PASS); return;
#endif
    default: binary_u8_portable(EW_BINARY_PASS); return;
    }
}

void vseg_q8_binary_f32(int isa, const vseg_q8_binary_params *p, size_t rows, size_t n, const uint8_t *a,
                        size_t a_row, size_t a_step, const float *b, size_t b_row, size_t b_step, uint8_t *y,
                        size_t y_row) {
    switch (ew_level(isa)) {
#if defined(__x86_64__)
    case EW_AVX512:
        if (!binary_by_table(1, EW_BINARY_PASS)) binary_f32_avx512(EW_BINARY_PASS);
        return;
    case EW_AVX2: binary_f32_avx2(EW_BINARY_PASS); return;
#endif
    default: binary_f32_portable(EW_BINARY_PASS); return;
    }
}

void vseg_q8_resize_bilinear_row(int isa, const uint8_t *r0, const uint8_t *r1, size_t ow, size_t c,
                                 const ptrdiff_t *x0, const ptrdiff_t *x1, const float *wx, float fy, uint8_t *y) {
    switch (ew_level(isa)) {
#if defined(__x86_64__)
    case EW_AVX512:
        if (c == 1 || c == 2 || c == 4 || c == 8) resize_small_avx512(r0, r1, ow, c, x0, x1, wx, fy, y);
        else resize_avx512(r0, r1, ow, c, x0, x1, wx, fy, y);
        return;
    case EW_AVX2: resize_avx2(r0, r1, ow, c, x0, x1, wx, fy, y); return;
#endif
    default: resize_portable(r0, r1, ow, c, x0, x1, wx, fy, y); return;
    }
}

void vseg_q8_avgpool_row(int isa, const vseg_q8_pool_geometry *g, const uint8_t *image, int32_t oy, int32_t div_h,
                         const int32_t *div_w, const float *mult, int32_t zp_in, float lo, float hi, int32_t zero_point,
                         uint8_t *y) {
    switch (ew_level(isa)) {
#if defined(__x86_64__)
    case EW_AVX512: avgpool_avx512_sum(g, image, oy, div_h, div_w, mult, zp_in, lo, hi, zero_point, y); return;
    case EW_AVX2: avgpool_avx2(g, image, oy, div_h, div_w, mult, zp_in, lo, hi, zero_point, y); return;
#endif
    default: avgpool_portable(g, image, oy, div_h, div_w, mult, zp_in, lo, hi, zero_point, y); return;
    }
}

void vseg_q8_maxpool_row(int isa, const vseg_q8_pool_geometry *g, const uint8_t *image, int32_t oy, uint8_t qmin,
                         uint8_t qmax, uint8_t *y) {
    switch (ew_level(isa)) {
#if defined(__x86_64__)
    case EW_AVX512: maxpool_avx512_reg(g, image, oy, qmin, qmax, y); return;
    case EW_AVX2: maxpool_avx2(g, image, oy, qmin, qmax, y); return;
#endif
    default: maxpool_portable(g, image, oy, qmin, qmax, y); return;
    }
}

void vseg_q8_sum_rows(int isa, const uint8_t *x, size_t rows, size_t inner, int32_t *acc) {
    switch (ew_level(isa)) {
#if defined(__x86_64__)
    case EW_AVX512: sum_rows_avx512(x, rows, inner, acc); return;
    case EW_AVX2: sum_rows_avx2(x, rows, inner, acc); return;
#endif
    default: sum_rows_portable(x, rows, inner, acc); return;
    }
}

void vseg_q8_requant_sums(int isa, const int32_t *acc, size_t n, int32_t bias, float k, float lo, float hi,
                          int32_t zero_point, uint8_t *y) {
    switch (ew_level(isa)) {
#if defined(__x86_64__)
    case EW_AVX512: requant_sums_avx512(acc, n, bias, k, lo, hi, zero_point, y); return;
    case EW_AVX2: requant_sums_avx2(acc, n, bias, k, lo, hi, zero_point, y); return;
#endif
    default: requant_sums_portable(acc, n, bias, k, lo, hi, zero_point, y); return;
    }
}

void vseg_q8_lut(int isa, const uint8_t *table, const uint8_t *x, uint8_t *y, size_t n) {
#if defined(__x86_64__)
    if (ew_level(isa) == EW_AVX512 && has_vbmi()) { lut_vbmi(table, x, y, n); return; }
#endif
    (void)isa;
    lut_portable(table, x, y, n);
}

void vseg_q8_concat_rows(int isa, size_t rows, size_t count, const uint8_t *const *srcs, const size_t *slabs,
                         const uint8_t *const *tables, uint8_t *y, size_t row_bytes) {
#if defined(__x86_64__)
    if (ew_level(isa) == EW_AVX512 && has_vbmi()) {
        concat_vbmi(rows, count, srcs, slabs, tables, y, row_bytes);
        return;
    }
#endif
    (void)isa;
    concat_rows(lut_portable, rows, count, srcs, slabs, tables, y, row_bytes);
}
