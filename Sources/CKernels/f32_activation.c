/* Float32 Sigmoid for the FP32 ops (the engine's Swift code is built for
 * baseline x86-64, where its 16-lane loop runs 4 lanes at a time). Same
 * algorithm, constants and operation order as `SigmoidFn`/`vexp` in
 * Sources/VSegEngine/Runtime/ActivationKernels.swift, with contraction off, so
 * the results are bit-identical to the Swift loop:
 *   x clamped to [-87.3, 88.3]; n = round(x * log2 e) by the 1.5 * 2^23 magic
 *   number; r = x - n * 0.693359375 + n * 2.12194440e-4; degree-6 Cephes
 *   polynomial; 2^n from exponent bits; sigmoid = 1 / (1 + exp(-x)). */
#pragma clang fp contract(off)
#include "ckernels_f32.h"
#include <stdint.h>
#include <string.h>

/* In place (src == dst) is the common case (a conv's fused post-op); each element is read
 * before it is written, so the loop is vectorized without the overlap check that would
 * otherwise send exact aliasing down the scalar path. */
#define F32_SIGMOID_BODY                                                                 \
    _Pragma("clang loop vectorize(assume_safety)")                                       \
    for (size_t i = 0; i < n; i++) {                                                     \
        float x = -src[i];                                                               \
        x = x < -87.3f ? -87.3f : x;                                                     \
        x = x > 88.3f ? 88.3f : x;                                                       \
        const float magic = 12582912.0f;                                                 \
        const float t = x * 1.44269504088896341f + magic;                                \
        const float nn = t - magic;                                                      \
        float r = x - nn * 0.693359375f;                                                 \
        r = r + nn * 2.12194440e-4f;                                                     \
        float p = 1.9875691500e-4f;                                                      \
        p = p * r + 1.3981999507e-3f;                                                    \
        p = p * r + 8.3334519073e-3f;                                                    \
        p = p * r + 4.1665795894e-2f;                                                    \
        p = p * r + 1.6666665459e-1f;                                                    \
        p = p * r + 5.0000001201e-1f;                                                    \
        p = p * (r * r) + r + 1.0f;                                                      \
        int32_t ti;                                                                      \
        memcpy(&ti, &t, 4);                                                              \
        const int32_t bits = (int32_t)((uint32_t)(ti - 0x4B400000 + 127) << 23);         \
        float two;                                                                       \
        memcpy(&two, &bits, 4);                                                          \
        dst[i] = 1.0f / (1.0f + p * two);                                                \
    }

static void sigmoid_base(const float *src, float *dst, size_t n) { F32_SIGMOID_BODY }

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void sigmoid_avx2(const float *src, float *dst, size_t n) {
    F32_SIGMOID_BODY
}
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
static void sigmoid_avx512(const float *src, float *dst, size_t n) {
    F32_SIGMOID_BODY
}
#endif

typedef void (*sigmoid_fn)(const float *, float *, size_t);

static sigmoid_fn pick(void) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl")) return sigmoid_avx512;
    if (__builtin_cpu_supports("avx2")) return sigmoid_avx2;
#endif
    return sigmoid_base;
}

void vseg_f32_sigmoid(const float *src, float *dst, size_t n) {
    static sigmoid_fn chosen; /* benign race: every thread picks the same function */
    sigmoid_fn f = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (!f) { f = pick(); __atomic_store_n(&chosen, f, __ATOMIC_RELAXED); }
    f(src, dst, n);
}
