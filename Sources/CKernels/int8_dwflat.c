/* Stride-1 depthwise conv on AVX-512 VNNI in "row-flat" form.
 *
 * With stride 1, output row y is a flat byte vector of outW * C bytes, and for
 * tap (ky, kx) it reads the flat input row (y + ky*dh) shifted by kx*dw*C
 * bytes (in a zero-point-padded copy of the input rows). So 64 consecutive
 * output bytes (any mix of pixels and channels) need 64 consecutive input bytes
 * per tap: one plain load, no widening.
 *
 * Taps go in groups of four: the four 64-byte loads of a group are interleaved
 * bytewise (vpunpck{l,h}bw, then vpunpck{l,h}wd), so each int32 lane holds one
 * output byte's four tap inputs and one vpdpbusd against the four taps' weights
 * sums them. The four interleaved vectors k = 0..3 hold, in 128-bit lane L and
 * dword i, output byte 16L + 4k + i; after requantization two vpackusdw and one
 * vpackuswb put the bytes back in order (values are 0...255, nothing saturates).
 * Per 64 outputs and four taps: 4 loads, 8 unpacks, 4 vpdpbusd. A last group
 * with fewer taps gets zero inputs and zero weights.
 *
 * The channel of output byte f is f mod C, so a block starting at byte 64b
 * sees the weight pattern of phase (64b mod C) / gcd(64, C); one set of weight,
 * bias and scale vectors is packed per phase (C / gcd(64, C) of them).
 * Padded input rows live in a per-task ring of (kH-1)*dh+1 rows.
 * Bit-exact with the other variants: same int32 sums, same fp32 requantization. */
#include "ckernels_int8.h"
#include <string.h>

static size_t gcd_size(size_t a, size_t b) { while (b) { size_t t = a % b; a = b; b = t; } return a; }
static size_t flat_phases(size_t channels) { return channels / gcd_size(64, channels); }
static size_t tap_groups(size_t taps) { return (taps + 3) / 4; }
static size_t flat_phase_bytes(size_t taps) { return 512 + tap_groups(taps) * 256; }

size_t vseg_q8_packed_dwflat_size(size_t channels, size_t taps) {
    return flat_phases(channels) * flat_phase_bytes(taps);
}

/* Block layout (a row-flat phase, or 64 channels of the per-pixel kernel):
 * int32 bias[4][16], float scale[4][16], then per tap group int8 w[4][64]; in
 * vector k, dword d = 4L + i is byte 16L + 4k + i of the block, and byte m of
 * that dword the weight of tap 4 * group + m. Byte b is channel
 * (first + b) mod channels when `wrap`, else first + b (zeros past the last). */
static void pack_block(uint8_t *blk, size_t channels, size_t taps, const int8_t *weights, const int32_t *bias,
                       const float *scale, int32_t zp_in, size_t first, int wrap) {
    for (size_t k = 0; k < 4; k++)
        for (size_t d = 0; d < 16; d++) {
            const size_t byte = 16 * (d / 4) + 4 * k + d % 4;
            const size_t ch = wrap ? (first + byte) % channels : first + byte;
            if (ch >= channels) continue;
            int32_t sum = 0;
            for (size_t t = 0; t < taps; t++) {
                const int8_t v = weights[t * channels + ch];
                sum += v;
                ((int8_t *)(blk + 512 + ((t / 4) * 4 + k) * 64))[d * 4 + t % 4] = v;
            }
            const int32_t b = (bias ? bias[ch] : 0) - zp_in * sum;
            memcpy(blk + (k * 16 + d) * 4, &b, 4);
            memcpy(blk + 256 + (k * 16 + d) * 4, &scale[ch], 4);
        }
}

void vseg_q8_pack_dwflat(size_t channels, size_t taps, const int8_t *weights, const int32_t *bias,
                         const float *scale, int32_t zp_in, void *packed) {
    const size_t phases = flat_phases(channels), pb = flat_phase_bytes(taps), g = gcd_size(64, channels);
    uint8_t *out = (uint8_t *)packed;
    memset(out, 0, phases * pb);
    for (size_t p = 0; p < phases; p++) pack_block(out + p * pb, channels, taps, weights, bias, scale, zp_in, p * g, 1);
}

size_t vseg_q8_packed_dwtap4_size(size_t channels, size_t taps) { return (channels + 63) / 64 * flat_phase_bytes(taps); }

void vseg_q8_pack_dwtap4(size_t channels, size_t taps, const int8_t *weights, const int32_t *bias,
                         const float *scale, int32_t zp_in, void *packed) {
    const size_t blocks = (channels + 63) / 64, bb = flat_phase_bytes(taps);
    uint8_t *out = (uint8_t *)packed;
    memset(out, 0, blocks * bb);
    for (size_t b = 0; b < blocks; b++) pack_block(out + b * bb, channels, taps, weights, bias, scale, zp_in, b * 64, 0);
}

int vseg_q8_dwtap4_supported(int isa, const vseg_q8_dw_geometry *g) {
#if defined(__x86_64__)
    return isa == VSEG_Q8_ISA_AVX512VNNI && vseg_q8_isa_supported(isa) && g->k_h * g->k_w <= 64;
#else
    (void)isa; (void)g;
    return 0;
#endif
}

int vseg_q8_dwflat_supported(int isa, const vseg_q8_dw_geometry *g) {
#if defined(__x86_64__)
    return isa == VSEG_Q8_ISA_AVX512VNNI && vseg_q8_isa_supported(isa) && g->stride_h == 1 && g->stride_w == 1
        && g->k_h * g->k_w <= 64
        && g->out_w + (g->k_w - 1) * g->dilation_w >= g->in_w;
#else
    (void)isa; (void)g;
    return 0;
#endif
}

static size_t padded_row_bytes(const vseg_q8_dw_geometry *g) {
    return (size_t)(g->out_w + (g->k_w - 1) * g->dilation_w) * (size_t)g->channels;
}

size_t vseg_q8_dwflat_scratch_size(const vseg_q8_dw_geometry *g) {
    return (size_t)((g->k_h - 1) * g->dilation_h + 1) * padded_row_bytes(g) + 64;
}

#if defined(__x86_64__)
#include "int8_dw_rows.h"
#include <immintrin.h>
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define T512_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

/* Padded row py (input row py - pad_top) into dst: zero point outside the image. */
static void pad_row(const vseg_q8_dw_geometry *g, const uint8_t *input, int32_t py, uint8_t zp, uint8_t *dst) {
    const size_t C = (size_t)g->channels, rb = padded_row_bytes(g);
    const int32_t iy = py - g->pad_top;
    if (iy < 0 || iy >= g->in_h) { memset(dst, zp, rb); return; }
    const int32_t wp = g->out_w + (g->k_w - 1) * g->dilation_w;
    const int32_t left = g->pad_left < wp ? g->pad_left : wp;
    int32_t right = wp - left - g->in_w; /* columns after the image (may be negative: unused input columns) */
    const int32_t copy = right < 0 ? g->in_w + right : g->in_w;
    if (right < 0) right = 0;
    memset(dst, zp, (size_t)left * C);
    memcpy(dst + (size_t)left * C, input + (size_t)iy * g->in_w * C, (size_t)copy * C);
    memset(dst + (size_t)(left + copy) * C, zp, (size_t)right * C);
}

/* 64 output bytes of each of NB blocks (NB independent accumulator sets keep
 * more vpdpbusd chains in flight): byte j of block b sums, over the taps,
 * rows[t][off[b] + j] times block blk[b]'s weights (bytes outside `m` read as
 * 0), then requantizes into res[b]. */
T512_INLINE void tap4_blocks(const int NB, const uint8_t *const *rows, const size_t *off, size_t taps, __mmask64 m,
                             const uint8_t *const *blk, __m512 lo, __m512 hi, __m512i zp, __m512i *res) {
    __m512i acc[2][4];
    for (int b = 0; b < NB; b++)
        for (int k = 0; k < 4; k++) acc[b][k] = _mm512_loadu_si512(blk[b] + k * 64);
    for (size_t t = 0, wo = 512; t < taps; t += 4, wo += 256) {
        for (int b = 0; b < NB; b++) {
            __m512i a[4];
            for (size_t j = 0; j < 4; j++)
                a[j] = t + j < taps ? _mm512_maskz_loadu_epi8(m, rows[t + j] + off[b]) : _mm512_setzero_si512();
            const __m512i lo01 = _mm512_unpacklo_epi8(a[0], a[1]), hi01 = _mm512_unpackhi_epi8(a[0], a[1]);
            const __m512i lo23 = _mm512_unpacklo_epi8(a[2], a[3]), hi23 = _mm512_unpackhi_epi8(a[2], a[3]);
            const uint8_t *w = blk[b] + wo;
            acc[b][0] = _mm512_dpbusd_epi32(acc[b][0], _mm512_unpacklo_epi16(lo01, lo23), _mm512_loadu_si512(w));
            acc[b][1] = _mm512_dpbusd_epi32(acc[b][1], _mm512_unpackhi_epi16(lo01, lo23), _mm512_loadu_si512(w + 64));
            acc[b][2] = _mm512_dpbusd_epi32(acc[b][2], _mm512_unpacklo_epi16(hi01, hi23), _mm512_loadu_si512(w + 128));
            acc[b][3] = _mm512_dpbusd_epi32(acc[b][3], _mm512_unpackhi_epi16(hi01, hi23), _mm512_loadu_si512(w + 192));
        }
    }
    for (int b = 0; b < NB; b++) {
        __m512i q[4];
        for (int k = 0; k < 4; k++) {
            __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[b][k]), _mm512_loadu_ps((const float *)(blk[b] + 256 + k * 64)));
            v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
            q[k] = _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);
        }
        res[b] = _mm512_packus_epi16(_mm512_packus_epi32(q[0], q[1]), _mm512_packus_epi32(q[2], q[3]));
    }
}

T512 void vseg_q8_dwconv_flat(const vseg_q8_dw_geometry *g, const uint8_t *input, const void *packed,
                              uint8_t *output, int32_t y_begin, int32_t y_end, const vseg_q8_output_params *p,
                              uint8_t *scratch, int32_t zp_in) {
    const size_t C = (size_t)g->channels, taps = (size_t)g->k_h * g->k_w;
    const size_t rb = padded_row_bytes(g), gsz = gcd_size(64, C), pb = flat_phase_bytes(taps);
    const int32_t ring = (g->k_h - 1) * g->dilation_h + 1;
    const size_t len = (size_t)g->out_w * C, blocks = (len + 63) / 64;
    const __m512 lo = _mm512_set1_ps((float)(p->qmin - p->zero_point));
    const __m512 hi = _mm512_set1_ps((float)(p->qmax - p->zero_point));
    const __m512i zp = _mm512_set1_epi32(p->zero_point);
    const __mmask64 tail = (len % 64) ? (((__mmask64)1 << (len % 64)) - 1) : ~(__mmask64)0;
    const uint8_t *pk = (const uint8_t *)packed;
    for (int32_t y = y_begin; y < y_end; y++) {
        /* fill the padded rows this output row needs that the ring does not hold yet */
        const int32_t first = y == y_begin ? y : y + ring - 1;
        for (int32_t py = first; py < y + ring; py++) pad_row(g, input, py, (uint8_t)zp_in, scratch + (size_t)(py % ring) * rb);
        const uint8_t *rows[64];
        for (int32_t ky = 0; ky < g->k_h; ky++) {
            const uint8_t *row = scratch + (size_t)((y + ky * g->dilation_h) % ring) * rb;
            for (int32_t kx = 0; kx < g->k_w; kx++) rows[ky * g->k_w + kx] = row + (size_t)kx * g->dilation_w * C;
        }
        uint8_t *out = output + (size_t)y * len;
        size_t b = 0;
        for (; b + 2 < blocks; b += 2) { /* full blocks in pairs; the last (maybe partial) one alone */
            const size_t off[2] = {b * 64, b * 64 + 64};
            const uint8_t *blk[2] = {pk + ((off[0] % C) / gsz) * pb, pk + ((off[1] % C) / gsz) * pb};
            __m512i res[2];
            tap4_blocks(2, rows, off, taps, ~(__mmask64)0, blk, lo, hi, zp, res);
            _mm512_storeu_si512(out + off[0], res[0]);
            _mm512_storeu_si512(out + off[1], res[1]);
        }
        for (; b < blocks; b++) {
            const size_t off[1] = {b * 64};
            const uint8_t *blk[1] = {pk + ((off[0] % C) / gsz) * pb};
            const __mmask64 m = b + 1 == blocks ? tail : ~(__mmask64)0;
            __m512i res[1];
            tap4_blocks(1, rows, off, taps, m, blk, lo, hi, zp, res);
            _mm512_mask_storeu_epi8(out + off[0], m, res[0]);
        }
    }
}

T512 void vseg_q8_dwconv_tap4(const vseg_q8_dw_geometry *g, const uint8_t *input, const uint8_t *zero,
                              const void *packed, uint8_t *output, int32_t y_begin, int32_t y_end,
                              const vseg_q8_output_params *p) {
    const int32_t C = g->channels;
    const size_t taps = (size_t)g->k_h * g->k_w, bb = flat_phase_bytes(taps);
    const __m512 lo = _mm512_set1_ps((float)(p->qmin - p->zero_point));
    const __m512 hi = _mm512_set1_ps((float)(p->qmax - p->zero_point));
    const __m512i zp = _mm512_set1_epi32(p->zero_point);
    const uint8_t *rows[64];
    ptrdiff_t toff[64];
    dw_tap_offsets(g, toff);
    const int32_t span_w = (g->k_w - 1) * g->dilation_w, span_h = (g->k_h - 1) * g->dilation_h;
    for (int32_t oy = y_begin; oy < y_end; oy++) {
        const int32_t iy0 = oy * g->stride_h - g->pad_top;
        const int rows_inside = iy0 >= 0 && iy0 + span_h < g->in_h;
        for (int32_t ox = 0; ox < g->out_w;) {
            uint8_t *out = output + ((size_t)oy * g->out_w + ox) * C;
            dw_rows(g, oy, ox, input, zero, toff, rows);
            const int32_t ix0 = ox * g->stride_w - g->pad_left;
            /* two neighbouring pixels whose windows are inside the image: the second one's
             * taps are the first one's shifted by stride_w pixels, and two independent
             * accumulator sets keep more vpdpbusd chains in flight */
            const int pair = rows_inside && ox + 1 < g->out_w && ix0 >= 0 && ix0 + g->stride_w + span_w < g->in_w;
            const size_t next = (size_t)g->stride_w * (size_t)C;
            const uint8_t *blk = (const uint8_t *)packed;
            for (int32_t c0 = 0; c0 < C; c0 += 64, blk += bb) {
                const __mmask64 m = C - c0 >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (C - c0)) - 1);
                if (pair) {
                    const size_t off[2] = {(size_t)c0, (size_t)c0 + next};
                    const uint8_t *b2[2] = {blk, blk};
                    __m512i res[2];
                    tap4_blocks(2, rows, off, taps, m, b2, lo, hi, zp, res);
                    _mm512_mask_storeu_epi8(out + c0, m, res[0]);
                    _mm512_mask_storeu_epi8(out + C + c0, m, res[1]);
                } else {
                    const size_t off[1] = {(size_t)c0};
                    const uint8_t *b1[1] = {blk};
                    __m512i res[1];
                    tap4_blocks(1, rows, off, taps, m, b1, lo, hi, zp, res);
                    _mm512_mask_storeu_epi8(out + c0, m, res[0]);
                }
            }
            ox += pair ? 2 : 1;
        }
    }
}
#else
void vseg_q8_dwconv_flat(const vseg_q8_dw_geometry *g, const uint8_t *input, const void *packed,
                         uint8_t *output, int32_t y_begin, int32_t y_end, const vseg_q8_output_params *p,
                         uint8_t *scratch, int32_t zp_in) {
    (void)g; (void)input; (void)packed; (void)output; (void)y_begin; (void)y_end; (void)p; (void)scratch; (void)zp_in;
}
void vseg_q8_dwconv_tap4(const vseg_q8_dw_geometry *g, const uint8_t *input, const uint8_t *zero,
                         const void *packed, uint8_t *output, int32_t y_begin, int32_t y_end,
                         const vseg_q8_output_params *p) {
    (void)g; (void)input; (void)zero; (void)packed; (void)output; (void)y_begin; (void)y_end; (void)p;
}
#endif
