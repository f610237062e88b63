import VSegCore

/// What a source knows about its stream before the first frame.
public struct SourceInfo: Sendable {
    /// Human-readable name for logs ("samples/bikes.mp4", "/dev/video0", "udp://...").
    public var uri: String
    public var width: Int
    public var height: Int
    /// Pixel format of the frames `nextFrame()` returns.
    public var pixelFormat: PixelFormat
    /// Nominal frame rate (0/1 when unknown).
    public var frameRate: Rational
    /// Time base of `Frame.timestamp`.
    public var timeBase: Rational
    /// Frame count when the container says (files), nil for live sources.
    public var frameCount: Int?
    /// Duration in seconds when known.
    public var duration: Double?
    /// Live sources (cameras, network streams) are flow-limited; files never drop.
    public var isLive: Bool
    /// Codec name of the video stream ("h264", "mjpeg", "rawvideo", ...).
    public var codec: String

    public init(uri: String, width: Int, height: Int, pixelFormat: PixelFormat, frameRate: Rational,
                timeBase: Rational, frameCount: Int?, duration: Double?, isLive: Bool, codec: String) {
        self.uri = uri; self.width = width; self.height = height; self.pixelFormat = pixelFormat
        self.frameRate = frameRate; self.timeBase = timeBase; self.frameCount = frameCount
        self.duration = duration; self.isLive = isLive; self.codec = codec
    }
}

/// A producer of frames: file, network stream, camera, test pattern.
/// Called from one dedicated thread, except `interrupt()`.
public protocol FrameSource: AnyObject {
    var info: SourceInfo { get }
    /// Blocks until the next frame; nil at the end of the stream (or after `interrupt()`).
    /// Throws `MediaError` when the input is unreadable or breaks off mid-stream.
    func nextFrame() throws -> Frame?
    /// Makes a blocked or future `nextFrame()` return nil soon. Safe from any thread.
    func interrupt()
    /// Releases the device/file. Idempotent.
    func close()
}

/// A consumer of frames: encoder, raw writer, PNG sequence, network out.
/// Called from one dedicated thread.
public protocol FrameSink: AnyObject {
    /// Writes one frame (any pixel format the sink was opened for; it converts as needed).
    func write(_ frame: Frame) throws
    /// Flushes and finalizes the output (trailer, sidecar). Idempotent; called on
    /// normal end, on SIGINT/SIGTERM and after a source error.
    func finish() throws
    /// Frames fully handed to the output so far.
    var framesWritten: Int { get }
    /// Where the output goes, for messages.
    var destination: String { get }
}
