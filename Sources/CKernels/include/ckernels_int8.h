#ifndef VSEG_CKERNELS_INT8_H
#define VSEG_CKERNELS_INT8_H
/*
 * INT8 GEMM / conv microkernels (issue 4 part 4). The scheme, documented in
 * Sources/VSegEngine/Quantization/QuantScheme.swift, in short:
 *   activations uint8 asymmetric per tensor, weights int8 symmetric per output
 *   channel, int32 accumulation, zero-point compensation folded into the
 *   packed bias, requantization in fp32:
 *     y = (float)acc * scale[n]            (round-to-nearest-even, no FMA)
 *     y = min(max(y, qmin - zp_out), qmax - zp_out)
 *     q = rne(y) + zp_out                  (cvtps2dq / magic number, RNE)
 * Every variant is bit-exact against the Swift reference (Int8Reference).
 *
 * Packed GEMM weights (ISA-independent, made by vseg_q8_pack_gemm): N in panels
 * of 16 output channels; per panel: int32 bias[16] (already minus
 * zp_in * sum_k w), float scale[16], int32 wsum[16] (sum_k w, for kernels that
 * run activations signed), then for each K group of 4: 16 columns x 4 bytes
 * (column-major within the group). K is padded per "tap" to a multiple of 4
 * with zero weights.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Instruction-set variants. */
enum {
    VSEG_Q8_ISA_PORTABLE = 0,
    VSEG_Q8_ISA_AVX2 = 1,
    VSEG_Q8_ISA_AVXVNNI = 2,
    VSEG_Q8_ISA_AVX512VNNI = 3,
    VSEG_Q8_ISA_NEONDOT = 4,
};

/* Best variant this CPU runs; VSEG_INT8_ISA=avx512vnni|avxvnni|avx2|neondot|portable
 * picks another one the CPU supports (unsupported requests fall back to the best). */
int vseg_q8_select_isa(void);
/* 1 when `isa` runs on this CPU (and was compiled in). */
int vseg_q8_isa_supported(int isa);
/* "avx512vnni", "avxvnni", "avx2", "neondot", "portable"; NULL for unknown. */
const char *vseg_q8_isa_name(int isa);

/* Output requantization shared by one GEMM / conv call (per-channel scales are packed). */
typedef struct {
    int32_t zero_point;  /* output zero point, 0...255 */
    int32_t qmin, qmax;  /* output clamp in uint8 units (carries fused ReLU / ReLU6) */
    /* GEMM / indirect GEMM only: when non-zero the output is float32,
     * y = min(max((float)acc * scale[n], fmin), fmax) (the packed scale is then
     * input_scale * weight_scale[n]); `c` points at floats, c_stride stays in bytes.
     * For layers whose result leaves the INT8 graph: no uint8 rounding of the output. */
    int32_t float_out;
    float fmin, fmax;
} vseg_q8_output_params;

/* Rows of output computed per microkernel call; M is split freely by callers. */
#define VSEG_Q8_PANEL 16

/* Bytes of the packed weights for N outputs, `taps` taps of `kc` input channels each. */
size_t vseg_q8_packed_gemm_size(size_t n, size_t taps, size_t kc);
/* weights: int8 [n][taps][kc] (OHWI with taps = kH*kW); bias: int32 [n] or NULL;
 * scale: float [n] (input_scale * weight_scale[n] / output_scale);
 * zp_in: the input zero point (folded into the packed bias). */
void vseg_q8_pack_gemm(size_t n, size_t taps, size_t kc, const int8_t *weights, const int32_t *bias,
                       const float *scale, int32_t zp_in, void *packed);

/* C[M][N] = requant(A[M][K] x W + bias'). A: uint8, row stride a_stride bytes;
 * packed made with taps = 1, kc = K. C: uint8, row stride c_stride bytes. */
void vseg_q8_gemm(int isa, size_t m, size_t n, size_t k, const uint8_t *a, size_t a_stride,
                  const void *packed, uint8_t *c, size_t c_stride, const vseg_q8_output_params *params);

/* Indirect GEMM for KxK convs: row i, tap t reads kc bytes at
 * input + offsets[i * taps + t], or `zero` (kc bytes of zp_in) when the offset is < 0.
 * packed made with the same taps and kc. */
void vseg_q8_igemm(int isa, size_t m, size_t n, size_t taps, size_t kc, const int64_t *offsets,
                   const uint8_t *input, const uint8_t *zero, const void *packed, uint8_t *c, size_t c_stride,
                   const vseg_q8_output_params *params);

/* Depthwise conv (channel multiplier 1), NHWC uint8, any kH/kW/stride/dilation/pad. */
typedef struct {
    int32_t in_h, in_w, channels;
    int32_t out_h, out_w;
    int32_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
} vseg_q8_dw_geometry;

/* Packed depthwise weights: per block of 16 channels: int32 bias[16] (minus
 * zp_in * sum of taps), float scale[16], then int32 w[taps][16] (int8 values
 * widened so SIMD kernels multiply them against zero-extended u8 lanes). */
size_t vseg_q8_packed_dw_size(size_t channels, size_t taps);
/* weights: int8 [kH][kW][C]; bias int32 [C] or NULL; scale float [C]. */
void vseg_q8_pack_dw(size_t channels, size_t taps, const int8_t *weights, const int32_t *bias,
                     const float *scale, int32_t zp_in, void *packed);
/* Computes output rows [y_begin, y_end) of one image. `zero`: `channels` bytes of zp_in.
 * SIMD paths (AVX-512 VNNI; AVX2 also for AVX-VNNI) up to 64 taps, portable C otherwise. */
void vseg_q8_dwconv(int isa, const vseg_q8_dw_geometry *g, const uint8_t *input, const uint8_t *zero,
                    const void *packed, uint8_t *output, int32_t y_begin, int32_t y_end,
                    const vseg_q8_output_params *params);

/* Row-flat depthwise for stride 1 on AVX-512 VNNI (int8_dwflat.c): per 64
 * output bytes and group of four taps, four loads interleaved bytewise and
 * 4 vpdpbusd. Use only when
 * vseg_q8_dwflat_supported(isa, g). Packed per channel phase by
 * vseg_q8_pack_dwflat (same arguments as vseg_q8_pack_dw); each concurrently
 * running call needs its own scratch of vseg_q8_dwflat_scratch_size(g) bytes.
 * `output` is the image's first output row; rows [y_begin, y_end) are written. */
int vseg_q8_dwflat_supported(int isa, const vseg_q8_dw_geometry *g);
size_t vseg_q8_packed_dwflat_size(size_t channels, size_t taps);
void vseg_q8_pack_dwflat(size_t channels, size_t taps, const int8_t *weights, const int32_t *bias,
                         const float *scale, int32_t zp_in, void *packed);
size_t vseg_q8_dwflat_scratch_size(const vseg_q8_dw_geometry *g);
void vseg_q8_dwconv_flat(const vseg_q8_dw_geometry *g, const uint8_t *input, const void *packed,
                         uint8_t *output, int32_t y_begin, int32_t y_end, const vseg_q8_output_params *p,
                         uint8_t *scratch, int32_t zp_in);

/* Depthwise on AVX-512 VNNI for any stride (int8_dwflat.c): per output pixel
 * and block of 64 channels, the row-flat kernel's groups of four interleaved
 * taps (4 vpdpbusd per four taps instead of one per tap and 16 channels).
 * Use only when vseg_q8_dwtap4_supported(isa, g); packed by
 * vseg_q8_pack_dwtap4 (same arguments as vseg_q8_pack_dw); `zero`: `channels`
 * bytes of zp_in. Arguments otherwise as vseg_q8_dwconv. */
int vseg_q8_dwtap4_supported(int isa, const vseg_q8_dw_geometry *g);
size_t vseg_q8_packed_dwtap4_size(size_t channels, size_t taps);
void vseg_q8_pack_dwtap4(size_t channels, size_t taps, const int8_t *weights, const int32_t *bias,
                         const float *scale, int32_t zp_in, void *packed);
void vseg_q8_dwconv_tap4(const vseg_q8_dw_geometry *g, const uint8_t *input, const uint8_t *zero,
                         const void *packed, uint8_t *output, int32_t y_begin, int32_t y_end,
                         const vseg_q8_output_params *p);

/* Row-flat dense conv for few output channels on AVX-512 VNNI (int8_convflat.c),
 * stride 1, groups 1. The GEMM tile spends a 16-column vpdpbusd on every 4
 * input bytes of one pixel, wasted when N is 1...8; here, per output channel,
 * one 64-byte load of a (zero-point padded) input row and one vpdpbusd per tap
 * cover 64 / in_c pixels, and 16 pixels' lanes are then summed pairwise.
 * Use only when vseg_q8_convflat_supported(isa, g, params): in_c 4, 8, 16, 32
 * or 64, out_c 1, 2, 4 or 8 with out_c * in_c <= 64, at most 64 taps; float32
 * output (params->float_out) only for out_c 1. Same int32 sums and fp32
 * requantization as the GEMM variants, so bit-exact with them. */
typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
} vseg_q8_conv_geometry;

int vseg_q8_convflat_supported(int isa, const vseg_q8_conv_geometry *g, const vseg_q8_output_params *params);
size_t vseg_q8_packed_convflat_size(size_t out_c, size_t taps);
/* Same arguments as vseg_q8_pack_gemm (weights int8 [out_c][taps][in_c]). */
void vseg_q8_pack_convflat(size_t out_c, size_t taps, size_t in_c, const int8_t *weights, const int32_t *bias,
                           const float *scale, int32_t zp_in, void *packed);
/* Bytes of scratch one concurrently running call needs. */
size_t vseg_q8_convflat_scratch_size(const vseg_q8_conv_geometry *g);
/* Output rows [y_begin, y_end) of one image; `input` / `output` point at the
 * image's first row (output: out_h * out_w * out_c bytes, or floats). */
void vseg_q8_convflat(const vseg_q8_conv_geometry *g, const uint8_t *input, const void *packed, uint8_t *output,
                      int32_t y_begin, int32_t y_end, const vseg_q8_output_params *p, uint8_t *scratch,
                      int32_t zp_in);

/* Per-tensor float32 -> uint8 (QuantizeOp's arithmetic: x / scale clamped to
 * +-512, round to nearest even, + zero_point, clamped to 0...255) and back
 * (scale * (q - zero_point)). Bit-identical to the Swift loops. */
void vseg_q8_quantize_f32(const float *x, uint8_t *y, size_t n, float scale, int32_t zero_point);
void vseg_q8_dequantize_u8(const uint8_t *x, float *y, size_t n, float scale, int32_t zero_point);

#ifdef __cplusplus
}
#endif
#endif
