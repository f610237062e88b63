import CV4L2

/// One VIDIOC_* ioctl request: its number and the name error messages use.
///
/// The numbers come from the kernel's `_IOC` encoding, computed here because
/// Swift cannot import function-like C macros:
///
///     bits 31..30  direction (1 = write to the driver, 2 = read back, 3 = both)
///     bits 29..16  size of the argument struct
///     bits 15..8   type ('V' for video4linux)
///     bits  7..0   request number
///
/// Sizes come from `MemoryLayout` of the imported C structs, so they follow the
/// headers of the machine we build on (x86-64 and arm64 share the generic layout).
public struct V4L2Request: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let code: UInt

    public init(name: String, code: UInt) {
        self.name = name
        self.code = code
    }

    public var description: String { name }

    /// Direction bits of `_IOC`.
    public enum Direction: UInt, Sendable {
        case none = 0, write = 1, read = 2, readWrite = 3
    }

    /// `_IOC(dir, type, nr, size)` as the generic Linux headers define it.
    public static func ioc(_ direction: Direction, type: Character, number: UInt, size: Int) -> UInt {
        precondition(size >= 0 && size < (1 << 14), "ioctl argument too large for _IOC")
        let typeByte = UInt(type.asciiValue!)
        return (direction.rawValue << 30) | (UInt(size) << 16) | (typeByte << 8) | number
    }

    static func video<T>(_ name: String, _ direction: Direction, _ number: UInt, _ type: T.Type) -> V4L2Request {
        V4L2Request(name: name, code: ioc(direction, type: "V", number: number, size: MemoryLayout<T>.size))
    }

    public static let querycap = video("VIDIOC_QUERYCAP", .read, 0, v4l2_capability.self)
    public static let enumFmt = video("VIDIOC_ENUM_FMT", .readWrite, 2, v4l2_fmtdesc.self)
    public static let gFmt = video("VIDIOC_G_FMT", .readWrite, 4, v4l2_format.self)
    public static let sFmt = video("VIDIOC_S_FMT", .readWrite, 5, v4l2_format.self)
    public static let reqbufs = video("VIDIOC_REQBUFS", .readWrite, 8, v4l2_requestbuffers.self)
    public static let querybuf = video("VIDIOC_QUERYBUF", .readWrite, 9, v4l2_buffer.self)
    public static let qbuf = video("VIDIOC_QBUF", .readWrite, 15, v4l2_buffer.self)
    public static let dqbuf = video("VIDIOC_DQBUF", .readWrite, 17, v4l2_buffer.self)
    public static let streamon = video("VIDIOC_STREAMON", .write, 18, Int32.self)
    public static let streamoff = video("VIDIOC_STREAMOFF", .write, 19, Int32.self)
    public static let gParm = video("VIDIOC_G_PARM", .readWrite, 21, v4l2_streamparm.self)
    public static let sParm = video("VIDIOC_S_PARM", .readWrite, 22, v4l2_streamparm.self)
    public static let enumFramesizes = video("VIDIOC_ENUM_FRAMESIZES", .readWrite, 74, v4l2_frmsizeenum.self)
    public static let enumFrameintervals = video("VIDIOC_ENUM_FRAMEINTERVALS", .readWrite, 75, v4l2_frmivalenum.self)

    /// Every request vseg issues, for lookups by code (simulated devices, logs).
    public static let all: [V4L2Request] = [
        querycap, enumFmt, gFmt, sFmt, reqbufs, querybuf, qbuf, dqbuf,
        streamon, streamoff, gParm, sParm, enumFramesizes, enumFrameintervals,
    ]
}

/// A V4L2 pixel format code: four ASCII characters packed little-endian (`v4l2_fourcc`).
public struct FourCC: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `FourCC("YUYV")`; the string must be exactly four ASCII characters.
    public init(_ text: String) {
        let bytes = Array(text.utf8)
        precondition(bytes.count == 4, "a fourcc has four characters")
        rawValue = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    }

    public var description: String {
        var s = ""
        for shift in stride(from: 0, to: 32, by: 8) {
            let b = UInt8((rawValue >> UInt32(shift)) & 0xff)
            s.append(b >= 0x20 && b < 0x7f ? Character(Unicode.Scalar(b)) : "?")
        }
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }

    public static let yuyv = FourCC("YUYV")
    public static let mjpeg = FourCC("MJPG")
    public static let jpeg = FourCC("JPEG")
    public static let rgb24 = FourCC("RGB3")
    public static let bgr24 = FourCC("BGR3")
}

/// Flag and enum values from <linux/videodev2.h> that vseg uses, as plain Swift constants.
enum V4L2Const {
    static let bufTypeVideoCapture = UInt32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
    static let memoryMmap = UInt32(V4L2_MEMORY_MMAP.rawValue)
    static let fieldAny = UInt32(V4L2_FIELD_ANY.rawValue)
    static let frmsizeDiscrete = UInt32(V4L2_FRMSIZE_TYPE_DISCRETE.rawValue)
    static let frmsizeContinuous = UInt32(V4L2_FRMSIZE_TYPE_CONTINUOUS.rawValue)
    static let frmsizeStepwise = UInt32(V4L2_FRMSIZE_TYPE_STEPWISE.rawValue)
    static let frmivalDiscrete = UInt32(V4L2_FRMIVAL_TYPE_DISCRETE.rawValue)
    static let frmivalContinuous = UInt32(V4L2_FRMIVAL_TYPE_CONTINUOUS.rawValue)
    static let frmivalStepwise = UInt32(V4L2_FRMIVAL_TYPE_STEPWISE.rawValue)
    static let capVideoCapture = UInt32(V4L2_CAP_VIDEO_CAPTURE)
    static let capStreaming = UInt32(V4L2_CAP_STREAMING)
    static let capDeviceCaps = UInt32(V4L2_CAP_DEVICE_CAPS)
    static let capTimePerFrame = UInt32(V4L2_CAP_TIMEPERFRAME)
    static let fmtFlagCompressed = UInt32(V4L2_FMT_FLAG_COMPRESSED)
    static let fmtFlagEmulated = UInt32(V4L2_FMT_FLAG_EMULATED)
    static let bufFlagError = UInt32(V4L2_BUF_FLAG_ERROR)
    static let bufFlagTimestampMask = UInt32(V4L2_BUF_FLAG_TIMESTAMP_MASK)
    static let bufFlagTimestampMonotonic = UInt32(V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC)
}
