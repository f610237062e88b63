/* arm64 INT8 microkernel with the dot-product extension (ARMv8.2 DotProd).
 * DotProd multiplies s8 x s8 (or u8 x u8) only, so the uint8 activations are
 * flipped to signed (a ^ 0x80 == a - 128) and the kernel adds back
 * 128 * sum_k w[k][n] (the packed wsum) to the accumulator's start value:
 *   sum (a - 128) * w + 128 * sum w == sum a * w.
 * Compiled only when the compiler targets DotProd (e.g. -march=armv8.2-a+dotprod,
 * the default on Apple silicon); otherwise arm64 uses the portable kernel. */
#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
#include "ckernels_int8.h"
#include <arm_neon.h>

static inline uint32_t load4(const uint8_t *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return v; }
/* 1..3 bytes of a row's end, zero-extended (no libc call: it would force the accumulators to memory) */
static inline uint32_t load_tail(const uint8_t *p, size_t n) {
    return (uint32_t)p[0] | (n > 1 ? (uint32_t)p[1] << 8 : 0) | (n > 2 ? (uint32_t)p[2] << 16 : 0);
}

void vseg_q8_ukernel_neondot(size_t mr, size_t nc, size_t taps, size_t kc, const uint8_t *input,
                             const int64_t *offs, size_t a_stride, const uint8_t *zero, const uint8_t *w,
                             size_t pb, uint8_t *c, size_t c_stride, const vseg_q8_output_params *p) {
    (void)pb;
    int32x4_t acc[4][4];
    for (int v = 0; v < 4; v++) {
        const int32x4_t b = vld1q_s32((const int32_t *)w + v * 4);
        const int32x4_t s = vshlq_n_s32(vld1q_s32((const int32_t *)(w + 128) + v * 4), 7);
        for (int r = 0; r < 4; r++) acc[r][v] = vaddq_s32(b, s);
    }
    const int8_t *wk = (const int8_t *)(w + 192);
    const size_t kc4 = kc & ~(size_t)3, rem = kc - kc4;
    const uint32_t flip = 0x80808080u;
    for (size_t t = 0; t < taps; t++) {
        const uint8_t *a[4];
        for (size_t i = 0; i < 4; i++) {
            size_t r = i < mr ? i : mr - 1;
            if (offs) {
                int64_t o = offs[r * taps + t];
                a[i] = o < 0 ? zero : input + o;
            } else {
                a[i] = input + r * a_stride;
            }
        }
#define NEON_STEP(LOAD)                                                                  \
    do {                                                                                 \
        int8x16_t wv[4];                                                                 \
        for (int v = 0; v < 4; v++) wv[v] = vld1q_s8(wk + v * 16);                       \
        wk += 64;                                                                        \
        for (int r = 0; r < 4; r++) {                                                    \
            const int8x16_t av = vreinterpretq_s8_u32(vdupq_n_u32((LOAD) ^ flip));       \
            for (int v = 0; v < 4; v++) acc[r][v] = vdotq_s32(acc[r][v], av, wv[v]);     \
        }                                                                                \
    } while (0)
        for (size_t k = 0; k < kc4; k += 4) NEON_STEP(load4(a[r] + k));
        /* padded tail bytes flip to 0x80 (-128) but meet zero weights */
        if (rem) NEON_STEP(load_tail(a[r] + kc4, rem));
#undef NEON_STEP
    }
    if (p->float_out) {
        const float32x4_t flo = vdupq_n_f32(p->fmin), fhi = vdupq_n_f32(p->fmax);
        for (size_t r = 0; r < mr; r++) {
            float tmp[16];
            for (int v = 0; v < 4; v++) {
                float32x4_t y = vmulq_f32(vcvtq_f32_s32(acc[r][v]), vld1q_f32((const float *)(w + 64) + v * 4));
                vst1q_f32(tmp + v * 4, vminq_f32(vmaxq_f32(y, flo), fhi));
            }
            __builtin_memcpy(c + r * c_stride, tmp, nc * 4);
        }
        return;
    }
    const float32x4_t lo = vdupq_n_f32((float)(p->qmin - p->zero_point));
    const float32x4_t hi = vdupq_n_f32((float)(p->qmax - p->zero_point));
    const int32x4_t zp = vdupq_n_s32(p->zero_point);
    for (size_t r = 0; r < mr; r++) {
        uint8_t tmp[16];
        for (int v = 0; v < 4; v++) {
            float32x4_t y = vmulq_f32(vcvtq_f32_s32(acc[r][v]), vld1q_f32((const float *)(w + 64) + v * 4));
            y = vminq_f32(vmaxq_f32(y, lo), hi);
            const int32x4_t q = vaddq_s32(vcvtnq_s32_f32(y), zp); /* vcvtn: round to nearest, ties even */
            const uint16x4_t h = vqmovun_s32(q);
            const uint8x8_t b = vqmovn_u16(vcombine_u16(h, h));
            vst1_lane_u32((uint32_t *)(tmp + v * 4), vreinterpret_u32_u8(b), 0);
        }
        __builtin_memcpy(c + r * c_stride, tmp, nc);
    }
}
#endif
