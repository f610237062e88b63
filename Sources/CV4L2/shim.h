#ifndef VSEG_CV4L2_SHIM_H
#define VSEG_CV4L2_SHIM_H
#include <linux/videodev2.h>
#include <libv4l2.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

/* libv4l2's open/ioctl are variadic, which Swift cannot call: fixed-arity wrappers. */
static inline int vseg_v4l2_open(const char *path, int flags) { return v4l2_open(path, flags); }
static inline int vseg_v4l2_ioctl(int fd, unsigned long request, void *arg) { return v4l2_ioctl(fd, request, arg); }

/* The request numbers as the C headers compute them. Swift computes its own
   (V4L2Request.swift); tests compare the two so a layout mismatch shows up. */
static inline unsigned long vseg_c_vidioc_querycap(void) { return VIDIOC_QUERYCAP; }
static inline unsigned long vseg_c_vidioc_enum_fmt(void) { return VIDIOC_ENUM_FMT; }
static inline unsigned long vseg_c_vidioc_g_fmt(void) { return VIDIOC_G_FMT; }
static inline unsigned long vseg_c_vidioc_s_fmt(void) { return VIDIOC_S_FMT; }
static inline unsigned long vseg_c_vidioc_reqbufs(void) { return VIDIOC_REQBUFS; }
static inline unsigned long vseg_c_vidioc_querybuf(void) { return VIDIOC_QUERYBUF; }
static inline unsigned long vseg_c_vidioc_qbuf(void) { return VIDIOC_QBUF; }
static inline unsigned long vseg_c_vidioc_dqbuf(void) { return VIDIOC_DQBUF; }
static inline unsigned long vseg_c_vidioc_streamon(void) { return VIDIOC_STREAMON; }
static inline unsigned long vseg_c_vidioc_streamoff(void) { return VIDIOC_STREAMOFF; }
static inline unsigned long vseg_c_vidioc_g_parm(void) { return VIDIOC_G_PARM; }
static inline unsigned long vseg_c_vidioc_s_parm(void) { return VIDIOC_S_PARM; }
static inline unsigned long vseg_c_vidioc_enum_framesizes(void) { return VIDIOC_ENUM_FRAMESIZES; }
static inline unsigned long vseg_c_vidioc_enum_frameintervals(void) { return VIDIOC_ENUM_FRAMEINTERVALS; }
static inline unsigned int vseg_c_pix_fmt_yuyv(void) { return V4L2_PIX_FMT_YUYV; }
static inline unsigned int vseg_c_pix_fmt_mjpeg(void) { return V4L2_PIX_FMT_MJPEG; }
static inline unsigned int vseg_c_pix_fmt_rgb24(void) { return V4L2_PIX_FMT_RGB24; }
#endif
