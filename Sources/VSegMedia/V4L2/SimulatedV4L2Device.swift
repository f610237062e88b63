#if canImport(Glibc)
import Glibc
#endif
import CV4L2
import VSegCore

/// A camera in memory that speaks the V4L2 ioctls the way a driver does, for
/// tests and demos without hardware. Configure it, then hand it to
/// `V4L2Source(path:options:device:)` or `V4L2Probe.describe(path:device:)`.
///
/// It adjusts S_FMT/S_PARM to its own tables like a driver, fills each buffer with
/// `SimulatedV4L2Pattern` for the frame's sequence number, stamps it on a monotonic
/// clock at the negotiated interval, and follows `script` to fail on cue. Every
/// call is recorded in `calls`.
public final class SimulatedV4L2Device: V4L2Device {
    /// One event of the script, consumed in order by DQBUF/poll. When the script
    /// runs out, frames keep coming.
    public enum Step: Equatable, Sendable {
        /// Deliver this many frames.
        case frames(Int)
        /// Deliver this many frames flagged V4L2_BUF_FLAG_ERROR (damaged in transfer).
        case damaged(Int)
        /// The next DQBUF fails once with this errno (EAGAIN, EIO, ...).
        case dqbufError(Int32)
        /// The next poll times out at once.
        case pollTimeout
        /// The driver misses this many frames (a gap in sequence numbers and timestamps).
        case dropped(Int)
        /// No frame ever again: poll waits out its whole timeout (or until `wake()`).
        case stall
        /// The camera is unplugged: every later ioctl fails with ENODEV.
        case unplug
    }

    // What the camera is.
    public var driver = "vsegsim"
    public var card = "Simulated Camera"
    public var busInfo = "platform:vsegsim-0"
    public var capabilities = UInt32(V4L2_CAP_VIDEO_CAPTURE) | UInt32(V4L2_CAP_STREAMING)
    public var formats: [V4L2FormatInfo]
    /// Intervals for sizes without an entry in the format's table (stepwise sizes).
    public var defaultIntervals: V4L2FrameIntervals = .discrete([V4L2Fraction(1, 30)])
    /// Most buffers REQBUFS grants.
    public var maxBuffers = 32
    /// Extra bytes at the end of each row, as some drivers align rows.
    public var rowPadding = 0
    /// Driver timestamp of sequence 0, in microseconds of CLOCK_MONOTONIC; nil: the
    /// clock's reading at STREAMON, as a real driver's stamps would be.
    public var startMicros: Int64?
    /// Hold each frame back until its time at the negotiated rate, like a real camera.
    public var realtime = false

    // How it misbehaves.
    /// open() fails with this errno (EBUSY, ENOENT, EACCES...).
    public var openError: Int32?
    /// Calls by name ("VIDIOC_S_PARM", "mmap", ...) that always fail with the errno.
    public var failing: [String: Int32] = [:]
    /// Calls by name that first fail with EINTR this many times.
    public var interruptions: [String: Int] = [:]
    public var script: [Step]

    // What happened.
    private let lock = Lock()
    private var _calls: [String] = []
    /// Every call, in order, by name ("open", "VIDIOC_QBUF", "mmap", "munmap", "poll", "close").
    public var calls: [String] { lock.withLock { _calls } }
    /// The count the last non-zero REQBUFS asked for.
    public private(set) var requestedBufferCount: Int?
    public var mappedCount: Int { lock.withLock { mapped.count } }
    public private(set) var isOpen = false
    public private(set) var isStreaming = false
    public private(set) var isUnplugged = false

    // Driver state.
    var format: FourCC = .yuyv
    var size = V4L2Size(width: 640, height: 480)
    var interval = V4L2Fraction(1, 30)
    var bytesPerLine: Int { size.width * (format == .yuyv ? 2 : 3) + rowPadding }
    var buffers: [(memory: UnsafeMutableRawPointer, length: Int)] = []
    var queue: [Int] = []
    /// When each queued buffer was queued (real-time mode).
    var queuedAt: [Int: UInt64] = [:]
    private var mapped: [UnsafeMutableRawPointer: Int] = [:]
    var sequence: UInt32 = 0
    private var woken = false
    private var streamStartNanos: UInt64?
    var streamStartMicros: Int64 = 0

    public init(formats: [V4L2FormatInfo] = SimulatedV4L2Pattern.typicalWebcam(), script: [Step] = []) {
        self.formats = formats
        self.script = script
    }

    deinit { freeBuffers() }

    /// Records the call and applies scripted EINTR / permanent failures.
    private func enter(_ name: String) throws {
        try lock.withLock {
            _calls.append(name)
            if let n = interruptions[name], n > 0 {
                interruptions[name] = n - 1
                throw V4L2Errno(EINTR)
            }
            if let code = failing[name] { throw V4L2Errno(code) }
        }
    }

    public func open(path: String) throws {
        try enter("open")
        if let code = openError { throw V4L2Errno(code) }
        if isOpen { throw V4L2Errno(EBUSY) }
        isOpen = true
    }

    public func close() {
        lock.withLock { _calls.append("close") }
        isOpen = false
        isStreaming = false
        queue = []
    }

    public func ioctl(_ request: V4L2Request, _ argument: UnsafeMutableRawPointer) throws {
        try enter(request.name)
        guard isOpen else { throw V4L2Errno(EBADF) }
        if isUnplugged { throw V4L2Errno(ENODEV) }
        try handle(request, argument)
    }

    public func mmap(length: Int, offset: Int) throws -> UnsafeMutableRawPointer {
        try enter("mmap")
        if isUnplugged { throw V4L2Errno(ENODEV) }
        let index = offset / Self.offsetStride
        guard offset % Self.offsetStride == 0, index < buffers.count, length <= buffers[index].length else {
            throw V4L2Errno(EINVAL)
        }
        let address = buffers[index].memory
        lock.withLock { mapped[address] = length }
        return address
    }

    public func munmap(_ address: UnsafeMutableRawPointer, length: Int) throws {
        try enter("munmap")
        try lock.withLock {
            guard mapped[address] == length else { throw V4L2Errno(EINVAL) }
            mapped[address] = nil
        }
    }

    public func poll(timeoutMilliseconds: Int32) throws -> V4L2PollResult {
        try enter("poll")
        if lock.withLock({ woken }) { return .woken }
        if isUnplugged || !isStreaming { return .ready }  // POLLERR, like a real driver
        if timeoutMilliseconds == 0 {
            // A peek: unpaced, a frame is only made for a reader that waits; in real
            // time, one is ready if its time has come. Never consumes the script.
            guard realtime, !queue.isEmpty, script.first != .stall, let start = streamStartNanos else { return .timedOut }
            return start + UInt64(realtimeSequence()) * intervalNanos <= Clock.nanos() ? .ready : .timedOut
        }
        switch script.first {
        case .pollTimeout?:
            script.removeFirst()
            return .timedOut
        case .stall?:
            return waitForWake(timeoutMilliseconds)
        default:
            if queue.isEmpty { return waitForWake(timeoutMilliseconds) }
            return realtime ? waitForFrameTime(timeoutMilliseconds) : .ready
        }
    }

    /// Real-time pacing: frame n is due n intervals after STREAMON.
    private func waitForFrameTime(_ milliseconds: Int32) -> V4L2PollResult {
        let start = streamStartNanos ?? Clock.nanos()
        let due = start + UInt64(realtimeSequence()) * intervalNanos
        let now = Clock.nanos()
        guard due > now else { return .ready }
        let waitMs = (due - now + 999_999) / 1_000_000
        if waitMs > UInt64(max(0, milliseconds)) { return waitForWake(milliseconds) }
        let r = waitForWake(Int32(waitMs))
        return r == .woken ? .woken : .ready
    }

    public func wake() {
        lock.withLock { woken = true }
    }

    var intervalNanos: UInt64 {
        UInt64(interval.numerator) * 1_000_000_000 / UInt64(max(1, interval.denominator))
    }

    /// The frame the next DQBUF returns in real time. Like a driver, a buffer gets the
    /// first frame due after it was queued; frames due while no buffer was queued are
    /// lost, which shows as a gap in sequence numbers when the reader is slow.
    func realtimeSequence() -> UInt32 {
        guard realtime, let first = queue.first, let at = queuedAt[first], let start = streamStartNanos,
              at > start else { return sequence }
        let step = max(1, intervalNanos)
        return max(sequence, UInt32(truncatingIfNeeded: (at - start + step - 1) / step))
    }

    /// Sleeps out a poll timeout in 1 ms steps, ending early on `wake()`.
    private func waitForWake(_ milliseconds: Int32) -> V4L2PollResult {
        for _ in 0..<max(0, Int(milliseconds)) {
            if lock.withLock({ woken }) { return .woken }
            usleep(1000)
        }
        return lock.withLock { woken } ? .woken : .timedOut
    }

    static let offsetStride = 1 << 20

    func allocateBuffers(count: Int) {
        let length = bytesPerLine * size.height
        buffers = (0..<count).map { _ in
            let p = UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 64)
            p.initializeMemory(as: UInt8.self, repeating: 0, count: length)
            return (p, length)
        }
    }

    func freeBuffers() {
        for b in buffers { b.memory.deallocate() }
        buffers = []
        queue = []
    }

    /// Marks the camera gone: every later ioctl and mmap fails with ENODEV.
    func unplug() { isUnplugged = true }

    func setStreaming(_ on: Bool) {
        if on && !isStreaming {
            let now = Clock.nanos()
            streamStartNanos = now
            streamStartMicros = startMicros ?? Int64(now / 1000)
        }
        isStreaming = on
        if !on { queue = [] }
    }

    func recordRequested(_ count: Int) { requestedBufferCount = count }

    var mappedAny: Bool { lock.withLock { !mapped.isEmpty } }
}
