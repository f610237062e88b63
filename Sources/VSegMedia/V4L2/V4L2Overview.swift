// V4L2 capture: how vseg reads a webcam or capture card through libv4l2.
// (Kept as a comment file so the target has no unhandled resources.)
//
//
// ## Layers (data flows down, calls go up)
//
// | file | what it is |
// |---|---|
// | `V4L2Device.swift` | The syscall table as a protocol: open, close, ioctl, mmap, munmap, poll, wake. |
// | `LibV4L2Device.swift` | The real one: `vseg_v4l2_open`/`vseg_v4l2_ioctl` (the C shim in `Sources/CV4L2`), `v4l2_mmap`, `poll` on the device plus an eventfd for `wake()`. |
// | `SimulatedV4L2Device*.swift` | A scripted camera in memory for tests and demos (`v4l2sim:`). |
// | `V4L2Handle.swift` | The one place every call goes through: retries EINTR and turns errno into a `V4L2Error` naming the device and the request. |
// | `V4L2Request.swift` | VIDIOC_* numbers computed from `_IOC` and `MemoryLayout` of the C structs (tests compare them with the C macros). |
// | `V4L2Capabilities.swift`, `V4L2Formats.swift` | QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES, ENUM_FRAMEINTERVALS. |
// | `V4L2Negotiation.swift` | Picks format, size and rate from the tables; every difference becomes a note. |
// | `V4L2Capture.swift` | S_FMT, S_PARM, REQBUFS, QUERYBUF + mmap, QBUF, STREAMON; `stop()` undoes it all. |
// | `V4L2Source.swift` | The `FrameSource`: poll, DQBUF, newest-frame-wins (YUYV/native RGB only: with MJPEG every DQBUF is a decode), conversion, timestamps, error policy. |
// | `YUYVConverter.swift`, `V4L2FrameConverter.swift` | YUYV to RGB24/BGR24/gray8 (BT.601 limited range, 8.8 fixed point), RGB24 copies. |
// | `V4L2Probe.swift` | `vseg probe /dev/videoN`. |
//
// ## What the user asks for, and what they get
//
// `V4L2Options` (or the pipeline's `source:` keys `width`, `height`, `frameRate`,
// `inputFormat`, `bufferCount`, `readTimeout`, `pixelFormat`):
//
// - **format** `auto` (default) picks whichever of YUYV and MJPEG comes nearest to the asked
//   size, then rate, and keeps YUYV on a tie. So 640x480@30 stays raw YUYV, and 1280x720@30
//   uses MJPEG when YUYV only reaches 10 fps over USB 2. `yuyv`, `mjpeg` and `rgb24` force one
//   and fall back (with a note) when the camera lacks it.
// - MJPEG and RGB24 frames come from libv4l2's conversion: vseg asks S_FMT for RGB3 at the
//   MJPEG size, and libv4l2 decodes. YUYV is converted in Swift.
// - Nearest size is the smallest |dw|+|dh| (larger on ties), and nearest rate is the smallest
//   |dfps| (faster on ties). Stepwise ranges are clamped and snapped to the step. The
//   driver's own S_FMT/S_PARM answer is final, and any difference is noted as well.
// - Timestamps are the driver's CLOCK_MONOTONIC capture times in microseconds from the
//   first frame, made strictly increasing. `Frame.index` follows the driver's sequence
//   numbers, so a gap means frames were lost. `captureNanos` is the driver's capture time,
//   so latency stats include the time a frame waited in the driver.
//
// ## Errors
//
// | errno | where | user sees |
// |---|---|---|
// | ENOENT/ENODEV/ENXIO | open | `/dev/video99: no such device; list cameras with ...` |
// | ENOTTY | open (libv4l2 runs QUERYCAP) | `... is not a video4linux device` |
// | EBUSY | open, S_FMT, REQBUFS | `... is busy: another program is using it; close it or pick another device` |
// | EACCES/EPERM | open | permission denied, join the `video` group |
// | (multi-planar only) | QUERYCAP | points to ffmpeg -f v4l2 piped over UDP |
// | ENOSPC | STREAMON | not enough USB bandwidth: use mjpeg, a lower mode or another port |
// | EAGAIN | DQBUF | retried (poll again) |
// | EIO | DQBUF | retried `maxIORetries` times with a short backoff, then QUERYCAP tells an unplug (ENODEV) from a failing camera |
// | ENODEV | after open | `camera /dev/videoN was disconnected; ...` |
// | EINTR | anywhere | retried |
// | no frame for `pollTimeout` (`firstFrameTimeout` before the first) | poll | timed out (or "sent only damaged frames" when every buffer was flagged) |
//
// ## Trying it on a real camera
//
//     vseg probe /dev/video0
//     vseg run pipelines/camera.yaml --set source.uri=/dev/video0 --set source.width=1280 --set source.height=720
//
// Without a camera, `sudo modprobe vivid` creates virtual V4L2 devices that go through the
// same libv4l2 path. In the sandbox this was written in, there was no camera and no vivid
// module, so the real path is covered only by the missing-device and not-a-V4L2-node tests
// and the eventfd poll test. Everything else runs against `SimulatedV4L2Device`.
