import XCTest
@testable import VSegMedia

final class V4L2ProbeTests: XCTestCase {
    func testDescribeListsCapsFormatsSizesAndRates() throws {
        let sim = SimulatedV4L2Device()
        let d = try V4L2Probe.describe(path: "/dev/video0", device: sim)
        XCTAssertEqual(d.capabilities.driver, "vsegsim")
        XCTAssertEqual(d.capabilities.card, "Simulated Camera")
        XCTAssertEqual(d.capabilities.busInfo, "platform:vsegsim-0")
        XCTAssertEqual(d.capabilities.version, "6.1.0")
        XCTAssertEqual(d.capabilities.names, ["video capture", "streaming"])
        XCTAssertEqual(d.formats, SimulatedV4L2Pattern.typicalWebcam(), "the enumeration reads back the declared table")
        XCTAssertFalse(sim.isOpen, "probe closes the node")
        XCTAssertFalse(sim.calls.contains("VIDIOC_STREAMON"), "probe does not stream")

        let text = d.render()
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "/dev/video0: Simulated Camera")
        XCTAssertTrue(lines.contains("  capabilities: video capture, streaming"), text)
        XCTAssertEqual(d.current, V4L2CurrentMode(format: .yuyv, size: V4L2Size(width: 640, height: 480), interval: V4L2Fraction(1, 30)))
        XCTAssertTrue(lines.contains("  current:      640x480 YUYV at 30 fps"), text)
        XCTAssertTrue(lines.contains("  format YUYV: YUYV 4:2:2"), text)
        XCTAssertTrue(lines.contains("  format MJPG: Motion-JPEG [compressed]"), text)
        XCTAssertTrue(lines.contains("  format RGB3: RGB3 [converted by libv4l2]"), text)
        XCTAssertTrue(lines.contains("    1280x720    10, 5 fps"), text)
        XCTAssertTrue(lines.contains("    1920x1080   30, 15 fps"), text)
        // Largest size first within a format.
        let yuyv = try XCTUnwrap(lines.firstIndex(of: "  format YUYV: YUYV 4:2:2"))
        XCTAssertEqual(lines[yuyv + 1], "    1280x720    10, 5 fps")
        XCTAssertEqual(lines[yuyv + 4], "    160x120     30, 15 fps")
    }

    func testStepwiseAndContinuousRender() throws {
        let sim = SimulatedV4L2Device(formats: [
            V4L2FormatInfo(fourcc: .yuyv, description: "YUYV",
                           sizes: .stepwise(min: V4L2Size(width: 32, height: 32), max: V4L2Size(width: 1920, height: 1080),
                                            stepWidth: 2, stepHeight: 2)),
        ])
        let d = try V4L2Probe.describe(path: "/dev/video3", device: sim)
        XCTAssertEqual(d.formats[0].sizes, .stepwise(min: V4L2Size(width: 32, height: 32),
                                                     max: V4L2Size(width: 1920, height: 1080), stepWidth: 2, stepHeight: 2))
        XCTAssertTrue(d.render().contains("    any size from 32x32 to 1920x1080 in steps of 2x2"), d.render())
        XCTAssertEqual(V4L2Description.rates(.stepwise(min: V4L2Fraction(1, 60), max: V4L2Fraction(1, 5), step: V4L2Fraction(1, 1))),
                       "5-60 fps")
    }

    func testMetadataNodeIsDescribedNotRejected() throws {
        let sim = SimulatedV4L2Device()
        sim.capabilities = UInt32(0x0080_0000) | UInt32(0x0400_0000)
        let d = try V4L2Probe.describe(path: "/dev/video1", device: sim)
        XCTAssertEqual(d.formats, [])
        XCTAssertTrue(d.render().contains("not a video capture device"), d.render())
        XCTAssertFalse(sim.calls.contains("VIDIOC_ENUM_FMT"))
    }

    func testProbeErrorsAreTheSourceErrors() {
        let sim = SimulatedV4L2Device()
        sim.openError = EBUSY
        XCTAssertEqual(v4l2Error { try V4L2Probe.describe(path: "/dev/video0", device: sim) }, .busy(path: "/dev/video0"))
    }

    func testDeviceURIs() {
        XCTAssertEqual(V4L2Probe.devicePath("/dev/video0"), "/dev/video0")
        XCTAssertEqual(V4L2Probe.devicePath("v4l2:///dev/video12"), "/dev/video12")
        XCTAssertNil(V4L2Probe.devicePath("/dev/video"))
        XCTAssertNil(V4L2Probe.devicePath("/dev/videos.mp4"))
        XCTAssertNil(V4L2Probe.devicePath("samples/bikes.mp4"))
        XCTAssertNil(V4L2Probe.devicePath("udp://127.0.0.1:5000"))
        XCTAssertTrue(V4L2Probe.isDeviceURI("/dev/video2"))
        XCTAssertTrue(V4L2Probe.isDeviceURI("v4l2sim:"))
        XCTAssertFalse(V4L2Probe.isDeviceURI("samples/bikes.mp4"))
    }

    func testSimulatedCameraCanBeProbedByURI() throws {
        let d = try V4L2Probe.describe(path: "v4l2sim:")
        XCTAssertEqual(d.capabilities.card, "Simulated Camera")
        XCTAssertEqual(d.formats.map(\.fourcc), [.yuyv, .mjpeg, .rgb24])
    }
}
