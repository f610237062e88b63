#ifndef VSEG_CKERNELS_F32_H
#define VSEG_CKERNELS_F32_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* dst[i] = sigmoid(src[i]), bit-identical to the engine's Swift SigmoidFn
 * (f32_activation.c); src may equal dst. Picks AVX-512 / AVX2 / baseline at run time. */
void vseg_f32_sigmoid(const float *src, float *dst, size_t n);

#ifdef __cplusplus
}
#endif
#endif
