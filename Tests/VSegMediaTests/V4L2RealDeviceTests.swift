#if canImport(Glibc)
import Glibc
#endif
import XCTest
import VSegCore
@testable import VSegMedia

/// Through the real libv4l2 path. There is no camera on CI machines, so these
/// check what a user without the device sees.
final class V4L2RealDeviceTests: XCTestCase {
    func testMissingDeviceGivesTheNoSuchDeviceError() {
        let error = v4l2Error { try V4L2Source(path: "/dev/video99") }
        XCTAssertEqual(error, .noSuchDevice(path: "/dev/video99"))
        XCTAssertEqual(error?.description,
                       "/dev/video99: no such device; list cameras with `ls /dev/video*` and check one with `vseg probe /dev/videoN`")
        XCTAssertEqual(error?.exitCode, .input)
    }

    func testProbeOfAMissingDevice() {
        XCTAssertEqual(v4l2Error { try V4L2Probe.describe(path: "/dev/video99") }, .noSuchDevice(path: "/dev/video99"))
    }

    func testANodeThatIsNotV4L2() {
        // /dev/null opens fine but does not understand QUERYCAP.
        XCTAssertEqual(v4l2Error { try V4L2Source(path: "/dev/null") }, .notV4L2Device(path: "/dev/null"))
    }
}

/// Camera URIs through the shared `openSource` factory.
final class V4L2FactoryTests: XCTestCase {
    func testFactoryOpensCameraURIsWithV4L2() {
        for uri in ["/dev/video99", "v4l2:///dev/video99"] {
            XCTAssertThrowsError(try openSource(uri: uri)) { error in
                XCTAssertEqual(error as? V4L2Error, .noSuchDevice(path: "/dev/video99"), uri)
            }
        }
    }

    func testSimulatedCameraIsPacedInRealTime() throws {
        var options = SourceOptions()
        options.width = 320
        options.height = 240
        options.frameRate = 30
        let source = try openSource(uri: "v4l2sim:", options: options)
        XCTAssertTrue(source is V4L2Source)
        XCTAssertEqual(source.info.width, 320)
        XCTAssertTrue(source.info.isLive)
        let start = Clock.nanos()
        for _ in 0..<4 { XCTAssertNotNil(try source.nextFrame()) }
        // Frames 0...3 are due at 0, 33, 67 and 100 ms after STREAMON.
        XCTAssertGreaterThanOrEqual(Double(Clock.nanos() - start) / 1e6, 95)
        source.close()
    }

    func testCameraOptionsComeFromSourceOptions() throws {
        var options = SourceOptions()
        options.inputFormat = "mjpeg"
        options.bufferCount = 3
        options.maxFrames = 2
        let v = try V4L2Options(options)
        XCTAssertEqual(v.format, .mjpeg)
        XCTAssertEqual(v.bufferCount, 3)
        XCTAssertEqual(v.maxFrames, 2)
        XCTAssertEqual(v.pollTimeout, options.readTimeout)
        XCTAssertEqual(v.firstFrameTimeout, max(options.openTimeout, options.readTimeout))
        options.inputFormat = "h264"
        XCTAssertThrowsError(try V4L2Options(options))
        let unpaced = try XCTUnwrap(V4L2Source.open(uri: "v4l2sim:?unpaced", options: SourceOptions()))
        XCTAssertNotNil(try unpaced.nextFrame())
        XCTAssertNil(try V4L2Source.open(uri: "samples/bikes.mp4", options: SourceOptions()))
    }
}

final class V4L2SimulatedRealtimeTests: XCTestCase {
    func testASlowReaderLosesFramesLikeWithARealDriver() throws {
        let sim = SimulatedV4L2Device()
        sim.realtime = true
        let src = try v4l2SimulatedSource(sim, V4L2Options(width: 320, height: 240, fps: 30, bufferCount: 2,
                                                            dropStaleFrames: false))
        let first = try XCTUnwrap(src.nextFrame())
        usleep(300_000)  // ~9 frame intervals with both buffers full
        let held = try (0..<2).map { _ in try XCTUnwrap(src.nextFrame()) }
        let fresh = try XCTUnwrap(src.nextFrame())
        XCTAssertEqual(first.index, 0)
        XCTAssertEqual(held.map(\.index), [1, 2], "the two queued buffers kept the oldest frames")
        XCTAssertGreaterThanOrEqual(fresh.index, 8, "frames due while no buffer was queued are gone")
        XCTAssertEqual(src.framesDroppedByDriver, fresh.index - 3)
        XCTAssertEqual(fresh.timestamp.value, Int64(fresh.index) * 1_000_000 / 30)
    }
}

extension V4L2SimulatedRealtimeTests {
    func testStaleFramesAreSkippedForTheNewest() throws {
        let sim = SimulatedV4L2Device()
        sim.realtime = true
        let src = try v4l2SimulatedSource(sim, V4L2Options(width: 320, height: 240, fps: 30, bufferCount: 4))
        XCTAssertEqual(try src.nextFrame()?.index, 0)
        usleep(300_000)  // frames 1...4 fill the other buffers
        let newest = try XCTUnwrap(src.nextFrame())
        // Buffers held frames 1...4; frames due while all were full are lost by the
        // driver. Whatever is handed out is recent, not the oldest buffer.
        XCTAssertGreaterThanOrEqual(newest.index, 4, "not frame 1, the oldest buffer")
        XCTAssertGreaterThanOrEqual(src.staleFramesDropped, 3)
        XCTAssertEqual(src.framesDroppedByDriver, newest.index - 1 - src.staleFramesDropped,
                       "every missing index is either our skip or the driver's drop, counted once")
        let next = try XCTUnwrap(src.nextFrame())
        XCTAssertGreaterThan(next.index, 4)
        XCTAssertEqual(sim.mappedCount, 4)
    }

    func testNoDrainingWhenLibv4l2Decodes() throws {
        let sim = SimulatedV4L2Device()
        sim.realtime = true
        let src = try v4l2SimulatedSource(sim, V4L2Options(width: 320, height: 240, fps: 30, format: .mjpeg))
        XCTAssertEqual(try src.nextFrame()?.index, 0)
        usleep(200_000)
        XCTAssertEqual(try src.nextFrame()?.index, 1, "the oldest buffer, not decoded-and-dropped ones")
        XCTAssertEqual(src.staleFramesDropped, 0)
    }
}
