#if canImport(Glibc)
import Glibc
#endif
import CV4L2

/// A real device node, through libv4l2 (which also converts MJPEG and YUYV to
/// RGB24 when asked for RGB24). An eventfd next to the device fd lets `wake()`
/// end a blocked `poll` at once.
public final class LibV4L2Device: V4L2Device {
    private var fd: Int32 = -1
    private let wakeFD: Int32
    /// The two pollfds, allocated once so a frame's poll does not touch the heap.
    private let pollSet = UnsafeMutablePointer<pollfd>.allocate(capacity: 2)

    public init() {
        // EFD_NONBLOCK | EFD_CLOEXEC; if eventfd fails, wake() degrades to the
        // poll timeout slices the source uses anyway.
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
    }

    deinit {
        close()
        if wakeFD >= 0 { _ = Glibc.close(wakeFD) }
        pollSet.deallocate()
    }

    public func open(path: String) throws {
        precondition(fd < 0, "LibV4L2Device opened twice")
        let r = vseg_v4l2_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        if r < 0 { throw V4L2Errno(errno) }
        fd = r
    }

    public func close() {
        guard fd >= 0 else { return }
        _ = v4l2_close(fd)
        fd = -1
    }

    public func ioctl(_ request: V4L2Request, _ argument: UnsafeMutableRawPointer) throws {
        guard fd >= 0 else { throw V4L2Errno(EBADF) }
        if vseg_v4l2_ioctl(fd, request.code, argument) < 0 { throw V4L2Errno(errno) }
    }

    public func mmap(length: Int, offset: Int) throws -> UnsafeMutableRawPointer {
        guard fd >= 0 else { throw V4L2Errno(EBADF) }
        let p = v4l2_mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, Int64(offset))
        // MAP_FAILED is (void *)-1.
        guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else { throw V4L2Errno(errno) }
        return p
    }

    public func munmap(_ address: UnsafeMutableRawPointer, length: Int) throws {
        if v4l2_munmap(address, length) < 0 { throw V4L2Errno(errno) }
    }

    public func poll(timeoutMilliseconds: Int32) throws -> V4L2PollResult {
        guard fd >= 0 else { throw V4L2Errno(EBADF) }
        return try Self.poll(fd: fd, wakeFD: wakeFD, pollSet: pollSet, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Waits on the device fd and the wake eventfd (when there is one). Separate so
    /// tests can run it on a pipe.
    static func poll(fd: Int32, wakeFD: Int32, pollSet: UnsafeMutablePointer<pollfd>,
                     timeoutMilliseconds: Int32) throws -> V4L2PollResult {
        pollSet[0] = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        pollSet[1] = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
        let count: nfds_t = wakeFD >= 0 ? 2 : 1
        let r = Glibc.poll(pollSet, count, timeoutMilliseconds)
        if r < 0 { throw V4L2Errno(errno) }
        if r == 0 { return .timedOut }
        if count == 2 && pollSet[1].revents != 0 { return .woken }
        // POLLERR/POLLHUP count as ready: DQBUF then reports what went wrong.
        return .ready
    }

    /// The eventfd `wake()` writes to (tests).
    var wakeDescriptor: Int32 { wakeFD }

    public func wake() {
        guard wakeFD >= 0 else { return }
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { Glibc.write(wakeFD, $0.baseAddress, 8) }
    }
}
