#if canImport(Glibc)
import Glibc
#endif

/// A raw errno from one device call. Only `V4L2Handle` sees these; it turns
/// them into `V4L2Error`s that name the device and the request.
public struct V4L2Errno: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: Int32
    public init(_ code: Int32) { self.code = code }
    public var description: String { String(cString: strerror(code)) }
}

/// What a wait on the device ended with.
public enum V4L2PollResult: Sendable, Equatable {
    /// A buffer can be dequeued, or the device reported an error (the next
    /// DQBUF returns it, e.g. ENODEV after an unplug).
    case ready
    /// Nothing happened within the timeout.
    case timedOut
    /// `wake()` was called.
    case woken
}

/// The syscall table of one V4L2 device node: the only way vseg touches a
/// camera. `LibV4L2Device` goes through libv4l2; `SimulatedV4L2Device` replays
/// a script in memory for tests.
///
/// Methods report failure by throwing `V4L2Errno` with the C errno, EINTR
/// included: retrying and naming the error is `V4L2Handle`'s job, in one place.
/// All calls come from one thread except `wake()`.
public protocol V4L2Device: AnyObject {
    /// Opens the node read-write and non-blocking.
    func open(path: String) throws
    /// Closes the node. Safe to call when not open.
    func close()
    /// One ioctl; `argument` points at the request's C struct.
    func ioctl(_ request: V4L2Request, _ argument: UnsafeMutableRawPointer) throws
    /// Maps `length` bytes of the buffer at `offset` (from QUERYBUF) read-write, shared.
    func mmap(length: Int, offset: Int) throws -> UnsafeMutableRawPointer
    func munmap(_ address: UnsafeMutableRawPointer, length: Int) throws
    /// Waits until a buffer is ready, the timeout passes or `wake()` is called.
    func poll(timeoutMilliseconds: Int32) throws -> V4L2PollResult
    /// Makes a current or the next `poll` return `.woken` promptly. Any thread.
    func wake()
}
