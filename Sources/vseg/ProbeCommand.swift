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

    @Flag(help: "Skip decoding every frame to count them (faster on long files; the count then comes from the container).")
    var noCount = false

    func run() throws {
        if V4L2Probe.isDeviceURI(input) {
            let path = V4L2Probe.devicePath(input) ?? input
            print(try V4L2Probe.describe(path: path).render())
            return
        }
        print(try MediaProbe.probe(uri: input, countFrames: !noCount).render())
    }
}
