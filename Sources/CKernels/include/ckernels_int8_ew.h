#ifndef VSEG_CKERNELS_INT8_EW_H
#define VSEG_CKERNELS_INT8_EW_H
/*
 * INT8 elementwise kernels (int8_elementwise.c): the hot loops of the INT8
 * non-conv ops in Sources/VSegEngine/Ops/Int8. Each is the Swift twin's
 * arithmetic operation for operation (no FMA, no reassociation), so fast and
 * reference paths agree bit for bit. Requantization of a float y in output
 * units (QuantScheme.swift, Int8Requant):
 *   y = min(max(y, lo), hi); q = round_half_even(y) + zero_point
 *
 * `isa` is a VSEG_Q8_ISA_* value (usually vseg_q8_select_isa(), which honours
 * VSEG_INT8_ISA): avx512vnni runs the AVX-512 clones, avx2/avxvnni the AVX2
 * clones, anything else (or a variant this CPU lacks) the portable C. Table
 * lookups (vseg_q8_lut, mapped concat slabs, the table form of binary rows) use
 * vpermi2b when, in addition, the CPU has AVX-512 VBMI; a byte loop otherwise.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    VSEG_Q8_BINARY_ADD = 0,
    VSEG_Q8_BINARY_SUB = 1,
    VSEG_Q8_BINARY_MUL = 2,
    VSEG_Q8_BINARY_MAX = 3,
    VSEG_Q8_BINARY_MIN = 4,
};

/* Operands in output units: A = ((float)qa - za) * ka, B = ((float)qb - zb) * kb
 * (a float operand is used as is); y = A op B, then requantized with lo, hi,
 * zero_point. */
typedef struct {
    int32_t op;          /* VSEG_Q8_BINARY_* */
    int32_t zero_point;  /* output zero point */
    float za, ka, zb, kb;
    float lo, hi;        /* clamp in output units (fused activation included) */
} vseg_q8_binary_params;

/* A rows x n block. Element (r, i) reads a[r * a_row + i * a_step],
 * b[r * b_row + i * b_step] (steps 0 or 1: 0 broadcasts one value over the row)
 * and writes y[r * y_row + i]. Strides are in elements. */
void vseg_q8_binary_u8(int isa, const vseg_q8_binary_params *p, size_t rows, size_t n,
                       const uint8_t *a, size_t a_row, size_t a_step,
                       const uint8_t *b, size_t b_row, size_t b_step,
                       uint8_t *y, size_t y_row);
/* Same with a float32 B already in output units (a folded constant).
 * On AVX-512 VBMI a long row against one B value is a 256-entry table made with
 * the same arithmetic, then looked up. */
void vseg_q8_binary_f32(int isa, const vseg_q8_binary_params *p, size_t rows, size_t n,
                        const uint8_t *a, size_t a_row, size_t a_step,
                        const float *b, size_t b_row, size_t b_step,
                        uint8_t *y, size_t y_row);

/* One output row of an NHWC bilinear resize of uint8 values (Int8ResizeOp.lerp):
 * pixel ox blends r0/r1 (input rows y0, y1) at byte offsets x0[ox], x1[ox]
 * (column index * c) with weights wx[ox] and fy:
 *   top = q00 * (1 - fx) + q01 * fx, bot = q10 * (1 - fx) + q11 * fx,
 *   v = top * (1 - fy) + bot * fy, clamped to 0...255, rounded half to even. */
void vseg_q8_resize_bilinear_row(int isa, const uint8_t *r0, const uint8_t *r1, size_t ow, size_t c,
                                 const ptrdiff_t *x0, const ptrdiff_t *x1, const float *wx, float fy,
                                 uint8_t *y);

/* Average pooling, NHWC uint8, one output row. */
typedef struct {
    int32_t in_h, in_w, channels, out_w;
    int32_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
} vseg_q8_pool_geometry;

/* Output row oy of one image (Int8PoolOp's average): per pixel and channel
 * acc = sum over the taps inside the image of (q - zp_in) (int32, exact), then
 * y = (float)acc * mult[max(div_h * div_w[ox], 1)] requantized with lo, hi,
 * zero_point. div_h / div_w[ox]: taps counted by the divisor along H (this row)
 * and W (pixel ox). */
void vseg_q8_avgpool_row(int isa, const vseg_q8_pool_geometry *g, const uint8_t *image, int32_t oy,
                         int32_t div_h, const int32_t *div_w, const float *mult, int32_t zp_in,
                         float lo, float hi, int32_t zero_point, uint8_t *y);

/* Output row oy of max pooling (Int8PoolOp's max): per pixel and channel the
 * byte max over the taps inside the image (0 when there are none), then
 * clamped to qmin...qmax. */
void vseg_q8_maxpool_row(int isa, const vseg_q8_pool_geometry *g, const uint8_t *image, int32_t oy,
                         uint8_t qmin, uint8_t qmax, uint8_t *y);

/* Column sums for ReduceMean: acc[i] = sum over r < rows of x[r * inner + i]
 * (int32, exact; rows * 255 must fit). */
void vseg_q8_sum_rows(int isa, const uint8_t *x, size_t rows, size_t inner, int32_t *acc);
/* y[i] = requant((float)(acc[i] - bias) * k) with lo, hi, zero_point. */
void vseg_q8_requant_sums(int isa, const int32_t *acc, size_t n, int32_t bias, float k, float lo, float hi,
                          int32_t zero_point, uint8_t *y);

/* y[i] = table[x[i]] for n bytes (256-entry table). */
void vseg_q8_lut(int isa, const uint8_t *table, const uint8_t *x, uint8_t *y, size_t n);

/* Concat rows: for each row r in [0, rows) and input k in [0, count), the
 * slabs[k] bytes at srcs[k] + r * slabs[k] go to y + r * row_bytes + (sum of the
 * earlier slabs), through tables[k] when it is not NULL, copied otherwise. */
void vseg_q8_concat_rows(int isa, size_t rows, size_t count, const uint8_t *const *srcs, const size_t *slabs,
                         const uint8_t *const *tables, uint8_t *y, size_t row_bytes);

#ifdef __cplusplus
}
#endif
#endif
