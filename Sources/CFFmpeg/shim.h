#ifndef VSEG_CFFMPEG_SHIM_H
#define VSEG_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/error.h>
#include <libswscale/swscale.h>

/* Macros Swift cannot import come back as inline functions/constants. */
static inline int vseg_averror(int e) { return AVERROR(e); }
static inline int vseg_averror_eof(void) { return AVERROR_EOF; }
static inline int vseg_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int64_t vseg_av_nopts_value(void) { return AV_NOPTS_VALUE; }
#endif
