import CFFmpeg
import VSegCore

/// Converts a `PixelBuffer` into another size and/or pixel format with
/// swscale (bicubic; BT.601 limited range for YUV, like the ffmpeg CLI's
/// default). Same geometry and format is a plain copy. Keeps one swscale
/// context per geometry, so the per-frame call does not allocate.
///
/// For modules that produce frames outside FFmpeg (V4L2, stages) and need a
/// format the next stage asks for. One instance per thread.
public final class PixelConverter {
    private let scaler = Scaler()

    public init() {}

    /// Writes `source` into `destination`, converting format and size.
    /// Throws `MediaError.invalidOption` when swscale has no such conversion.
    public func convert(_ source: PixelBuffer, into destination: PixelBuffer) throws {
        try scaler.convert(ImageRef(source), into: ImageRef(destination))
    }
}
