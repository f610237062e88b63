/* float32 <-> uint8 conversions at the edges of the INT8 graph (Quantize /
 * Dequantize nodes), per-tensor parameters. Plain loops that the compiler
 * vectorizes; an AVX-512 (quantize) or AVX2 clone is picked at run time on x86-64. Arithmetic is the
 * Swift twin's, operation for operation (no FMA, no reassociation):
 *   quantize:   v = x / scale, clamped to +-512 (outside 0...255 either way),
 *               rounded to nearest even with the 1.5 * 2^23 magic number,
 *               + zero_point, clamped to 0...255
 *   dequantize: y = scale * (float)(q - zero_point) */
#include "ckernels.h"
#include "ckernels_int8.h"

#define Q8_QUANTIZE_BODY                                                        \
    const float magic = 12582912.0f, zpf = (float)zp;                           \
    for (size_t i = 0; i < n; i++) {                                            \
        float v = x[i] / scale;                                                 \
        v = v < -512.0f ? -512.0f : (v > 512.0f ? 512.0f : v);                  \
        v = (v + magic) - magic;                                                \
        v += zpf;                                                               \
        v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);                        \
        y[i] = (uint8_t)(int32_t)v;                                             \
    }

#define Q8_DEQUANTIZE_BODY                                                      \
    for (size_t i = 0; i < n; i++) y[i] = scale * (float)((int32_t)x[i] - zp);

static void quantize_base(const float *restrict x, uint8_t *restrict y, size_t n, float scale, int32_t zp) {
    Q8_QUANTIZE_BODY
}
static void dequantize_base(const uint8_t *restrict x, float *restrict y, size_t n, float scale, int32_t zp) {
    Q8_DEQUANTIZE_BODY
}

#if defined(__x86_64__)
/* 16 lanes: the loop is bound by the division (one vdivps per vector). */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
static void quantize_avx512(const float *restrict x, uint8_t *restrict y, size_t n, float scale, int32_t zp) {
    Q8_QUANTIZE_BODY
}
__attribute__((target("avx2")))
static void quantize_avx2(const float *restrict x, uint8_t *restrict y, size_t n, float scale, int32_t zp) {
    Q8_QUANTIZE_BODY
}
__attribute__((target("avx2")))
static void dequantize_avx2(const uint8_t *restrict x, float *restrict y, size_t n, float scale, int32_t zp) {
    Q8_DEQUANTIZE_BODY
}
#endif

void vseg_q8_quantize_f32(const float *x, uint8_t *y, size_t n, float scale, int32_t zero_point) {
#if defined(__x86_64__)
    if (vseg_cpu_has_avx512f()) { quantize_avx512(x, y, n, scale, zero_point); return; }
    if (__builtin_cpu_supports("avx2")) { quantize_avx2(x, y, n, scale, zero_point); return; }
#endif
    quantize_base(x, y, n, scale, zero_point);
}

void vseg_q8_dequantize_u8(const uint8_t *x, float *y, size_t n, float scale, int32_t zero_point) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) { dequantize_avx2(x, y, n, scale, zero_point); return; }
#endif
    dequantize_base(x, y, n, scale, zero_point);
}
