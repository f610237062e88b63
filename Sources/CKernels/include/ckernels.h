#ifndef VSEG_CKERNELS_H
#define VSEG_CKERNELS_H
/* CPU feature flags, read once via cpuid/__builtin_cpu_supports. */
int vseg_cpu_has_avx512f(void);
int vseg_cpu_has_avx2_fma(void);
int vseg_cpu_has_avx512vnni(void);
int vseg_cpu_has_avxvnni(void);

/* Spin-wait hint (x86 `pause`, arm64 `yield`): a thread polling an atomic
   leaves the core's execution resources and memory bus to the thread it waits
   for, and leaves the spin loop faster when the value changes. */
static inline void vseg_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
#endif
