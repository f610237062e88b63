// VSegMedia: where frames come from and where they go.
//
// Sources (`FrameSource`), opened with `openSource(uri:options:)`:
//   FFmpegSource       files (mp4/mkv/mov/avi/ts), image sequences (`%06d.png`,
//                      globs, directories), udp/rtp/rtsp/srt/tcp/http streams.
//                      Decoder threads from FFmpeg; one swscale conversion to
//                      `SourceOptions.pixelFormat`. Live streams: open/read
//                      timeouts through an AVIOInterruptCB, reconnect with
//                      backoff, pts kept increasing across gaps.
//   TestPatternSource  `pattern:WxH@FPS[?realtime]`, a checkable moving picture.
//   V4L2Source         `/dev/videoN` (see V4L2/).
//
// Sinks (`FrameSink`), opened with `openSink(path:source:options:audioFrom:)`:
//   EncodedVideoSink   mp4/mov/mkv/ts/avi files and `udp://` MPEG-TS; libx264
//                      (mpeg4 fallback); source timestamps (VFR kept); audio
//                      copied from an `AudioPassthrough`.
//   Y4MSink            `.y4m` or `-` (stdout).
//   RawVideoSink       `.rgb` + `.rgb.json` sidecar.
//   PNGSequenceSink    directory, `%0Nd.png` pattern, or `name.png`.
//
// Every sink's `finish()` flushes and writes the trailer; it is idempotent and
// is called on normal end, on SIGINT/SIGTERM and after a source error.
//
// Errors are `MediaError` (a `UserFacingError`): one line naming the input or
// output and what to do. FFmpeg's own log is silent unless
// VSEG_FFMPEG_LOG=error|warning|info|debug. Informational events (reconnects,
// encoder fallback, skipped audio) go through `MediaLog.handler`.
//
// Only this module imports CFFmpeg; the C shim (Sources/CFFmpeg/shim.h) turns
// FFmpeg's error macros into functions and holds the atomic interrupt state.
