#ifndef VSEG_CFFMPEG_SHIM_H
#define VSEG_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* Macros Swift cannot import come back as inline functions/constants. */
static inline int vseg_averror(int e) { return AVERROR(e); }
static inline int vseg_averror_eof(void) { return AVERROR_EOF; }
static inline int vseg_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int vseg_averror_exit(void) { return AVERROR_EXIT; }
static inline int vseg_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int vseg_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
static inline int vseg_averror_demuxer_not_found(void) { return AVERROR_DEMUXER_NOT_FOUND; }
static inline int64_t vseg_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational vseg_av_time_base_q(void) { return AV_TIME_BASE_Q; }

/*
 * Interrupt state for blocking libavformat calls. The callback runs on the
 * reading thread inside avformat; `interrupted` is set from any thread, so the
 * fields are C11 atomics (Swift sees only these functions).
 */
typedef struct vseg_interrupt {
    atomic_int interrupted;       /* set by interrupt(): abort for good */
    atomic_llong deadline_ns;     /* CLOCK_MONOTONIC ns; 0 = no deadline */
    atomic_int timed_out;         /* set by the callback when the deadline fired */
} vseg_interrupt;

static inline int64_t vseg_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int vseg_interrupt_callback(void *opaque) {
    vseg_interrupt *s = (vseg_interrupt *)opaque;
    if (atomic_load(&s->interrupted)) return 1;
    long long d = atomic_load(&s->deadline_ns);
    if (d != 0 && vseg_monotonic_ns() > d) {
        atomic_store(&s->timed_out, 1);
        return 1;
    }
    return 0;
}

static inline vseg_interrupt *vseg_interrupt_create(void) {
    vseg_interrupt *s = (vseg_interrupt *)calloc(1, sizeof(vseg_interrupt));
    return s;
}
static inline void vseg_interrupt_destroy(vseg_interrupt *s) { free(s); }
static inline void vseg_interrupt_trigger(vseg_interrupt *s) { atomic_store(&s->interrupted, 1); }
static inline int vseg_interrupt_is_triggered(vseg_interrupt *s) { return atomic_load(&s->interrupted); }
/* Arms a deadline `seconds` from now (<= 0 disarms) and clears the timed-out flag. */
static inline void vseg_interrupt_arm(vseg_interrupt *s, double seconds) {
    atomic_store(&s->timed_out, 0);
    atomic_store(&s->deadline_ns, seconds > 0 ? vseg_monotonic_ns() + (long long)(seconds * 1e9) : 0);
}
static inline int vseg_interrupt_timed_out(vseg_interrupt *s) { return atomic_load(&s->timed_out); }
static inline void vseg_install_interrupt(AVFormatContext *ctx, vseg_interrupt *s) {
    ctx->interrupt_callback.callback = vseg_interrupt_callback;
    ctx->interrupt_callback.opaque = s;
}
static inline AVIOInterruptCB vseg_interrupt_cb(vseg_interrupt *s) {
    AVIOInterruptCB cb = { vseg_interrupt_callback, s };
    return cb;
}
#endif
