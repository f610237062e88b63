#if canImport(Glibc)
import Glibc
#endif
import VSegCore

/// Everything that can go wrong with a V4L2 camera, each as one line that
/// names the device and says what to do.
public enum V4L2Error: UserFacingError, Equatable {
    /// The device node does not exist (ENOENT/ENODEV/ENXIO on open).
    case noSuchDevice(path: String)
    /// Another process holds the camera (EBUSY).
    case busy(path: String)
    /// The user may not open the node (EACCES/EPERM).
    case permissionDenied(path: String)
    /// The path is not a V4L2 node at all (QUERYCAP is not understood).
    case notV4L2Device(path: String)
    /// The node exists but is not a camera we can stream from (metadata node, output, radio...).
    case notACaptureDevice(path: String, capabilities: String)
    /// The node only speaks the multi-planar capture API, which libv4l2 does not convert.
    case multiPlanarOnly(path: String)
    /// The camera can capture but not stream through mmap buffers.
    case noStreaming(path: String)
    /// None of the formats the camera offers can become RGB24.
    case noUsableFormat(path: String, offered: String)
    /// The driver granted fewer than two buffers, too few to capture without tearing.
    case tooFewBuffers(path: String, granted: Int)
    /// STREAMON failed with ENOSPC: the USB bus cannot carry this mode (UVC reserves
    /// bandwidth up front; raw YUYV and several cameras on one controller run out).
    case usbBandwidth(path: String)
    /// The camera went away mid-stream (ENODEV: unplugged, or its driver was unloaded).
    case disconnected(path: String)
    /// No frame within the poll timeout.
    case timedOut(path: String, seconds: Double)
    /// Frames kept coming but every one was flagged as damaged or short.
    case onlyDamagedFrames(path: String, seconds: Double, skipped: Int)
    /// The driver kept failing with EIO.
    case ioFailed(path: String, request: String, attempts: Int)
    /// Any other failing call, with its errno.
    case syscall(path: String, request: String, errno: Int32)

    public var description: String {
        switch self {
        case let .noSuchDevice(path):
            return "\(path): no such device; list cameras with `ls /dev/video*` and check one with `vseg probe /dev/videoN`"
        case let .busy(path):
            return "\(path) is busy: another program is using it; close it or pick another device"
        case let .permissionDenied(path):
            return "\(path): permission denied; add your user to the 'video' group (sudo usermod -aG video $USER) and log in again"
        case let .notV4L2Device(path):
            return "\(path) is not a video4linux device; pass a camera node such as /dev/video0 (`ls /dev/video*`)"
        case let .notACaptureDevice(path, caps):
            return "\(path) is not a video capture device (it offers: \(caps)); cameras often have a second node for metadata, try the other /dev/videoN (`vseg probe` shows each one)"
        case let .multiPlanarOnly(path):
            return "\(path) only offers multi-planar capture, which vseg does not read yet; stream it with `ffmpeg -f v4l2 -i \(path) -f mpegts udp://127.0.0.1:5000` and read udp://127.0.0.1:5000"
        case let .noStreaming(path):
            return "\(path) cannot stream with mmap buffers (no V4L2_CAP_STREAMING); vseg needs a streaming camera, try another device"
        case let .noUsableFormat(path, offered):
            return "\(path) offers no format vseg can convert (offered: \(offered)); use a camera that sends YUYV or MJPEG"
        case let .tooFewBuffers(path, granted):
            return "\(path): the driver granted only \(granted) capture buffer(s); free memory or close other capture programs and retry"
        case let .usbBandwidth(path):
            return "\(path): not enough USB bandwidth to stream this mode (VIDIOC_STREAMON: no space left on device); use format mjpeg, a lower resolution or frame rate, or plug the camera into another USB port"
        case let .disconnected(path):
            return "camera \(path) was disconnected; plug it back in and start again"
        case let .timedOut(path, seconds):
            return "camera \(path) sent no frame for \(Self.format(seconds)) s; check the cable and lighting (some cameras stall in the dark), or raise the source's readTimeout/openTimeout"
        case let .onlyDamagedFrames(path, seconds, skipped):
            return "camera \(path) sent only damaged frames for \(Self.format(seconds)) s (\(skipped) skipped); replug it, use a shorter or USB 2-only cable, or ask for a lower resolution or format mjpeg"
        case let .ioFailed(path, request, attempts):
            return "camera \(path): \(request) failed with an I/O error \(attempts) times in a row; replug the camera or try a lower resolution/frame rate"
        case let .syscall(path, request, code):
            return "\(path): \(request) failed: \(String(cString: strerror(code))) (errno \(code)); run `vseg probe \(path)` to see what the device supports"
        }
    }

    public var exitCode: ExitCode { .input }

    /// The errno behind a `.syscall` error, for callers that retry some of them.
    public var errno: Int32? {
        if case let .syscall(_, _, code) = self { return code }
        return nil
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
