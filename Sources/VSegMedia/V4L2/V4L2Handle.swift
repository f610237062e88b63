#if canImport(Glibc)
import Glibc
#endif

/// An open V4L2 device node. Every call to the device goes through `call`,
/// the one place that retries EINTR and turns errno into a `V4L2Error` naming
/// the device path and the request.
public final class V4L2Handle {
    public let path: String
    let device: V4L2Device
    public private(set) var isOpen = false

    /// Opens `path` on `device` (a `LibV4L2Device` for real cameras).
    public init(path: String, device: V4L2Device) throws {
        self.path = path
        self.device = device
        try call("open") { try device.open(path: path) }
        isOpen = true
    }

    deinit { close() }

    /// Runs one device call, retrying EINTR and naming any other failure.
    @discardableResult
    func call<R>(_ request: String, _ body: () throws -> R) throws -> R {
        while true {
            do {
                return try body()
            } catch let failure as V4L2Errno {
                if failure.code == EINTR { continue }
                throw error(for: failure.code, request: request)
            }
        }
    }

    /// The user-facing error for `code` coming back from `request`.
    func error(for code: Int32, request: String) -> V4L2Error {
        switch code {
        case ENOENT, ENXIO:
            return request == "open" ? .noSuchDevice(path: path) : .syscall(path: path, request: request, errno: code)
        case ENODEV:
            // On open the node is stale or absent; afterwards the camera went away.
            return request == "open" ? .noSuchDevice(path: path) : .disconnected(path: path)
        case EBUSY:
            // Drivers also say EBUSY from S_FMT/REQBUFS when another program streams.
            return .busy(path: path)
        case EACCES, EPERM:
            return .permissionDenied(path: path)
        case ENOSPC where request == V4L2Request.streamon.name:
            return .usbBandwidth(path: path)
        case ENOTTY where request == "open":
            // libv4l2 runs QUERYCAP inside open: the node is not a V4L2 device.
            return .notV4L2Device(path: path)
        default:
            return .syscall(path: path, request: request, errno: code)
        }
    }

    /// One ioctl on a C struct, in place.
    func ioctl<T>(_ request: V4L2Request, _ value: inout T) throws {
        try withUnsafeMutableBytes(of: &value) { raw in
            try call(request.name) { try device.ioctl(request, raw.baseAddress!) }
        }
    }

    /// An enumeration ioctl: false when the driver says EINVAL (past the last index).
    func enumerate<T>(_ request: V4L2Request, _ value: inout T) throws -> Bool {
        do {
            try ioctl(request, &value)
            return true
        } catch let e as V4L2Error where e.errno == EINVAL || e.errno == ENOTTY {
            return false
        }
    }

    func mmap(length: Int, offset: Int) throws -> UnsafeMutableRawPointer {
        try call("mmap") { try device.mmap(length: length, offset: offset) }
    }

    func munmap(_ address: UnsafeMutableRawPointer, length: Int) throws {
        try call("munmap") { try device.munmap(address, length: length) }
    }

    func poll(timeoutMilliseconds: Int32) throws -> V4L2PollResult {
        try call("poll") { try device.poll(timeoutMilliseconds: timeoutMilliseconds) }
    }

    /// Ends a blocked `poll`; any thread.
    func wake() { device.wake() }

    /// Closes the node. Idempotent.
    public func close() {
        guard isOpen else { return }
        isOpen = false
        device.close()
    }
}
