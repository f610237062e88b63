/* INT8 kernels: ISA selection, weight packing, the GEMM/igemm/dwconv drivers
 * and the portable C variant. SIMD variants live in int8_x86.c / int8_neon.c. */
#include "ckernels.h"
#include "ckernels_int8.h"
#include <stdlib.h>
#include <string.h>

/* One microkernel call: rows [0, mr) (mr <= the variant's MR) x columns [0, nc)
 * (nc <= the variant's block, a whole number of 16-column panels starting at w).
 * Row i, tap t reads kc bytes at input + offs[i * taps + t] (zero when < 0),
 * or, when offs is NULL (taps == 1), at input + i * a_stride. */
typedef void (*q8_ukernel)(size_t mr, size_t nc, size_t taps, size_t kc, const uint8_t *input,
                           const int64_t *offs, size_t a_stride, const uint8_t *zero,
                           const uint8_t *w, size_t panel_bytes, uint8_t *c, size_t c_stride,
                           const vseg_q8_output_params *p);
#define VSEG_Q8_DW_MAX_TAPS 64
typedef void (*q8_dwkernel)(const vseg_q8_dw_geometry *g, const uint8_t *input, const uint8_t *zero,
                            const uint8_t *packed, uint8_t *output, int32_t y_begin, int32_t y_end,
                            const vseg_q8_output_params *p);

#if defined(__x86_64__)
void vseg_q8_ukernel_avx512vnni(size_t, size_t, size_t, size_t, const uint8_t *, const int64_t *, size_t,
                                const uint8_t *, const uint8_t *, size_t, uint8_t *, size_t,
                                const vseg_q8_output_params *);
void vseg_q8_ukernel_avxvnni(size_t, size_t, size_t, size_t, const uint8_t *, const int64_t *, size_t,
                             const uint8_t *, const uint8_t *, size_t, uint8_t *, size_t,
                             const vseg_q8_output_params *);
void vseg_q8_ukernel_avx2(size_t, size_t, size_t, size_t, const uint8_t *, const int64_t *, size_t,
                          const uint8_t *, const uint8_t *, size_t, uint8_t *, size_t,
                          const vseg_q8_output_params *);
void vseg_q8_dw_avx512(const vseg_q8_dw_geometry *, const uint8_t *, const uint8_t *, const uint8_t *,
                       uint8_t *, int32_t, int32_t, const vseg_q8_output_params *);
void vseg_q8_dw_avx2(const vseg_q8_dw_geometry *, const uint8_t *, const uint8_t *, const uint8_t *,
                     uint8_t *, int32_t, int32_t, const vseg_q8_output_params *);
#endif
#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
#define VSEG_Q8_HAVE_NEONDOT 1
void vseg_q8_ukernel_neondot(size_t, size_t, size_t, size_t, const uint8_t *, const int64_t *, size_t,
                             const uint8_t *, const uint8_t *, size_t, uint8_t *, size_t,
                             const vseg_q8_output_params *);
#endif

/* ---- ISA selection ------------------------------------------------------- */

static const char *const isa_names[] = {"portable", "avx2", "avxvnni", "avx512vnni", "neondot"};

const char *vseg_q8_isa_name(int isa) {
    return (isa >= 0 && isa <= VSEG_Q8_ISA_NEONDOT) ? isa_names[isa] : NULL;
}

static int isa_supported_uncached(int isa) {
    switch (isa) {
    case VSEG_Q8_ISA_PORTABLE: return 1;
#if defined(__x86_64__)
    case VSEG_Q8_ISA_AVX2: return vseg_cpu_has_avx2_fma();
    case VSEG_Q8_ISA_AVXVNNI: return vseg_cpu_has_avxvnni();
    case VSEG_Q8_ISA_AVX512VNNI: return vseg_cpu_has_avx512vnni();
#endif
#ifdef VSEG_Q8_HAVE_NEONDOT
    case VSEG_Q8_ISA_NEONDOT: return 1;
#endif
    default: return 0;
    }
}

/* cpuid traps to the hypervisor in VMs: ask once per ISA. */
int vseg_q8_isa_supported(int isa) {
    static int cache[VSEG_Q8_ISA_NEONDOT + 1] = {-1, -1, -1, -1, -1};
    if (isa < 0 || isa > VSEG_Q8_ISA_NEONDOT) return 0;
    int v = __atomic_load_n(&cache[isa], __ATOMIC_RELAXED);
    if (v < 0) {
        v = isa_supported_uncached(isa) ? 1 : 0;
        __atomic_store_n(&cache[isa], v, __ATOMIC_RELAXED);
    }
    return v;
}

static int best_isa(void) {
    static const int order[] = {VSEG_Q8_ISA_AVX512VNNI, VSEG_Q8_ISA_AVXVNNI, VSEG_Q8_ISA_NEONDOT, VSEG_Q8_ISA_AVX2};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (vseg_q8_isa_supported(order[i])) return order[i];
    return VSEG_Q8_ISA_PORTABLE;
}

int vseg_q8_select_isa(void) {
    static int cached = -1; /* benign race: every thread computes the same value */
    int isa = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (isa >= 0) return isa;
    isa = best_isa();
    const char *env = getenv("VSEG_INT8_ISA");
    if (env) {
        for (int i = 0; i <= VSEG_Q8_ISA_NEONDOT; i++)
            if (strcmp(env, isa_names[i]) == 0 && vseg_q8_isa_supported(i)) isa = i;
    }
    __atomic_store_n(&cached, isa, __ATOMIC_RELAXED);
    return isa;
}

/* ---- packing -------------------------------------------------------------- */

static size_t kgroups(size_t kc) { return (kc + 3) / 4; }
static size_t panel_bytes(size_t taps, size_t kc) { return 192 + taps * kgroups(kc) * 64; }

size_t vseg_q8_packed_gemm_size(size_t n, size_t taps, size_t kc) {
    return ((n + 15) / 16) * panel_bytes(taps, kc);
}

void vseg_q8_pack_gemm(size_t n, size_t taps, size_t kc, const int8_t *weights, const int32_t *bias,
                       const float *scale, int32_t zp_in, void *packed) {
    const size_t pb = panel_bytes(taps, kc), kg = kgroups(kc), panels = (n + 15) / 16;
    uint8_t *out = (uint8_t *)packed;
    memset(out, 0, panels * pb);
    for (size_t p = 0; p < panels; p++) {
        uint8_t *panel = out + p * pb;
        int32_t pbias[16] = {0}, psum[16] = {0};
        float pscale[16] = {0};
        int8_t *pw = (int8_t *)(panel + 192);
        for (size_t j = 0; j < 16; j++) {
            size_t col = p * 16 + j;
            if (col >= n) break;
            const int8_t *src = weights + col * taps * kc;
            int32_t sum = 0;
            for (size_t t = 0; t < taps; t++)
                for (size_t k = 0; k < kc; k++) {
                    int8_t v = src[t * kc + k];
                    sum += v;
                    pw[((t * kg + k / 4) * 16 + j) * 4 + (k % 4)] = v;
                }
            psum[j] = sum;
            pbias[j] = (bias ? bias[col] : 0) - zp_in * sum;
            pscale[j] = scale[col];
        }
        memcpy(panel, pbias, 64);
        memcpy(panel + 64, pscale, 64);
        memcpy(panel + 128, psum, 64);
    }
}

size_t vseg_q8_packed_dw_size(size_t channels, size_t taps) {
    return ((channels + 15) / 16) * (128 + taps * 64);
}

void vseg_q8_pack_dw(size_t channels, size_t taps, const int8_t *weights, const int32_t *bias,
                     const float *scale, int32_t zp_in, void *packed) {
    const size_t blocks = (channels + 15) / 16, bb = 128 + taps * 64;
    uint8_t *out = (uint8_t *)packed;
    memset(out, 0, blocks * bb);
    for (size_t b = 0; b < blocks; b++) {
        uint8_t *blk = out + b * bb;
        int32_t pbias[16] = {0};
        float pscale[16] = {0};
        for (size_t j = 0; j < 16 && b * 16 + j < channels; j++) {
            size_t ch = b * 16 + j;
            int32_t sum = 0;
            for (size_t t = 0; t < taps; t++) {
                int8_t v = weights[t * channels + ch];
                sum += v;
                const int32_t wide = v; /* int32 lanes: vpdpbusd / vpmaddwd against zero-extended u8 */
                memcpy(blk + 128 + (t * 16 + j) * 4, &wide, 4);
            }
            pbias[j] = (bias ? bias[ch] : 0) - zp_in * sum;
            pscale[j] = scale[ch];
        }
        memcpy(blk, pbias, 64);
        memcpy(blk + 64, pscale, 64);
    }
}

/* ---- portable variant ------------------------------------------------------ */

/* The one requantization every variant reproduces (see QuantScheme.swift). */
static inline uint8_t requant_scalar(int32_t acc, float scale, const vseg_q8_output_params *p) {
    const float lo = (float)(p->qmin - p->zero_point), hi = (float)(p->qmax - p->zero_point);
    float y = (float)acc * scale;
    y = y < lo ? lo : y;
    y = y > hi ? hi : y;
    /* |y| <= 255 < 2^22: adding 1.5 * 2^23 rounds to an integer, half to even. */
    const float magic = 12582912.0f;
    /* (y + magic) - magic is exact IEEE arithmetic; only -ffast-math (never used here) could fold it */
    const float r = (y + magic) - magic;
    return (uint8_t)((int32_t)r + p->zero_point);
}

static void ukernel_portable(size_t mr, size_t nc, size_t taps, size_t kc, const uint8_t *input,
                             const int64_t *offs, size_t a_stride, const uint8_t *zero, const uint8_t *w,
                             size_t pb, uint8_t *c, size_t c_stride, const vseg_q8_output_params *p) {
    /* mr <= 4, nc <= 16: one panel */
    (void)pb;
    int32_t acc[4][16];
    const int32_t *bias = (const int32_t *)w;
    const float *scale = (const float *)(w + 64);
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < 16; j++) acc[i][j] = bias[j];
    const int8_t *wk = (const int8_t *)(w + 192);
    const size_t kg = kgroups(kc);
    for (size_t t = 0; t < taps; t++) {
        for (size_t i = 0; i < mr; i++) {
            const uint8_t *a;
            if (offs) {
                int64_t o = offs[i * taps + t];
                a = o < 0 ? zero : input + o;
            } else {
                a = input + i * a_stride;
            }
            for (size_t k = 0; k < kc; k++) {
                const int8_t *wrow = wk + ((k / 4) * 16) * 4 + (k % 4);
                int32_t av = a[k];
                for (size_t j = 0; j < 16; j++) acc[i][j] += av * wrow[j * 4];
            }
        }
        wk += kg * 64;
    }
    if (p->float_out) {
        for (size_t i = 0; i < mr; i++)
            for (size_t j = 0; j < nc; j++) {
                float y = (float)acc[i][j] * scale[j];
                y = y < p->fmin ? p->fmin : y;
                y = y > p->fmax ? p->fmax : y;
                memcpy(c + i * c_stride + j * 4, &y, 4);
            }
        return;
    }
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nc; j++) c[i * c_stride + j] = requant_scalar(acc[i][j], scale[j], p);
}

static void dw_portable(const vseg_q8_dw_geometry *g, const uint8_t *input, const uint8_t *zero,
                        const uint8_t *packed, uint8_t *output, int32_t y_begin, int32_t y_end,
                        const vseg_q8_output_params *p) {
    const int32_t C = g->channels, taps = g->k_h * g->k_w;
    const size_t bb = 128 + (size_t)taps * 64;
    const uint8_t *rows[VSEG_Q8_DW_MAX_TAPS];
    for (int32_t oy = y_begin; oy < y_end; oy++)
        for (int32_t ox = 0; ox < g->out_w; ox++) {
            uint8_t *out = output + ((size_t)oy * g->out_w + ox) * C;
            for (int32_t c0 = 0; c0 < C; c0 += 16) {
                const uint8_t *blk = packed + (size_t)(c0 / 16) * bb;
                const int32_t cols = C - c0 < 16 ? C - c0 : 16;
                int32_t acc[16];
                memcpy(acc, blk, 64);
                /* taps in chunks of VSEG_Q8_DW_MAX_TAPS: any kernel size works */
                for (int32_t t0 = 0; t0 < taps; t0 += VSEG_Q8_DW_MAX_TAPS) {
                    const int32_t tn = taps - t0 < VSEG_Q8_DW_MAX_TAPS ? taps - t0 : VSEG_Q8_DW_MAX_TAPS;
                    for (int32_t i = 0; i < tn; i++) {
                        const int32_t t = t0 + i, ky = t / g->k_w, kx = t % g->k_w;
                        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
                        const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dilation_w;
                        rows[i] = (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w)
                            ? zero : input + ((size_t)iy * g->in_w + ix) * C;
                    }
                    for (int32_t i = 0; i < tn; i++) {
                        const uint8_t *r = rows[i] + c0;
                        const int32_t *w = (const int32_t *)(blk + 128) + (t0 + i) * 16;
                        for (int32_t j = 0; j < cols; j++) acc[j] += (int32_t)r[j] * w[j];
                    }
                }
                for (int32_t j = 0; j < cols; j++) out[c0 + j] = requant_scalar(acc[j], ((const float *)(blk + 64))[j], p);
            }
        }
}

/* ---- drivers ---------------------------------------------------------------- */

typedef struct {
    q8_ukernel kernel;
    size_t mr;     /* rows per call */
    size_t block;  /* columns per call (multiple of 16) */
} q8_variant;

static q8_variant variant(int isa) {
    q8_variant v = {ukernel_portable, 4, 16};
    switch (isa) {
#if defined(__x86_64__)
    case VSEG_Q8_ISA_AVX512VNNI: v.kernel = vseg_q8_ukernel_avx512vnni; v.mr = 6; v.block = 64; break;
    case VSEG_Q8_ISA_AVXVNNI: v.kernel = vseg_q8_ukernel_avxvnni; v.mr = 6; v.block = 16; break;
    case VSEG_Q8_ISA_AVX2: v.kernel = vseg_q8_ukernel_avx2; v.mr = 6; v.block = 16; break;
#endif
#ifdef VSEG_Q8_HAVE_NEONDOT
    case VSEG_Q8_ISA_NEONDOT: v.kernel = vseg_q8_ukernel_neondot; v.mr = 4; v.block = 16; break;
#endif
    default: break;
    }
    return v;
}

static void run_gemm(int isa, size_t m, size_t n, size_t taps, size_t kc, const uint8_t *input,
                     const int64_t *offs, size_t a_stride, const uint8_t *zero, const void *packed,
                     uint8_t *c, size_t c_stride, const vseg_q8_output_params *p) {
    if (!vseg_q8_isa_supported(isa)) isa = VSEG_Q8_ISA_PORTABLE;
    const q8_variant v = variant(isa);
    const size_t pb = panel_bytes(taps, kc);
    const uint8_t *w = (const uint8_t *)packed;
    const size_t es = p->float_out ? 4 : 1; /* bytes per output element */
    /* N blocks outside: one block of packed weights stays in L1 while rows stream by. */
    for (size_t n0 = 0; n0 < n; n0 += v.block) {
        const size_t nc = n - n0 < v.block ? n - n0 : v.block;
        const uint8_t *wb = w + (n0 / 16) * pb;
        for (size_t m0 = 0; m0 < m; m0 += v.mr) {
            const size_t mr = m - m0 < v.mr ? m - m0 : v.mr;
            if (offs)
                v.kernel(mr, nc, taps, kc, input, offs + m0 * taps, 0, zero, wb, pb, c + m0 * c_stride + n0 * es,
                         c_stride, p);
            else
                v.kernel(mr, nc, 1, kc, input + m0 * a_stride, NULL, a_stride, zero, wb, pb,
                         c + m0 * c_stride + n0 * es, c_stride, p);
        }
    }
}

void vseg_q8_gemm(int isa, size_t m, size_t n, size_t k, const uint8_t *a, size_t a_stride, const void *packed,
                  uint8_t *c, size_t c_stride, const vseg_q8_output_params *params) {
    run_gemm(isa, m, n, 1, k, a, NULL, a_stride, NULL, packed, c, c_stride, params);
}

void vseg_q8_igemm(int isa, size_t m, size_t n, size_t taps, size_t kc, const int64_t *offsets,
                   const uint8_t *input, const uint8_t *zero, const void *packed, uint8_t *c, size_t c_stride,
                   const vseg_q8_output_params *params) {
    run_gemm(isa, m, n, taps, kc, input, offsets, 0, zero, packed, c, c_stride, params);
}

void vseg_q8_dwconv(int isa, const vseg_q8_dw_geometry *g, const uint8_t *input, const uint8_t *zero,
                    const void *packed, uint8_t *output, int32_t y_begin, int32_t y_end,
                    const vseg_q8_output_params *params) {
    q8_dwkernel k = dw_portable;
#if defined(__x86_64__)
    /* the SIMD kernels keep one pointer per tap on the stack: up to 8x8 kernels */
    if (g->k_h * g->k_w <= VSEG_Q8_DW_MAX_TAPS && vseg_q8_isa_supported(isa)) {
        if (isa == VSEG_Q8_ISA_AVX512VNNI) k = vseg_q8_dw_avx512;
        else if (isa == VSEG_Q8_ISA_AVX2 || isa == VSEG_Q8_ISA_AVXVNNI) k = vseg_q8_dw_avx2;
    }
#else
    (void)isa;
#endif
    k(g, input, zero, (const uint8_t *)packed, output, y_begin, y_end, params);
}
