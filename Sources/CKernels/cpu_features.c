#include "ckernels.h"

#if defined(__x86_64__) || defined(__i386__)
int vseg_cpu_has_avx512f(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}
int vseg_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
int vseg_cpu_has_avx512vnni(void) {
    __builtin_cpu_init();
    return vseg_cpu_has_avx512f() && __builtin_cpu_supports("avx512vnni");
}
int vseg_cpu_has_avxvnni(void) {
    __builtin_cpu_init();
    /* gcc 12 / clang know "avxvnni"; checked through cpuid leaf 7 subleaf 1 EAX bit 4 to avoid compiler differences. */
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
    return vseg_cpu_has_avx2_fma() && ((a >> 4) & 1);
}
#else
int vseg_cpu_has_avx512f(void) { return 0; }
int vseg_cpu_has_avx2_fma(void) { return 0; }
int vseg_cpu_has_avx512vnni(void) { return 0; }
int vseg_cpu_has_avxvnni(void) { return 0; }
#endif
