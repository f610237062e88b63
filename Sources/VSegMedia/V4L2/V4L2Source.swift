#if canImport(Glibc)
import Glibc
#endif
import CV4L2
import VSegCore

/// A V4L2 camera as a `FrameSource`: mmap streaming through libv4l2, RGB24 frames
/// (or BGR24, gray8, raw YUYV, yuv420p, nv12: `V4L2Options.output`).
///
/// - Opens the node, checks it can stream video, negotiates the nearest mode to
///   `V4L2Options` (logging every difference through `MediaLog`), then streams.
/// - `nextFrame()` polls with short slices (so `interrupt()` and the timeout are
///   prompt), dequeues, converts (YUYV in Swift, RGB24 as libv4l2 hands it),
///   and gives the buffer straight back to the driver.
/// - When the reader is slow and several frames are ready, only the newest is
///   handed out (`dropStaleFrames`); the skipped ones show as gaps in `Frame.index`.
/// - Timestamps are the driver's monotonic capture times in microseconds,
///   counted from the first frame; `Frame.index` follows the driver's sequence
///   numbers, so frames the driver dropped leave gaps.
/// - EAGAIN is retried, EIO up to `maxIORetries` times in a row, ENODEV ends the
///   stream with `V4L2Error.disconnected`.
public final class V4L2Source: FrameSource {
    public let info: SourceInfo
    /// What was chosen and every way it differs from what was asked.
    public let negotiation: V4L2Negotiation
    public let notes: [String]
    public let capabilities: V4L2Capabilities
    /// mmap buffers the driver granted.
    public var bufferCount: Int { capture.buffers.count }
    /// Frames handed out so far.
    public private(set) var framesDelivered = 0
    /// Frames the driver skipped (gaps in its sequence numbers).
    public private(set) var framesDroppedByDriver = 0
    /// Older ready frames given back unread because a newer one was ready (`dropStaleFrames`).
    public private(set) var staleFramesDropped = 0
    /// Buffers thrown away because the driver flagged them or they were short.
    public private(set) var corruptFramesSkipped = 0

    private let capture: V4L2Capture
    private let options: V4L2Options
    private let pool: PixelBufferPool
    private let converter: V4L2FrameConverter
    private let state = Lock()
    private var interrupted = false
    private var closed = false
    private var firstMicros: Int64?
    private var lastValue: Int64 = -1
    private var firstSequence: UInt32?
    private var lastIndex = -1
    private var pendingError: Error?
    private var staleSinceLastFrame = 0
    /// `dropStaleFrames`, except when libv4l2 converts: there each DQBUF decodes a whole
    /// frame, and decoding frames only to drop them would slow a reader already behind.
    private let drainsStaleFrames: Bool

    /// Opens a real camera through libv4l2.
    public convenience init(path: String, options: V4L2Options = V4L2Options()) throws {
        try self.init(path: path, options: options, device: LibV4L2Device())
    }

    /// Opens `path` on any `V4L2Device` (a `SimulatedV4L2Device` in tests).
    public init(path: String, options: V4L2Options, device: V4L2Device) throws {
        try options.validate()
        let handle = try V4L2Handle(path: path, device: device)
        capture = try V4L2Capture(handle: handle, options: options)
        self.options = options
        negotiation = capture.negotiation
        notes = capture.notes
        capabilities = capture.capabilities
        converter = V4L2FrameConverter(capture: capture.pixelFormat, output: options.output, width: capture.size.width,
                                       height: capture.size.height, sourceStride: capture.bytesPerLine)
        guard V4L2FrameConverter.outputs(for: capture.pixelFormat).contains(options.output) else {
            capture.stop()
            throw MediaError.invalidOption(name: "pixelFormat", value: options.output.rawValue,
                                           expected: "rgb24, bgr24, gray8, yuv420p or nv12 (\(path) sends \(capture.pixelFormat), not YUYV)")
        }
        let nativeRGB = capture.formats.contains { $0.fourcc == .rgb24 && !$0.isEmulated }
        drainsStaleFrames = options.dropStaleFrames
            && (capture.pixelFormat == .yuyv || (negotiation.deviceFormat == .rgb24 && nativeRGB))
        let rate = capture.interval.map { Rational(Int32(clamping: $0.denominator), Int32(clamping: $0.numerator)) } ?? Rational(0, 1)
        info = SourceInfo(uri: path, width: capture.size.width, height: capture.size.height, pixelFormat: options.output,
                          frameRate: rate, timeBase: Rational(1, 1_000_000), frameCount: nil, duration: nil,
                          isLive: true, codec: negotiation.deviceFormat == .mjpeg || negotiation.deviceFormat == .jpeg ? "mjpeg" : "rawvideo")
        pool = PixelBufferPool(width: capture.size.width, height: capture.size.height, format: options.output,
                               capacity: max(8, capture.buffers.count * 2))
        for note in notes { MediaLog.info("\(path): \(note)") }
    }

    deinit { close() }

    public func nextFrame() throws -> Frame? {
        if let e = pendingError { pendingError = nil; throw e }
        if state.withLock({ interrupted || closed }) { return nil }
        if let max = options.maxFrames, framesDelivered >= max { return nil }
        let limit = lastIndex < 0 ? max(options.pollTimeout, options.firstFrameTimeout) : options.pollTimeout
        let limitNanos = UInt64(min(limit, 1e9) * 1e9)
        let waitStart = Clock.nanos()
        var ioFailures = 0
        var skippedThisWait = 0
        while true {
            if state.withLock({ interrupted }) { return nil }
            let waited = Clock.nanos() &- waitStart
            if waited >= limitNanos {
                if skippedThisWait > 0 {
                    throw V4L2Error.onlyDamagedFrames(path: info.uri, seconds: limit, skipped: skippedThisWait)
                }
                throw V4L2Error.timedOut(path: info.uri, seconds: limit)
            }
            // Slices of at most 200 ms: the eventfd wakes a real device at once, and the
            // slices bound the delay for devices that cannot be woken.
            let slice = Int32(min(200, max(1, (limitNanos - waited) / 1_000_000)))
            switch try capture.handle.poll(timeoutMilliseconds: slice) {
            case .woken: return nil
            case .timedOut: continue
            case .ready: break
            }
            var buffer: v4l2_buffer
            do {
                buffer = try capture.dequeue()
            } catch let e as V4L2Error where e.errno == EAGAIN {
                continue
            } catch let e as V4L2Error where e.errno == EIO {
                ioFailures += 1
                if ioFailures > options.maxIORetries {
                    try confirmDeviceIsThere()
                    throw V4L2Error.ioFailed(path: info.uri, request: V4L2Request.dqbuf.name, attempts: ioFailures)
                }
                // A short pause: a queue in error state makes poll return at once.
                usleep(UInt32(min(ioFailures, 5)) * 10_000)
                continue
            }
            if drainsStaleFrames { buffer = newestReady(after: buffer) }
            if let frame = makeFrame(buffer) {
                do { try capture.requeue(buffer) } catch { pendingError = error }
                framesDelivered += 1
                return frame
            }
            // Damaged frames are not progress: a camera that only sends those times out.
            corruptFramesSkipped += 1
            skippedThisWait += 1
            try capture.requeue(buffer)
        }
    }

    /// Dequeues whatever else is ready without waiting and keeps the newest buffer,
    /// handing the older ones back (the flow-limiting rule for live sources: the
    /// latest frame wins). Errors are left for the next call.
    private func newestReady(after first: v4l2_buffer) -> v4l2_buffer {
        var newest = first
        while (try? capture.handle.poll(timeoutMilliseconds: 0)) == .ready {
            let next: v4l2_buffer
            do {
                next = try capture.dequeue()
            } catch let e as V4L2Error where e.errno == EAGAIN || e.errno == EIO {
                break
            } catch {
                pendingError = error
                break
            }
            if next.flags & V4L2Const.bufFlagError != 0 {
                // Keep the good frame we have rather than a damaged newer one.
                do { try capture.requeue(next) } catch { pendingError = error }
                break
            }
            do { try capture.requeue(newest) } catch { pendingError = error }
            staleFramesDropped += 1
            staleSinceLastFrame += 1
            newest = next
        }
        return newest
    }

    /// After repeated EIO: an unplugged UVC camera fails DQBUF with EIO before its node
    /// goes away, so ask QUERYCAP, which answers ENODEV (-> `.disconnected`) once it has.
    private func confirmDeviceIsThere() throws {
        _ = try V4L2Capabilities.query(capture.handle)
    }

    /// Converts one dequeued buffer, or nil when the driver flagged it or it is short.
    private func makeFrame(_ b: v4l2_buffer) -> Frame? {
        let index = Int(b.index)
        guard index < capture.buffers.count, b.flags & V4L2Const.bufFlagError == 0 else { return nil }
        let mapped = capture.buffers[index]
        let needed = converter.bytesNeeded
        guard Int(b.bytesused) >= needed, mapped.length >= needed else { return nil }
        let out = pool.get()
        converter.convert(mapped.address, into: out)
        let (timestamp, captureNanos) = timing(b)
        return Frame(buffer: out, timestamp: Timestamp(value: timestamp, timeBase: info.timeBase),
                     duration: capture.interval.map { Int64($0.numerator) * 1_000_000 / Int64(max(1, $0.denominator)) },
                     index: frameIndex(b.sequence), captureNanos: captureNanos)
    }

    /// Microseconds since the first frame, strictly increasing, and the capture time
    /// on the monotonic clock for latency stats. Drivers that do not stamp with
    /// CLOCK_MONOTONIC get the dequeue time instead.
    private func timing(_ b: v4l2_buffer) -> (Int64, UInt64) {
        let driverMicros = Int64(b.timestamp.tv_sec) * 1_000_000 + Int64(b.timestamp.tv_usec)
        let monotonic = b.flags & V4L2Const.bufFlagTimestampMask == V4L2Const.bufFlagTimestampMonotonic && driverMicros > 0
        let now = Clock.nanos()
        let micros = monotonic ? driverMicros : Int64(now / 1000)
        let first = firstMicros ?? micros
        firstMicros = first
        var value = micros - first
        if value <= lastValue { value = lastValue + 1 }
        lastValue = value
        // A driver clock ahead of ours would make latency negative: never past now.
        return (value, monotonic ? min(UInt64(driverMicros) * 1000, now) : now)
    }

    /// The frame's index from the driver's sequence counter (gaps count drops).
    private func frameIndex(_ sequence: UInt32) -> Int {
        let first = firstSequence ?? sequence
        firstSequence = first
        var index = Int(sequence &- first)
        if index <= lastIndex { index = lastIndex + 1 }
        framesDroppedByDriver += max(0, index - lastIndex - 1 - staleSinceLastFrame)
        staleSinceLastFrame = 0
        lastIndex = index
        return index
    }

    public func interrupt() {
        state.withLock { interrupted = true }
        capture.handle.wake()
    }

    /// STREAMOFF, munmap and close. Idempotent; also runs on deinit.
    public func close() {
        let first = state.withLock { () -> Bool in
            defer { closed = true }
            return !closed
        }
        if first { capture.stop() }
    }
}
