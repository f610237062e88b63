import CV4L2

/// A frame size in pixels.
public struct V4L2Size: Hashable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) { self.width = width; self.height = height }
    public var description: String { "\(width)x\(height)" }
}

/// A frame interval in seconds per frame (V4L2 counts time per frame, not fps).
public struct V4L2Fraction: Hashable, Sendable, CustomStringConvertible {
    public var numerator: UInt32
    public var denominator: UInt32
    public init(_ numerator: UInt32, _ denominator: UInt32) { self.numerator = numerator; self.denominator = denominator }
    /// Frames per second this interval gives (0 when malformed).
    public var fps: Double { numerator == 0 ? 0 : Double(denominator) / Double(numerator) }
    public var description: String { "\(numerator)/\(denominator)" }
}

/// The frame intervals a format offers at one size.
public enum V4L2FrameIntervals: Hashable, Sendable {
    case discrete([V4L2Fraction])
    /// Any interval from `min` (fastest) to `max` (slowest); continuous ranges have step 0/1... as the driver says.
    case stepwise(min: V4L2Fraction, max: V4L2Fraction, step: V4L2Fraction)
    /// The driver does not enumerate intervals; S_PARM tells what it accepts.
    case unknown
}

/// The frame sizes a format offers.
public enum V4L2FrameSizes: Hashable, Sendable {
    case discrete([V4L2Size])
    /// Any size in the range, in steps (continuous ranges have step 1).
    case stepwise(min: V4L2Size, max: V4L2Size, stepWidth: Int, stepHeight: Int)
    /// The driver does not enumerate sizes; S_FMT tells what it accepts.
    case unknown
}

/// One pixel format a device offers (ENUM_FMT), with its sizes and, for
/// discrete sizes, the intervals at each size.
public struct V4L2FormatInfo: Hashable, Sendable {
    public var fourcc: FourCC
    public var description: String
    /// Compressed on the wire (MJPEG, H.264).
    public var isCompressed: Bool
    /// Made up by libv4l2, which converts from one of the device's own formats.
    public var isEmulated: Bool
    public var sizes: V4L2FrameSizes
    /// Intervals per discrete size; empty for stepwise/unknown sizes.
    public var intervals: [V4L2Size: V4L2FrameIntervals]

    public init(fourcc: FourCC, description: String, isCompressed: Bool = false, isEmulated: Bool = false,
                sizes: V4L2FrameSizes, intervals: [V4L2Size: V4L2FrameIntervals] = [:]) {
        self.fourcc = fourcc; self.description = description; self.isCompressed = isCompressed
        self.isEmulated = isEmulated; self.sizes = sizes; self.intervals = intervals
    }
}

/// ENUM_FMT / ENUM_FRAMESIZES / ENUM_FRAMEINTERVALS on an open handle.
enum V4L2Enumerator {
    /// Every capture format with its sizes and intervals. Emulated formats are kept
    /// (flagged) because RGB24 through libv4l2 is one of the paths we capture with.
    static func formats(_ handle: V4L2Handle) throws -> [V4L2FormatInfo] {
        var result: [V4L2FormatInfo] = []
        var index: UInt32 = 0
        while index < 64 {
            var desc = v4l2_fmtdesc()
            desc.index = index
            desc.type = V4L2Const.bufTypeVideoCapture
            guard try handle.enumerate(.enumFmt, &desc) else { break }
            let fourcc = FourCC(rawValue: desc.pixelformat)
            let sizes = try frameSizes(handle, fourcc)
            var intervals: [V4L2Size: V4L2FrameIntervals] = [:]
            if case let .discrete(list) = sizes {
                for size in list { intervals[size] = try frameIntervals(handle, fourcc, size) }
            }
            result.append(V4L2FormatInfo(
                fourcc: fourcc, description: cString(desc.description),
                isCompressed: desc.flags & V4L2Const.fmtFlagCompressed != 0,
                isEmulated: desc.flags & V4L2Const.fmtFlagEmulated != 0,
                sizes: sizes, intervals: intervals))
            index += 1
        }
        return result
    }

    static func frameSizes(_ handle: V4L2Handle, _ fourcc: FourCC) throws -> V4L2FrameSizes {
        var discrete: [V4L2Size] = []
        var index: UInt32 = 0
        while index < 256 {
            var e = v4l2_frmsizeenum()
            e.index = index
            e.pixel_format = fourcc.rawValue
            guard try handle.enumerate(.enumFramesizes, &e) else { break }
            if e.type == V4L2Const.frmsizeDiscrete {
                let size = V4L2Size(width: Int(e.discrete.width), height: Int(e.discrete.height))
                if !discrete.contains(size) { discrete.append(size) }
            } else if index == 0 {
                let s = e.stepwise
                return .stepwise(min: V4L2Size(width: Int(s.min_width), height: Int(s.min_height)),
                                 max: V4L2Size(width: Int(s.max_width), height: Int(s.max_height)),
                                 stepWidth: max(1, Int(s.step_width)), stepHeight: max(1, Int(s.step_height)))
            }
            index += 1
        }
        return discrete.isEmpty ? .unknown : .discrete(discrete)
    }

    static func frameIntervals(_ handle: V4L2Handle, _ fourcc: FourCC, _ size: V4L2Size) throws -> V4L2FrameIntervals {
        var discrete: [V4L2Fraction] = []
        var index: UInt32 = 0
        while index < 256 {
            var e = v4l2_frmivalenum()
            e.index = index
            e.pixel_format = fourcc.rawValue
            e.width = UInt32(size.width)
            e.height = UInt32(size.height)
            guard try handle.enumerate(.enumFrameintervals, &e) else { break }
            if e.type == V4L2Const.frmivalDiscrete {
                let f = V4L2Fraction(e.discrete.numerator, e.discrete.denominator)
                if f.numerator > 0, f.denominator > 0, !discrete.contains(f) { discrete.append(f) }
            } else if index == 0 {
                let s = e.stepwise
                return .stepwise(min: V4L2Fraction(s.min.numerator, s.min.denominator),
                                 max: V4L2Fraction(s.max.numerator, s.max.denominator),
                                 step: V4L2Fraction(s.step.numerator, s.step.denominator))
            }
            index += 1
        }
        return discrete.isEmpty ? .unknown : .discrete(discrete)
    }

    /// A NUL-terminated C char array imported as a tuple.
    static func cString<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            let bytes = raw.prefix(while: { $0 != 0 })
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
