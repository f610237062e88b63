import ArgumentParser
import VSegCore
import VSegMedia

/// `vseg probe INPUT`
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Describe an input: container, streams, codec, size, fps, duration, frame count; for /dev/videoN the camera's formats.",
        discussion: """
        Examples:
          vseg probe samples/bikes.mp4
          vseg probe /dev/video0
          vseg probe udp://127.0.0.1:5600
        """
    )

    @Argument(help: ArgumentHelp("File, URL, image pattern or /dev/videoN.", valueName: "input"))
    var input: String

    func run() throws {
        if V4L2Probe.isDeviceURI(input) {
            let path = V4L2Probe.devicePath(input) ?? input
            print(try V4L2Probe.describe(path: path).render())
            return
        }
        var options = SourceOptions()
        options.maxFrames = 1
        let source = try openSource(uri: input, options: options)
        defer { source.close() }
        print(Self.render(source.info))
    }

    static func render(_ i: SourceInfo) -> String {
        var lines = ["input: \(i.uri)"]
        lines.append("  video: \(i.codec), \(i.width)x\(i.height)")
        let fps = i.frameRate.doubleValue
        lines.append("  fps: " + (fps.isFinite && fps > 0 ? "\(rounded(fps, 3)) (\(i.frameRate))" : "unknown"))
        lines.append("  time base: \(i.timeBase)")
        lines.append("  duration: " + (i.duration.map { "\(rounded($0, 3)) s" } ?? "unknown"))
        lines.append("  frames: " + (i.frameCount.map(String.init) ?? "unknown"))
        lines.append("  live: \(i.isLive ? "yes (flow-limited, reconnects)" : "no (file: every frame is kept)")")
        lines.append("  decoded as: \(i.pixelFormat.rawValue)")
        return lines.joined(separator: "\n")
    }

    static func rounded(_ v: Double, _ digits: Int) -> Double {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        return (v * scale).rounded() / scale
    }
}
