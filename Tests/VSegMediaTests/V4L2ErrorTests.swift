#if canImport(Glibc)
import Glibc
#endif
import XCTest
import VSegCore
@testable import VSegMedia

final class V4L2ErrorTests: XCTestCase {
    func testEAGAINIsRetried() throws {
        let sim = SimulatedV4L2Device(script: [.dqbufError(EAGAIN), .dqbufError(EAGAIN), .frames(1)])
        let src = try v4l2SimulatedSource(sim)
        let frame = try XCTUnwrap(src.nextFrame())
        XCTAssertEqual(frame.index, 0)
        XCTAssertEqual(sim.calls.filter { $0 == "VIDIOC_DQBUF" }.count, 3)
    }

    func testEIOWithinTheRetryBudgetIsRidden() throws {
        let sim = SimulatedV4L2Device(script: [.dqbufError(EIO), .dqbufError(EIO), .dqbufError(EIO), .frames(2)])
        let src = try v4l2SimulatedSource(sim, V4L2Options(maxIORetries: 3))
        XCTAssertNotNil(try src.nextFrame())
        XCTAssertNotNil(try src.nextFrame())
    }

    func testRepeatedEIOGivesAnErrorAfterTheRetries() throws {
        let sim = SimulatedV4L2Device(script: [.frames(1)] + Array(repeating: .dqbufError(EIO), count: 10))
        let src = try v4l2SimulatedSource(sim, V4L2Options(maxIORetries: 4))
        XCTAssertNotNil(try src.nextFrame())
        let error = v4l2Error { try src.nextFrame() }
        XCTAssertEqual(error, .ioFailed(path: "/dev/video0", request: "VIDIOC_DQBUF", attempts: 5))
        XCTAssertEqual(sim.calls.filter { $0 == "VIDIOC_DQBUF" }.count, 6)
        XCTAssertTrue(error!.description.contains("/dev/video0"))
        XCTAssertEqual(error!.exitCode, .input)
    }

    func testUnplugMidStreamDeliversEarlierFramesThenTheDisconnectError() throws {
        let sim = SimulatedV4L2Device(script: [.frames(3), .unplug])
        let src = try v4l2SimulatedSource(sim)
        var indices: [Int] = []
        var failure: V4L2Error?
        while failure == nil {
            do {
                guard let f = try src.nextFrame() else { break }
                indices.append(f.index)
            } catch let e as V4L2Error {
                failure = e
            }
        }
        XCTAssertEqual(indices, [0, 1, 2])
        XCTAssertEqual(failure, .disconnected(path: "/dev/video0"))
        XCTAssertTrue(failure!.description.hasPrefix("camera /dev/video0 was disconnected"), failure!.description)
        src.close()
        XCTAssertEqual(sim.mappedCount, 0, "buffers are unmapped even after the camera went away")
        XCTAssertFalse(sim.isOpen)
    }

    func testBusyDeviceOnOpen() {
        let sim = SimulatedV4L2Device()
        sim.openError = EBUSY
        let error = v4l2Error { try v4l2SimulatedSource(sim) }
        XCTAssertEqual(error, .busy(path: "/dev/video0"))
        XCTAssertEqual(error?.description, "/dev/video0 is busy: another program is using it; close it or pick another device")
    }

    func testBusyWhenAnotherProgramStreams() {
        // Many drivers let a second program open the node and refuse at S_FMT/REQBUFS.
        let sim = SimulatedV4L2Device()
        sim.failing["VIDIOC_S_FMT"] = EBUSY
        XCTAssertEqual(v4l2Error { try v4l2SimulatedSource(sim) }, .busy(path: "/dev/video0"))
        XCTAssertFalse(sim.isOpen, "the node is closed again")
    }

    func testMissingDevice() {
        let sim = SimulatedV4L2Device()
        sim.openError = ENOENT
        let error = v4l2Error { try v4l2SimulatedSource(sim) }
        XCTAssertEqual(error, .noSuchDevice(path: "/dev/video0"))
        XCTAssertTrue(error!.description.hasPrefix("/dev/video0: no such device;"))
        XCTAssertTrue(error!.description.contains("ls /dev/video*"))
    }

    func testPermissionDenied() {
        let sim = SimulatedV4L2Device()
        sim.openError = EACCES
        let error = v4l2Error { try v4l2SimulatedSource(sim) }
        XCTAssertEqual(error, .permissionDenied(path: "/dev/video0"))
        XCTAssertTrue(error!.description.contains("video' group"))
    }

    func testEINTRIsRetriedEverywhere() throws {
        let sim = SimulatedV4L2Device()
        sim.interruptions = ["open": 2, "VIDIOC_S_FMT": 1, "mmap": 1, "poll": 3, "VIDIOC_DQBUF": 2]
        let src = try v4l2SimulatedSource(sim)
        XCTAssertNotNil(try src.nextFrame())
        XCTAssertEqual(sim.calls.filter { $0 == "open" }.count, 3)
        XCTAssertEqual(sim.interruptions.values.reduce(0, +), 0, "every scripted EINTR was consumed")
    }

    func testMetadataNodeIsNotACaptureDevice() {
        let sim = SimulatedV4L2Device()
        sim.capabilities = UInt32(0x0080_0000) | UInt32(0x0400_0000)  // META_CAPTURE | STREAMING
        let error = v4l2Error { try v4l2SimulatedSource(sim) }
        XCTAssertEqual(error, .notACaptureDevice(path: "/dev/video0", capabilities: "metadata capture, streaming"))
        XCTAssertTrue(error!.description.contains("try the other /dev/videoN"))
    }

    func testMultiPlanarOnlyNode() {
        let sim = SimulatedV4L2Device()
        sim.capabilities = UInt32(0x1000) | UInt32(0x0400_0000)  // VIDEO_CAPTURE_MPLANE | STREAMING
        let error = v4l2Error { try v4l2SimulatedSource(sim) }
        XCTAssertEqual(error, .multiPlanarOnly(path: "/dev/video0"))
        XCTAssertTrue(error!.description.contains("ffmpeg -f v4l2 -i /dev/video0"))
    }

    func testCaptureWithoutStreaming() {
        let sim = SimulatedV4L2Device()
        sim.capabilities = UInt32(0x1) | UInt32(0x0100_0000)  // VIDEO_CAPTURE | READWRITE
        XCTAssertEqual(v4l2Error { try v4l2SimulatedSource(sim) }, .noStreaming(path: "/dev/video0"))
    }

    func testNoFrameWithinThePollTimeout() throws {
        let sim = SimulatedV4L2Device(script: [.frames(2), .stall])
        let src = try v4l2SimulatedSource(sim, V4L2Options(pollTimeout: 0.3))
        XCTAssertNotNil(try src.nextFrame())
        XCTAssertNotNil(try src.nextFrame())
        let start = Clock.nanos()
        XCTAssertEqual(v4l2Error { try src.nextFrame() }, .timedOut(path: "/dev/video0", seconds: 0.3))
        let seconds = Double(Clock.nanos() - start) / 1e9
        XCTAssertGreaterThanOrEqual(seconds, 0.29)
        XCTAssertLessThan(seconds, 1.5)
    }

    func testTheFirstFrameMayTakeLonger() throws {
        let sim = SimulatedV4L2Device(script: [.stall])
        let src = try v4l2SimulatedSource(sim, V4L2Options(pollTimeout: 0.1, firstFrameTimeout: 0.5))
        let start = Clock.nanos()
        XCTAssertEqual(v4l2Error { try src.nextFrame() }, .timedOut(path: "/dev/video0", seconds: 0.5))
        XCTAssertGreaterThanOrEqual(Double(Clock.nanos() - start) / 1e9, 0.49)
    }

    func testSinglePollTimeoutsAreWaitedThrough() throws {
        let sim = SimulatedV4L2Device(script: [.pollTimeout, .pollTimeout, .frames(1)])
        let src = try v4l2SimulatedSource(sim)
        XCTAssertEqual(try src.nextFrame()?.index, 0)
    }

    func testOtherFailuresNameTheRequestAndReleaseEverything() {
        let sim = SimulatedV4L2Device()
        sim.failing["VIDIOC_STREAMON"] = ENOMEM
        let error = v4l2Error { try v4l2SimulatedSource(sim) }
        XCTAssertEqual(error, .syscall(path: "/dev/video0", request: "VIDIOC_STREAMON", errno: ENOMEM))
        XCTAssertTrue(error!.description.contains("VIDIOC_STREAMON failed: Cannot allocate memory"), error!.description)
        XCTAssertEqual(sim.mappedCount, 0)
        XCTAssertFalse(sim.isOpen)
    }

    func testNoUSBBandwidth() {
        let sim = SimulatedV4L2Device()
        sim.failing["VIDIOC_STREAMON"] = ENOSPC
        let error = v4l2Error { try v4l2SimulatedSource(sim) }
        XCTAssertEqual(error, .usbBandwidth(path: "/dev/video0"))
        XCTAssertTrue(error!.description.contains("use format mjpeg"))
        XCTAssertEqual(sim.mappedCount, 0)
    }

    func testTooFewBuffers() {
        let sim = SimulatedV4L2Device()
        sim.maxBuffers = 1
        XCTAssertEqual(v4l2Error { try v4l2SimulatedSource(sim) }, .tooFewBuffers(path: "/dev/video0", granted: 1))
        XCTAssertFalse(sim.isOpen)
    }

    func testFrameRateRequestsRefusedByTheDriverAreNoted() throws {
        let sim = SimulatedV4L2Device()
        sim.failing["VIDIOC_S_PARM"] = ENOTTY
        let src = try v4l2SimulatedSource(sim)
        XCTAssertTrue(src.notes.contains { $0.contains("does not take frame-rate requests") }, "\(src.notes)")
        XCTAssertEqual(src.info.frameRate, Rational(0, 1))
        XCTAssertNotNil(try src.nextFrame())
    }

    func testInvalidOptionsAreRejectedBeforeTouchingTheDevice() {
        let sim = SimulatedV4L2Device()
        XCTAssertThrowsError(try v4l2SimulatedSource(sim, V4L2Options(bufferCount: 1))) { error in
            XCTAssertEqual(error as? MediaError, .invalidOption(name: "bufferCount", value: "1", expected: "2...32"))
        }
        XCTAssertTrue(sim.calls.isEmpty)
    }
}

final class V4L2RecoveryTests: XCTestCase {
    func testDamagedFramesAreSkippedNotDelivered() throws {
        let sim = SimulatedV4L2Device(script: [.frames(1), .damaged(2), .frames(1)])
        let src = try v4l2SimulatedSource(sim)
        XCTAssertEqual(try src.nextFrame()?.index, 0)
        XCTAssertEqual(try src.nextFrame()?.index, 3, "frames 1 and 2 were damaged")
        XCTAssertEqual(src.corruptFramesSkipped, 2)
    }

    func testOnlyDamagedFramesEndsWithAnError() throws {
        let sim = SimulatedV4L2Device(script: [.damaged(1_000_000)])
        sim.realtime = true
        let src = try v4l2SimulatedSource(sim, V4L2Options(pollTimeout: 0.3, firstFrameTimeout: 0.3))
        guard case let .onlyDamagedFrames(path, seconds, skipped)? = v4l2Error({ try src.nextFrame() }) else {
            return XCTFail("expected onlyDamagedFrames")
        }
        XCTAssertEqual(path, "/dev/video0")
        XCTAssertEqual(seconds, 0.3)
        XCTAssertGreaterThan(skipped, 0)
    }

    func testEIOThatTurnsOutToBeAnUnplugIsReportedAsDisconnect() throws {
        // UVC fails DQBUF with EIO first and only later answers ENODEV.
        let sim = SimulatedV4L2Device(script: [.frames(2)] + Array(repeating: .dqbufError(EIO), count: 20))
        let src = try v4l2SimulatedSource(sim, V4L2Options(maxIORetries: 2))
        XCTAssertNotNil(try src.nextFrame())
        XCTAssertNotNil(try src.nextFrame())
        sim.failing["VIDIOC_QUERYCAP"] = ENODEV
        XCTAssertEqual(v4l2Error { try src.nextFrame() }, .disconnected(path: "/dev/video0"))
    }
}
