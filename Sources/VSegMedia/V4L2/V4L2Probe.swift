import CV4L2

/// The mode a device is set to right now (what another program left it in).
public struct V4L2CurrentMode: Equatable, Sendable {
    public var format: FourCC
    public var size: V4L2Size
    /// Nil when the driver does not report its frame interval.
    public var interval: V4L2Fraction?
}

/// Everything `vseg probe /dev/videoN` shows about a camera node.
public struct V4L2Description: Equatable, Sendable {
    public var path: String
    public var capabilities: V4L2Capabilities
    /// Capture formats with their sizes and frame rates; empty when the node cannot capture video.
    public var formats: [V4L2FormatInfo]
    public var current: V4L2CurrentMode?

    public init(path: String, capabilities: V4L2Capabilities, formats: [V4L2FormatInfo], current: V4L2CurrentMode? = nil) {
        self.path = path; self.capabilities = capabilities; self.formats = formats; self.current = current
    }

    /// Human-readable text, one fact per line, largest sizes first.
    public func render() -> String {
        var lines = ["\(path.hasSuffix(":") ? String(path.dropLast()) : path): \(capabilities.card)"]
        lines.append("  driver:       \(capabilities.driver) (kernel \(capabilities.version))")
        lines.append("  bus:          \(capabilities.busInfo)")
        lines.append("  capabilities: \(capabilities.names.isEmpty ? "none" : capabilities.names.joined(separator: ", "))")
        if !capabilities.canCapture {
            lines.append("  not a video capture device: cameras often add a second node for metadata; try the other /dev/video* nodes")
            return lines.joined(separator: "\n")
        }
        if !capabilities.canStream {
            lines.append("  cannot stream (no mmap streaming): vseg cannot capture from it")
        }
        if let c = current {
            lines.append("  current:      \(c.size) \(c.format)" + (c.interval.map { " at \(formatFPS($0.fps)) fps" } ?? ""))
        }
        if formats.isEmpty { lines.append("  formats:      none listed") }
        for f in formats {
            var tags: [String] = []
            if f.isCompressed { tags.append("compressed") }
            if f.isEmulated { tags.append("converted by libv4l2") }
            let tag = tags.isEmpty ? "" : " [\(tags.joined(separator: ", "))]"
            lines.append("  format \(f.fourcc): \(f.description)\(tag)")
            switch f.sizes {
            case let .discrete(sizes):
                for s in sizes.sorted(by: { ($0.width * $0.height, $0.width) > ($1.width * $1.height, $1.width) }) {
                    lines.append("    \(pad(s.description, 11)) \(Self.rates(f.intervals[s] ?? .unknown))")
                }
            case let .stepwise(lo, hi, sw, sh):
                lines.append("    any size from \(lo) to \(hi) in steps of \(sw)x\(sh)")
            case .unknown:
                lines.append("    sizes not listed by the driver")
            }
        }
        lines.append("  capture with: vseg run pipelines/camera.yaml --set source.uri=\(path)")
        lines.append("    (source keys: width, height, frameRate, inputFormat auto|yuyv|mjpeg|rgb24, bufferCount)")
        return lines.joined(separator: "\n")
    }

    static func rates(_ intervals: V4L2FrameIntervals) -> String {
        switch intervals {
        case let .discrete(list):
            let fps = list.map(\.fps).sorted(by: >).map(formatFPS)
            return fps.joined(separator: ", ") + " fps"
        case let .stepwise(fastest, slowest, _):
            return "\(formatFPS(slowest.fps))-\(formatFPS(fastest.fps)) fps"
        case .unknown:
            return "frame rates not listed"
        }
    }

    private func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s : s + String(repeating: " ", count: n - s.count)
    }
}

/// Reads a camera's capabilities, formats, sizes and frame rates without streaming.
public enum V4L2Probe {
    /// Opens `path` (through libv4l2 unless a device is given), queries it and closes it.
    /// Throws `V4L2Error` when the node is missing, busy or not accessible.
    /// `v4l2sim:` describes the simulated webcam.
    public static func describe(path: String, device: V4L2Device? = nil) throws -> V4L2Description {
        let simulated = path.hasPrefix(V4L2Source.simulatedScheme)
        let handle = try V4L2Handle(path: path, device: device ?? (simulated ? SimulatedV4L2Device() : LibV4L2Device()))
        defer { handle.close() }
        let caps = try V4L2Capabilities.query(handle)
        guard caps.canCapture else { return V4L2Description(path: path, capabilities: caps, formats: []) }
        let formats = try V4L2Enumerator.formats(handle)
        return V4L2Description(path: path, capabilities: caps, formats: formats, current: try currentMode(handle))
    }

    /// G_FMT and G_PARM; nil when the driver does not answer G_FMT.
    static func currentMode(_ handle: V4L2Handle) throws -> V4L2CurrentMode? {
        var format = v4l2_format()
        format.type = V4L2Const.bufTypeVideoCapture
        guard try handle.enumerate(.gFmt, &format) else { return nil }
        var parm = v4l2_streamparm()
        parm.type = V4L2Const.bufTypeVideoCapture
        var interval: V4L2Fraction?
        if try handle.enumerate(.gParm, &parm) {
            let t = parm.parm.capture.timeperframe
            if t.numerator > 0 && t.denominator > 0 { interval = V4L2Fraction(t.numerator, t.denominator) }
        }
        return V4L2CurrentMode(format: FourCC(rawValue: format.fmt.pix.pixelformat),
                               size: V4L2Size(width: Int(format.fmt.pix.width), height: Int(format.fmt.pix.height)),
                               interval: interval)
    }

    /// True when `uri` names a V4L2 device: `/dev/videoN`, `v4l2:///dev/videoN` or
    /// the simulated `v4l2sim:`.
    public static func isDeviceURI(_ uri: String) -> Bool {
        devicePath(uri) != nil || uri.hasPrefix(V4L2Source.simulatedScheme)
    }

    /// The device path in a V4L2 URI (`/dev/video0`, `v4l2:///dev/video0`), or nil.
    public static func devicePath(_ uri: String) -> String? {
        let path = uri.hasPrefix("v4l2://") ? String(uri.dropFirst("v4l2://".count)) : uri
        guard path.hasPrefix("/dev/video") else { return nil }
        let number = path.dropFirst("/dev/video".count)
        guard !number.isEmpty, number.allSatisfy(\.isNumber) else { return nil }
        return path
    }
}
