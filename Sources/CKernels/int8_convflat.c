/* Row-flat dense conv for few output channels (see ckernels_int8.h).
 *
 * With stride 1, the taps (ky, kx) of output row y read the flat padded input
 * row y + ky*dh shifted by kx*dw*C bytes, as in int8_dwflat.c. A 64-byte load
 * there holds 64 / C whole pixels; vpdpbusd against the C weights of output
 * channel n repeated 64 / C times gives, per int32 lane, the sum over 4 input
 * channels of one pixel. A group of 16 output pixels takes D = C / 4 such
 * vectors per tap; after all taps, pairwise sums of neighbouring lanes (two
 * vpermt2d and an add per halving) leave one lane per pixel. Integer sums are
 * exact in any order, so the result equals the GEMM's accumulator; the fp32
 * epilogue is the GEMM's, operation for operation.
 *
 * Packed: int32 bias[out_c] (minus zp_in * sum of the weights), float
 * scale[out_c], padded to 64 bytes; then per tap and output channel 64 bytes:
 * the channel's C weights of that tap repeated 64 / C times. Scratch: a ring of
 * (kH-1)*dh+1 zero-point padded rows and one row of zero points (input rows
 * are used in place when the conv has no horizontal padding). */
#include "ckernels_int8.h"
#include <string.h>

#define FLAT_MAX_TAPS 64

static size_t header_bytes(size_t out_c) { return (out_c * 8 + 63) / 64 * 64; }

size_t vseg_q8_packed_convflat_size(size_t out_c, size_t taps) { return header_bytes(out_c) + taps * out_c * 64; }

void vseg_q8_pack_convflat(size_t out_c, size_t taps, size_t in_c, const int8_t *weights, const int32_t *bias,
                           const float *scale, int32_t zp_in, void *packed) {
    uint8_t *out = (uint8_t *)packed;
    const size_t hdr = header_bytes(out_c);
    memset(out, 0, vseg_q8_packed_convflat_size(out_c, taps));
    for (size_t n = 0; n < out_c; n++) {
        const int8_t *src = weights + n * taps * in_c;
        int32_t sum = 0;
        for (size_t t = 0; t < taps; t++) {
            int8_t *dst = (int8_t *)(out + hdr + (t * out_c + n) * 64);
            for (size_t b = 0; b < 64; b++) dst[b] = src[t * in_c + b % in_c];
            for (size_t k = 0; k < in_c; k++) sum += src[t * in_c + k];
        }
        const int32_t pb = (bias ? bias[n] : 0) - zp_in * sum;
        memcpy(out + n * 4, &pb, 4);
        memcpy(out + out_c * 4 + n * 4, &scale[n], 4);
    }
}

static size_t padded_width(const vseg_q8_conv_geometry *g) {
    return (size_t)g->out_w + (size_t)(g->k_w - 1) * (size_t)g->dilation_w;
}

static int32_t ring_rows(const vseg_q8_conv_geometry *g) { return (g->k_h - 1) * g->dilation_h + 1; }

size_t vseg_q8_convflat_scratch_size(const vseg_q8_conv_geometry *g) {
    return (size_t)(ring_rows(g) + 1) * padded_width(g) * (size_t)g->in_c + 64;
}

int vseg_q8_convflat_supported(int isa, const vseg_q8_conv_geometry *g, const vseg_q8_output_params *params) {
#if defined(__x86_64__)
    const int32_t C = g->in_c, N = g->out_c;
    const int c_ok = C == 4 || C == 8 || C == 16 || C == 32 || C == 64;
    const int n_ok = (N == 1 || N == 2 || N == 4 || N == 8) && N * C <= 64 && (!params->float_out || N == 1);
    return isa == VSEG_Q8_ISA_AVX512VNNI && vseg_q8_isa_supported(isa) && c_ok && n_ok && g->stride_h == 1
        && g->stride_w == 1 && g->k_h * g->k_w <= FLAT_MAX_TAPS && g->out_w > 0
        && padded_width(g) >= (size_t)g->in_w && g->pad_left >= 0;
#else
    (void)isa; (void)g; (void)params;
    return 0;
#endif
}

#if defined(__x86_64__)
#include <immintrin.h>
#define T512_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

/* Padded row py (input row py - pad_top) of width padded_width(g) into dst. */
static void pad_row(const vseg_q8_conv_geometry *g, const uint8_t *input, int32_t py, uint8_t zp, uint8_t *dst) {
    const size_t C = (size_t)g->in_c, wp = padded_width(g);
    const int32_t iy = py - g->pad_top;
    if (iy < 0 || iy >= g->in_h) { memset(dst, zp, wp * C); return; }
    const size_t left = (size_t)g->pad_left < wp ? (size_t)g->pad_left : wp;
    const size_t copy = (size_t)g->in_w < wp - left ? (size_t)g->in_w : wp - left;
    memset(dst, zp, left * C);
    memcpy(dst + left * C, input + (size_t)iy * g->in_w * C, copy * C);
    memset(dst + (left + copy) * C, zp, (wp - left - copy) * C);
}

/* 16 lanes of per-pixel sums from D vectors holding C / 4 = D lanes per pixel
 * (vector j: pixels 16 / D * j ...): halve the lanes per pixel until one is left. */
T512_INLINE __m512i reduce_pixels(const int D, __m512i *v) {
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (int n = D; n > 1; n /= 2)
        for (int j = 0; j < n / 2; j++)
            v[j] = _mm512_add_epi32(_mm512_permutex2var_epi32(v[2 * j], even, v[2 * j + 1]),
                                    _mm512_permutex2var_epi32(v[2 * j], odd, v[2 * j + 1]));
    return v[0];
}

/* One output row: N output channels, D = C / 4 vectors per 16 pixels. */
T512_INLINE void flat_row(const int N, const int D, const vseg_q8_conv_geometry *g, const uint8_t *const *rows,
                          size_t taps, const uint8_t *pk, uint8_t *out, const vseg_q8_output_params *p) {
    const size_t C = (size_t)g->in_c, W = (size_t)g->out_w, hdr = header_bytes((size_t)N);
    const int32_t *bias = (const int32_t *)pk;
    const float *scale = (const float *)(pk + N * 4);
    const uint8_t *wbase = pk + hdr;
    const __m512 lo = _mm512_set1_ps((float)(p->qmin - p->zero_point));
    const __m512 hi = _mm512_set1_ps((float)(p->qmax - p->zero_point));
    const __m512i zp = _mm512_set1_epi32(p->zero_point);
    const __m512i lo8 = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi8 = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    for (size_t x0 = 0; x0 < W; x0 += 16) {
        const size_t np = W - x0 < 16 ? W - x0 : 16;
        /* bytes of pixels x0 ... x0 + np - 1 in vector j (only the tail group masks) */
        __mmask64 lm[16];
        for (int j = 0; j < D; j++) {
            const ptrdiff_t valid = (ptrdiff_t)(np * C) - (ptrdiff_t)j * 64;
            lm[j] = valid >= 64 ? ~(__mmask64)0 : valid <= 0 ? 0 : (((__mmask64)1 << valid) - 1);
        }
        __m512i acc[8][16];
        for (int n = 0; n < N; n++)
            for (int j = 0; j < D; j++) acc[n][j] = _mm512_setzero_si512();
        const uint8_t *w = wbase;
        for (size_t t = 0; t < taps; t++) {
            const uint8_t *src = rows[t] + x0 * C;
            __m512i x[16];
            if (np == 16)
                for (int j = 0; j < D; j++) x[j] = _mm512_loadu_si512(src + j * 64);
            else
                for (int j = 0; j < D; j++) x[j] = _mm512_maskz_loadu_epi8(lm[j], src + j * 64);
            for (int n = 0; n < N; n++, w += 64) {
                const __m512i wv = _mm512_loadu_si512(w);
                for (int j = 0; j < D; j++) acc[n][j] = _mm512_dpbusd_epi32(acc[n][j], x[j], wv);
            }
        }
        if (p->float_out) { /* out_c 1 (vseg_q8_convflat_supported): the GEMM's float epilogue */
            const __m512i sum = _mm512_add_epi32(reduce_pixels(D, acc[0]), _mm512_set1_epi32(bias[0]));
            __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(scale[0]));
            y = _mm512_min_ps(_mm512_max_ps(y, _mm512_set1_ps(p->fmin)), _mm512_set1_ps(p->fmax));
            _mm512_mask_storeu_ps((float *)out + x0, (__mmask16)((1u << np) - 1), y);
            continue;
        }
        __m512i q[8];
        for (int n = 0; n < N; n++) {
            const __m512i sum = _mm512_add_epi32(reduce_pixels(D, acc[n]), _mm512_set1_epi32(bias[n]));
            __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(scale[n]));
            y = _mm512_min_ps(_mm512_max_ps(y, lo), hi);
            q[n] = _mm512_add_epi32(_mm512_cvtps_epi32(y), zp);
        }
        uint8_t *o = out + x0 * (size_t)N;
        if (N == 1) {
            _mm_mask_storeu_epi8(o, (__mmask16)((1u << np) - 1), _mm512_cvtepi32_epi8(q[0]));
        } else if (N == 2) {
            const __m512i m = _mm512_or_si512(q[0], _mm512_slli_epi32(q[1], 8));
            _mm256_mask_storeu_epi8(o, (__mmask32)(np == 16 ? 0xFFFFFFFFu : ((1u << (2 * np)) - 1)),
                                    _mm512_cvtepi32_epi16(m));
        } else {
            const __m512i m0 = _mm512_or_si512(_mm512_or_si512(q[0], _mm512_slli_epi32(q[1], 8)),
                                               _mm512_or_si512(_mm512_slli_epi32(q[2], 16), _mm512_slli_epi32(q[3], 24)));
            if (N == 4) {
                _mm512_mask_storeu_epi8(o, np == 16 ? ~(__mmask64)0 : (((__mmask64)1 << (4 * np)) - 1), m0);
            } else {
                const __m512i m1 = _mm512_or_si512(_mm512_or_si512(q[4], _mm512_slli_epi32(q[5], 8)),
                                                   _mm512_or_si512(_mm512_slli_epi32(q[6], 16), _mm512_slli_epi32(q[7], 24)));
                const size_t bytes = 8 * np;
                _mm512_mask_storeu_epi8(o, bytes >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << bytes) - 1),
                                        _mm512_permutex2var_epi32(m0, lo8, m1));
                if (bytes > 64)
                    _mm512_mask_storeu_epi8(o + 64, bytes >= 128 ? ~(__mmask64)0 : (((__mmask64)1 << (bytes - 64)) - 1),
                                            _mm512_permutex2var_epi32(m0, hi8, m1));
            }
        }
    }
}

T512 void vseg_q8_convflat(const vseg_q8_conv_geometry *g, const uint8_t *input, const void *packed, uint8_t *output,
                           int32_t y_begin, int32_t y_end, const vseg_q8_output_params *p, uint8_t *scratch,
                           int32_t zp_in) {
    const size_t C = (size_t)g->in_c, N = (size_t)g->out_c, taps = (size_t)g->k_h * (size_t)g->k_w;
    const size_t wp = padded_width(g), rb = wp * C;
    const int32_t ring = ring_rows(g);
    /* no horizontal padding: padded rows are the input rows themselves, only rows
     * above or below the image read the zero-point row */
    const int in_place = g->pad_left == 0 && wp == (size_t)g->in_w;
    uint8_t *zrow = scratch + (size_t)ring * rb;
    memset(zrow, (uint8_t)zp_in, rb);
    const size_t es = p->float_out ? 4 : 1;
    const uint8_t *pk = (const uint8_t *)packed;
    for (int32_t y = y_begin; y < y_end; y++) {
        const uint8_t *rows[FLAT_MAX_TAPS];
        if (!in_place) {
            const int32_t first = y == y_begin ? y : y + ring - 1;
            for (int32_t py = first; py < y + ring; py++)
                pad_row(g, input, py, (uint8_t)zp_in, scratch + (size_t)(py % ring) * rb);
        }
        for (int32_t ky = 0; ky < g->k_h; ky++) {
            const int32_t py = y + ky * g->dilation_h, iy = py - g->pad_top;
            const uint8_t *row = in_place ? (iy < 0 || iy >= g->in_h ? zrow : input + (size_t)iy * rb)
                                          : scratch + (size_t)(py % ring) * rb;
            for (int32_t kx = 0; kx < g->k_w; kx++) rows[ky * g->k_w + kx] = row + (size_t)kx * g->dilation_w * C;
        }
        uint8_t *out = output + (size_t)y * g->out_w * N * es;
        switch (N * 100 + C / 4) {
        case 101: flat_row(1, 1, g, rows, taps, pk, out, p); break;
        case 102: flat_row(1, 2, g, rows, taps, pk, out, p); break;
        case 104: flat_row(1, 4, g, rows, taps, pk, out, p); break;
        case 108: flat_row(1, 8, g, rows, taps, pk, out, p); break;
        case 116: flat_row(1, 16, g, rows, taps, pk, out, p); break;
        case 201: flat_row(2, 1, g, rows, taps, pk, out, p); break;
        case 202: flat_row(2, 2, g, rows, taps, pk, out, p); break;
        case 204: flat_row(2, 4, g, rows, taps, pk, out, p); break;
        case 208: flat_row(2, 8, g, rows, taps, pk, out, p); break;
        case 401: flat_row(4, 1, g, rows, taps, pk, out, p); break;
        case 402: flat_row(4, 2, g, rows, taps, pk, out, p); break;
        case 404: flat_row(4, 4, g, rows, taps, pk, out, p); break;
        case 801: flat_row(8, 1, g, rows, taps, pk, out, p); break;
        case 802: flat_row(8, 2, g, rows, taps, pk, out, p); break;
        default: break; /* excluded by vseg_q8_convflat_supported */
        }
    }
}
#else
void vseg_q8_convflat(const vseg_q8_conv_geometry *g, const uint8_t *input, const void *packed, uint8_t *output,
                      int32_t y_begin, int32_t y_end, const vseg_q8_output_params *p, uint8_t *scratch,
                      int32_t zp_in) {
    (void)g; (void)input; (void)packed; (void)output; (void)y_begin; (void)y_end; (void)p; (void)scratch; (void)zp_in;
}
#endif
