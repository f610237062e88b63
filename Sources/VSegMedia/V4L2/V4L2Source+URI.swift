extension V4L2Source {
    /// URI scheme of the simulated webcam (`SimulatedV4L2Device`), for demos and
    /// pipeline tests on machines without a camera: `v4l2sim:` paces frames in real
    /// time like a camera, `v4l2sim:?unpaced` hands them out as fast as asked.
    public static let simulatedScheme = "v4l2sim:"

    /// The camera a URI names, or nil when the URI is not a camera:
    /// `/dev/videoN`, `v4l2:///dev/videoN` (libv4l2) or `v4l2sim:` (simulated).
    /// `openSource(uri:options:)` calls this first.
    public static func open(uri: String, options: SourceOptions) throws -> FrameSource? {
        if let path = V4L2Probe.devicePath(uri) {
            return try V4L2Source(path: path, options: V4L2Options(options))
        }
        guard uri.hasPrefix(simulatedScheme) else { return nil }
        let query = uri.dropFirst(simulatedScheme.count)
        guard query.isEmpty || query == "?unpaced" else {
            throw MediaError.invalidOption(name: "input", value: uri, expected: "v4l2sim: or v4l2sim:?unpaced")
        }
        let sim = SimulatedV4L2Device()
        sim.realtime = query.isEmpty
        return try V4L2Source(path: uri, options: V4L2Options(options), device: sim)
    }
}
