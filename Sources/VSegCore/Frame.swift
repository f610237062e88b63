/// One decoded video frame as it moves through the pipeline.
public struct Frame: @unchecked Sendable {
    public var buffer: PixelBuffer
    /// Presentation time in the source's time base (exact, for sinks).
    public var timestamp: Timestamp
    /// Duration in the same time base when the source knows it.
    public var duration: Int64?
    /// 0-based index of this frame in the source (counts dropped frames too).
    public var index: Int
    /// Monotonic clock (ns) when the source produced the frame; used for latency stats.
    public var captureNanos: UInt64

    public init(buffer: PixelBuffer, timestamp: Timestamp, duration: Int64? = nil, index: Int, captureNanos: UInt64 = Clock.nanos()) {
        self.buffer = buffer
        self.timestamp = timestamp
        self.duration = duration
        self.index = index
        self.captureNanos = captureNanos
    }

    public var width: Int { buffer.width }
    public var height: Int { buffer.height }
    public var format: PixelFormat { buffer.format }
    /// Presentation time in seconds.
    public var pts: Double { timestamp.seconds }
}
