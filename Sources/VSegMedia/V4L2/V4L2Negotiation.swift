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
        let available = candidates(formats, emulatedRGB: options.format != .auto)
        guard !available.isEmpty else {
            let offered = formats.map { "\($0.fourcc)\($0.isEmulated ? " (emulated)" : "")" }.joined(separator: ", ")
            throw V4L2Error.noUsableFormat(path: path, offered: offered.isEmpty ? "none" : offered)
        }
        let want = V4L2Size(width: options.width, height: options.height)
        var notes: [String] = []
        let chosen: Mode
        if options.format == .auto {
            // The mode nearest in size, then in rate; ties keep YUYV (no compression artefacts).
            let modes = try available.map { try mode($0, want, options.fps, intervalsAt) }
            chosen = modes.min { a, b in (a.sizeDistance, a.fpsDistance) < (b.sizeDistance, b.fpsDistance) }!
            if chosen.candidate.kind != .yuyv, let yuyv = modes.first(where: { $0.candidate.kind == .yuyv }) {
                let reach = yuyv.interval.map { " at \(formatFPS($0.fps)) fps" } ?? ""
                notes.append("using \(chosen.candidate.kind.rawValue): YUYV only reaches \(yuyv.size)\(reach)")
            }
        } else {
            let order: [V4L2Options.Format]
            switch options.format {
            case .yuyv, .auto: order = [.yuyv, .mjpeg, .rgb24]
            case .mjpeg: order = [.mjpeg, .yuyv, .rgb24]
            case .rgb24: order = [.rgb24, .yuyv, .mjpeg]
            }
            let candidate = order.lazy.compactMap { kind in available.first { $0.kind == kind } }.first!
            if candidate.kind != options.format {
                notes.append("\(path) has no \(options.format.rawValue) format; using \(candidate.kind.rawValue) instead")
            }
            chosen = try mode(candidate, want, options.fps, intervalsAt)
        }
        let family = chosen.candidate.family
        if chosen.size != want {
            notes.append("asked \(want), \(family.fourcc) offers nearest \(chosen.size)")
        }
        if let interval = chosen.interval, abs(interval.fps - options.fps) > 0.01 {
            var note = "asked \(formatFPS(options.fps)) fps, \(family.fourcc) at \(chosen.size) offers nearest \(formatFPS(interval.fps)) fps"
            if interval.fps < options.fps, let better = fasterAlternative(formats, than: family, size: chosen.size, fps: interval.fps) {
                note += " (\(better.fourcc) reaches \(formatFPS(better.fps)) fps at this size: ask for format \(better.option))"
            }
            notes.append(note)
        }
        return V4L2Negotiation(deviceFormat: family.fourcc, captureFormat: chosen.candidate.capture, size: chosen.size,
                               interval: chosen.interval, notes: notes)
    }

    /// A way to capture: the format table negotiated in and the fourcc S_FMT asks for.
    struct Candidate {
        let kind: V4L2Options.Format
        let family: V4L2FormatInfo
        let capture: FourCC
    }

    /// The nearest size and rate one candidate offers.
    struct Mode {
        let candidate: Candidate
        let size: V4L2Size
        let interval: V4L2Fraction?
        let sizeDistance: Int
        let fpsDistance: Double
    }

    static func mode(_ c: Candidate, _ want: V4L2Size, _ fps: Double,
                     _ intervalsAt: (FourCC, V4L2Size) throws -> V4L2FrameIntervals) throws -> Mode {
        let size = nearestSize(c.family.sizes, to: want)
        let interval = nearestInterval(try c.family.intervals[size] ?? intervalsAt(c.family.fourcc, size), fps: fps)
        return Mode(candidate: c, size: size, interval: interval, sizeDistance: distance(size, want),
                    fpsDistance: interval.map { abs($0.fps - fps) } ?? 0)
    }

    /// The ways this device can be captured from, YUYV first. Anything but YUYV reaches
    /// us as RGB24 through libv4l2, so MJPEG needs libv4l2's RGB24 to be listed. An RGB24
    /// that libv4l2 makes up counts when asked for by name (`emulatedRGB`) or when
    /// nothing else does (libv4l2 then picks the source format itself).
    static func candidates(_ formats: [V4L2FormatInfo], emulatedRGB: Bool) -> [Candidate] {
        let native = formats.filter { !$0.isEmulated }
        let rgb = formats.first { $0.fourcc == .rgb24 }
        var result: [Candidate] = []
        if let f = native.first(where: { $0.fourcc == .yuyv }) { result.append(Candidate(kind: .yuyv, family: f, capture: .yuyv)) }
        if rgb != nil, let f = native.first(where: { $0.fourcc == .mjpeg || $0.fourcc == .jpeg }) {
            result.append(Candidate(kind: .mjpeg, family: f, capture: .rgb24))
        }
        if let f = native.first(where: { $0.fourcc == .rgb24 }) ?? (emulatedRGB || result.isEmpty ? rgb : nil) {
            result.append(Candidate(kind: .rgb24, family: f, capture: .rgb24))
        }
        return result
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
