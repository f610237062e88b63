/* Tap row pointers of per-pixel depthwise kernels (int8_x86.c, int8_dwflat.c). */
#ifndef VSEG_INT8_DW_ROWS_H
#define VSEG_INT8_DW_ROWS_H
#include "ckernels_int8.h"
#include <stddef.h>

/* Byte offset of every tap from the window's top-left input pixel. */
static inline void dw_tap_offsets(const vseg_q8_dw_geometry *g, ptrdiff_t *toff) {
    for (int32_t ky = 0, t = 0; ky < g->k_h; ky++)
        for (int32_t kx = 0; kx < g->k_w; kx++, t++)
            toff[t] = ((ptrdiff_t)ky * g->dilation_h * g->in_w + (ptrdiff_t)kx * g->dilation_w) * g->channels;
}

/* Tap row pointers of one output pixel (padding taps read the zero-point row);
 * windows fully inside the image take the precomputed offsets. */
static inline void dw_rows(const vseg_q8_dw_geometry *g, int32_t oy, int32_t ox, const uint8_t *input,
                           const uint8_t *zero, const ptrdiff_t *toff, const uint8_t **rows) {
    const int32_t iy0 = oy * g->stride_h - g->pad_top, ix0 = ox * g->stride_w - g->pad_left;
    const int32_t taps = g->k_h * g->k_w;
    if (iy0 >= 0 && iy0 + (g->k_h - 1) * g->dilation_h < g->in_h && ix0 >= 0
        && ix0 + (g->k_w - 1) * g->dilation_w < g->in_w) {
        const uint8_t *base = input + ((size_t)iy0 * g->in_w + ix0) * g->channels;
        for (int32_t t = 0; t < taps; t++) rows[t] = base + toff[t];
        return;
    }
    int32_t t = 0;
    for (int32_t ky = 0; ky < g->k_h; ky++) {
        const int32_t iy = iy0 + ky * g->dilation_h;
        for (int32_t kx = 0; kx < g->k_w; kx++, t++) {
            const int32_t ix = ix0 + kx * g->dilation_w;
            rows[t] = (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w)
                ? zero : input + ((size_t)iy * g->in_w + ix) * g->channels;
        }
    }
}

#endif
