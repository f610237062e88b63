#ifndef VSEG_CV4L2_SHIM_H
#define VSEG_CV4L2_SHIM_H
#include <linux/videodev2.h>
#include <libv4l2.h>
#include <fcntl.h>
#include <sys/mman.h>

/* libv4l2's open/ioctl are variadic, which Swift cannot call: fixed-arity wrappers. */
static inline int vseg_v4l2_open(const char *path, int flags) { return v4l2_open(path, flags); }
static inline int vseg_v4l2_ioctl(int fd, unsigned long request, void *arg) { return v4l2_ioctl(fd, request, arg); }
#endif
