/// The mode chosen for a camera, before the driver has confirmed it.
public struct V4L2Negotiation: Equatable, Sendable {
    /// The device format whose size/interval table was used (YUYV, MJPG, RGB3).
    public var deviceFormat: FourCC
    /// What S_FMT asks for: YUYV (vseg converts) or RGB3 (libv4l2 converts, e.g. from MJPEG).
    public var captureFormat: FourCC
    public var size: V4L2Size
    /// Nil when the driver does not take frame-rate requests.
    public var interval: V4L2Fraction?
    /// One line per thing that differs from what was asked ("asked 1000x700, using 1280x720").
    public var notes: [String]
}

/// Picks format, size and frame rate from what a device enumerates. Pure, so
/// tests can run it on tables; `intervalsAt` answers ENUM_FRAMEINTERVALS for
/// sizes that were not enumerated up front (stepwise sizes).
enum V4L2Negotiator {
    static func negotiate(formats: [V4L2FormatInfo], options: V4L2Options, path: String,
                          intervalsAt: (FourCC, V4L2Size) throws -> V4L2FrameIntervals) throws -> V4L2Negotiation {
        var notes: [String] = []
        let (family, capture) = try pickFormat(formats, options.format, path: path, notes: &notes)
        let want = V4L2Size(width: options.width, height: options.height)
        let size = nearestSize(family.sizes, to: want)
        if size != want {
            notes.append("asked \(want), \(family.fourcc) offers nearest \(size)")
        }
        let intervals = try family.intervals[size] ?? intervalsAt(family.fourcc, size)
        let interval = nearestInterval(intervals, fps: options.fps)
        if let interval, abs(interval.fps - options.fps) > 0.01 {
            var note = "asked \(formatFPS(options.fps)) fps, \(family.fourcc) at \(size) offers nearest \(formatFPS(interval.fps)) fps"
            if interval.fps < options.fps, let better = fasterAlternative(formats, than: family, size: size, fps: interval.fps) {
                note += " (\(better.fourcc) reaches \(formatFPS(better.fps)) fps at this size: ask for format \(better.option))"
            }
            notes.append(note)
        }
        return V4L2Negotiation(deviceFormat: family.fourcc, captureFormat: capture, size: size,
                               interval: interval, notes: notes)
    }

    /// The format table to negotiate in, and the fourcc to put in S_FMT.
    static func pickFormat(_ formats: [V4L2FormatInfo], _ preference: V4L2Options.Format, path: String,
                           notes: inout [String]) throws -> (V4L2FormatInfo, FourCC) {
        let native = formats.filter { !$0.isEmulated }
        let yuyv = native.first { $0.fourcc == .yuyv }
        let mjpeg = native.first { $0.fourcc == .mjpeg || $0.fourcc == .jpeg }
        let rgb = formats.first { $0.fourcc == .rgb24 }
        let ordered: [(V4L2FormatInfo?, FourCC, V4L2Options.Format)]
        switch preference {
        case .yuyv: ordered = [(yuyv, .yuyv, .yuyv), (mjpeg, .rgb24, .mjpeg), (rgb, .rgb24, .rgb24)]
        case .mjpeg: ordered = [(mjpeg, .rgb24, .mjpeg), (yuyv, .yuyv, .yuyv), (rgb, .rgb24, .rgb24)]
        case .rgb24: ordered = [(rgb, .rgb24, .rgb24), (yuyv, .yuyv, .yuyv), (mjpeg, .rgb24, .mjpeg)]
        }
        for (candidate, capture, kind) in ordered {
            guard let candidate else { continue }
            // Anything but YUYV reaches us as RGB24 through libv4l2, which must offer it.
            if capture == .rgb24 && rgb == nil { continue }
            if kind != preference {
                notes.append("\(path) has no \(preference.rawValue) format; using \(kind.rawValue) instead")
            }
            return (candidate, capture)
        }
        let offered = formats.map { "\($0.fourcc)\($0.isEmulated ? " (emulated)" : "")" }.joined(separator: ", ")
        throw V4L2Error.noUsableFormat(path: path, offered: offered.isEmpty ? "none" : offered)
    }

    /// The supported size closest to `want` (sum of width and height differences;
    /// ties go to the larger size, since downscaling later is cheap and exact).
    static func nearestSize(_ sizes: V4L2FrameSizes, to want: V4L2Size) -> V4L2Size {
        switch sizes {
        case let .discrete(list):
            guard var best = list.first else { return want }
            for s in list.dropFirst() {
                let d = distance(s, want), bd = distance(best, want)
                if d < bd || (d == bd && s.width * s.height > best.width * best.height) { best = s }
            }
            return best
        case let .stepwise(lo, hi, stepW, stepH):
            return V4L2Size(width: snap(want.width, lo.width, hi.width, stepW),
                            height: snap(want.height, lo.height, hi.height, stepH))
        case .unknown:
            return want
        }
    }

    /// The interval whose rate is closest to `fps` (ties go to the faster one).
    static func nearestInterval(_ intervals: V4L2FrameIntervals, fps: Double) -> V4L2Fraction? {
        switch intervals {
        case let .discrete(list):
            return list.min { a, b in
                let da = abs(a.fps - fps), db = abs(b.fps - fps)
                return da < db || (da == db && a.fps > b.fps)
            }
        case let .stepwise(fastest, slowest, _):
            // Clamp the rate into the range, then express it in milliframes.
            let rate = min(max(fps, slowest.fps), fastest.fps)
            return V4L2Fraction(1000, UInt32((rate * 1000).rounded()))
        case .unknown:
            return V4L2Fraction(1000, UInt32((fps * 1000).rounded()))
        }
    }

    /// Another native format with a faster rate at the same size, for the hint in the notes.
    private static func fasterAlternative(_ formats: [V4L2FormatInfo], than family: V4L2FormatInfo, size: V4L2Size,
                                          fps: Double) -> (fourcc: FourCC, fps: Double, option: String)? {
        for f in formats where !f.isEmulated && f.fourcc != family.fourcc {
            let option: String
            switch f.fourcc {
            case .yuyv: option = "yuyv"
            case .mjpeg, .jpeg: option = "mjpeg"
            default: continue
            }
            guard case let .discrete(list)? = f.intervals[size] else { continue }
            if let top = list.map(\.fps).max(), top > fps + 0.5 { return (f.fourcc, top, option) }
        }
        return nil
    }

    private static func distance(_ a: V4L2Size, _ b: V4L2Size) -> Int {
        abs(a.width - b.width) + abs(a.height - b.height)
    }

    private static func snap(_ v: Int, _ lo: Int, _ hi: Int, _ step: Int) -> Int {
        let clamped = min(max(v, lo), hi)
        let snapped = lo + ((clamped - lo + step / 2) / step) * step
        return min(snapped, hi)
    }
}

func formatFPS(_ fps: Double) -> String {
    let r = (fps * 100).rounded() / 100
    return r == r.rounded() ? String(Int(r)) : String(r)
}
