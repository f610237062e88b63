#if canImport(Glibc)
import Glibc
#endif
import CV4L2

/// What QUERYCAP says about a device node.
public struct V4L2Capabilities: Equatable, Sendable {
    public var driver: String
    public var card: String
    public var busInfo: String
    /// Kernel version the driver reports, as "major.minor.patch".
    public var version: String
    /// Capability bits of this node (`device_caps` when the driver fills it, else `capabilities`).
    public var deviceCaps: UInt32

    public init(driver: String, card: String, busInfo: String, version: String, deviceCaps: UInt32) {
        self.driver = driver; self.card = card; self.busInfo = busInfo; self.version = version; self.deviceCaps = deviceCaps
    }

    public var canCapture: Bool { deviceCaps & V4L2Const.capVideoCapture != 0 }
    public var canStream: Bool { deviceCaps & V4L2Const.capStreaming != 0 }

    /// Human names of the set capability bits, for probe output and error messages.
    public var names: [String] {
        Self.bitNames.compactMap { bit, name in deviceCaps & bit != 0 ? name : nil }
    }

    static let bitNames: [(UInt32, String)] = [
        (UInt32(V4L2_CAP_VIDEO_CAPTURE), "video capture"),
        (UInt32(V4L2_CAP_VIDEO_CAPTURE_MPLANE), "video capture (multi-planar)"),
        (UInt32(V4L2_CAP_VIDEO_OUTPUT), "video output"),
        (UInt32(V4L2_CAP_VIDEO_OUTPUT_MPLANE), "video output (multi-planar)"),
        (UInt32(V4L2_CAP_VIDEO_M2M), "memory-to-memory"),
        (UInt32(V4L2_CAP_VIDEO_M2M_MPLANE), "memory-to-memory (multi-planar)"),
        (UInt32(V4L2_CAP_VIDEO_OVERLAY), "video overlay"),
        (UInt32(V4L2_CAP_META_CAPTURE), "metadata capture"),
        (UInt32(V4L2_CAP_META_OUTPUT), "metadata output"),
        (UInt32(V4L2_CAP_VBI_CAPTURE), "VBI capture"),
        (UInt32(V4L2_CAP_SDR_CAPTURE), "SDR capture"),
        (UInt32(V4L2_CAP_TUNER), "tuner"),
        (UInt32(V4L2_CAP_AUDIO), "audio"),
        (UInt32(V4L2_CAP_RADIO), "radio"),
        (UInt32(V4L2_CAP_TOUCH), "touch"),
        (UInt32(V4L2_CAP_READWRITE), "read/write"),
        (UInt32(V4L2_CAP_STREAMING), "streaming"),
        (UInt32(V4L2_CAP_EXT_PIX_FORMAT), "extended pixel format"),
        (UInt32(V4L2_CAP_IO_MC), "media controller"),
    ]

    /// Runs QUERYCAP on an open handle.
    static func query(_ handle: V4L2Handle) throws -> V4L2Capabilities {
        var cap = v4l2_capability()
        do {
            try handle.ioctl(.querycap, &cap)
        } catch let e as V4L2Error where e.errno == ENOTTY || e.errno == EINVAL {
            throw V4L2Error.notV4L2Device(path: handle.path)
        }
        let caps = cap.capabilities & V4L2Const.capDeviceCaps != 0 ? cap.device_caps : cap.capabilities
        let v = cap.version
        return V4L2Capabilities(driver: V4L2Enumerator.cString(cap.driver), card: V4L2Enumerator.cString(cap.card),
                                busInfo: V4L2Enumerator.cString(cap.bus_info),
                                version: "\(v >> 16).\((v >> 8) & 0xff).\(v & 0xff)", deviceCaps: caps)
    }

    /// Throws unless the node can stream video frames.
    func requireStreamingCapture(path: String) throws {
        if !canCapture && deviceCaps & UInt32(V4L2_CAP_VIDEO_CAPTURE_MPLANE) != 0 {
            throw V4L2Error.multiPlanarOnly(path: path)
        }
        guard canCapture else {
            throw V4L2Error.notACaptureDevice(path: path, capabilities: names.isEmpty ? "nothing" : names.joined(separator: ", "))
        }
        guard canStream else { throw V4L2Error.noStreaming(path: path) }
    }
}
