#ifndef VSEG_CKERNELS_H
#define VSEG_CKERNELS_H
/* CPU feature flags, read once via cpuid/__builtin_cpu_supports. */
int vseg_cpu_has_avx512f(void);
int vseg_cpu_has_avx2_fma(void);
int vseg_cpu_has_avx512vnni(void);
int vseg_cpu_has_avxvnni(void);
#endif
