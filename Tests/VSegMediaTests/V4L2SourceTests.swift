#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
import VSegCore
@testable import VSegMedia

final class V4L2SourceTests: XCTestCase {
    func testYUYVFramesHaveIncreasingTimestampsAndBT601Pixels() throws {
        let sim = SimulatedV4L2Device()
        sim.rowPadding = 12  // the driver pads rows; the converter must follow bytesperline
        let src = try v4l2SimulatedSource(sim, V4L2Options(width: 320, height: 240, fps: 30, format: .yuyv))
        XCTAssertEqual(src.info.width, 320)
        XCTAssertEqual(src.info.height, 240)
        XCTAssertEqual(src.info.pixelFormat, .rgb24)
        XCTAssertEqual(src.info.frameRate, Rational(30, 1))
        XCTAssertEqual(src.info.timeBase, Rational(1, 1_000_000))
        XCTAssertTrue(src.info.isLive)
        XCTAssertEqual(src.negotiation.captureFormat, .yuyv)

        var last: Int64 = -1
        for n in 0..<5 {
            let frame = try XCTUnwrap(src.nextFrame())
            XCTAssertEqual(frame.index, n)
            XCTAssertEqual(frame.format, .rgb24)
            XCTAssertGreaterThan(frame.timestamp.value, last)
            // Driver stamps are 1/30 s apart, counted from the first frame.
            XCTAssertEqual(frame.timestamp.value, Int64(n) * 1_000_000 / 30)
            XCTAssertEqual(frame.duration, 33_333)
            last = frame.timestamp.value
            for (x, y) in [(0, 0), (1, 0), (2, 7), (101, 33), (318, 239), (319, 239), (160, 120)] {
                let s = SimulatedV4L2Pattern.yuv(x: x, y: y, frame: n)
                let pair = SimulatedV4L2Pattern.yuv(x: x & ~1, y: y, frame: n)  // chroma comes from the pair
                let expected = v4l2ReferenceRGB(y: s.y, u: pair.u, v: pair.v)
                XCTAssertLessThanOrEqual(v4l2ChannelDistance(v4l2Pixel(frame, x, y), expected), 1, "frame \(n) pixel \(x),\(y)")
            }
        }
        XCTAssertEqual(src.framesDelivered, 5)
    }

    func testRGB24FromLibv4l2ConversionIsCopiedRowByRow() throws {
        let sim = SimulatedV4L2Device()
        sim.rowPadding = 16
        let src = try v4l2SimulatedSource(sim, V4L2Options(width: 640, height: 480, fps: 30, format: .rgb24))
        XCTAssertEqual(src.negotiation.captureFormat, .rgb24)
        for n in 0..<2 {
            let frame = try XCTUnwrap(src.nextFrame())
            for (x, y) in [(0, 0), (639, 0), (5, 17), (639, 479), (320, 240)] {
                let c = SimulatedV4L2Pattern.rgb(x: x, y: y, frame: n)
                XCTAssertTrue(v4l2Pixel(frame, x, y) == (Int(c.r), Int(c.g), Int(c.b)), "frame \(n) pixel \(x),\(y)")
            }
        }
    }

    func testMJPEGPreferenceCapturesRGB24ThroughLibv4l2() throws {
        let sim = SimulatedV4L2Device()
        let src = try v4l2SimulatedSource(sim, V4L2Options(width: 1920, height: 1080, fps: 30, format: .mjpeg))
        XCTAssertEqual(src.negotiation.deviceFormat, .mjpeg)
        XCTAssertEqual(src.negotiation.captureFormat, .rgb24)
        XCTAssertEqual(src.info.codec, "mjpeg")
        XCTAssertEqual(src.info.width, 1920)
        XCTAssertNotNil(try src.nextFrame())
    }

    func testBufferCountIsHonoured() throws {
        let sim = SimulatedV4L2Device()
        let src = try v4l2SimulatedSource(sim, V4L2Options(bufferCount: 6))
        XCTAssertEqual(sim.requestedBufferCount, 6)
        XCTAssertEqual(src.bufferCount, 6)
        XCTAssertEqual(sim.calls.filter { $0 == "mmap" }.count, 6)
        XCTAssertEqual(sim.calls.filter { $0 == "VIDIOC_QBUF" }.count, 6)
        XCTAssertEqual(sim.mappedCount, 6)
        // Buffers cycle: more frames than buffers means each one went back to the driver.
        for _ in 0..<20 { XCTAssertNotNil(try src.nextFrame()) }
    }

    func testFewerBuffersGrantedIsNoted() throws {
        let sim = SimulatedV4L2Device()
        sim.maxBuffers = 3
        let src = try v4l2SimulatedSource(sim, V4L2Options(bufferCount: 8))
        XCTAssertEqual(src.bufferCount, 3)
        XCTAssertTrue(src.notes.contains { $0.contains("granted 3 buffers instead of 8") }, "\(src.notes)")
        for _ in 0..<7 { XCTAssertNotNil(try src.nextFrame()) }
    }

    func testCloseStopsStreamingUnmapsAndClosesOnce() throws {
        let sim = SimulatedV4L2Device()
        let src = try v4l2SimulatedSource(sim, V4L2Options(bufferCount: 4))
        _ = try src.nextFrame()
        src.close()
        XCTAssertFalse(sim.isStreaming)
        XCTAssertFalse(sim.isOpen)
        XCTAssertEqual(sim.mappedCount, 0)
        let calls = sim.calls
        XCTAssertEqual(calls.filter { $0 == "munmap" }.count, 4)
        let off = try XCTUnwrap(calls.firstIndex(of: "VIDIOC_STREAMOFF"))
        let firstUnmap = try XCTUnwrap(calls.firstIndex(of: "munmap"))
        XCTAssertLessThan(off, firstUnmap, "STREAMOFF before munmap")
        XCTAssertEqual(calls.last, "close")
        src.close()
        XCTAssertEqual(sim.calls.count, calls.count, "second close does nothing")
        XCTAssertNil(try src.nextFrame(), "a closed source ends")
    }

    func testDeinitReleasesTheDevice() throws {
        let sim = SimulatedV4L2Device()
        do {
            let src = try v4l2SimulatedSource(sim)
            _ = try src.nextFrame()
        }
        XCTAssertTrue(sim.calls.contains("VIDIOC_STREAMOFF"))
        XCTAssertEqual(sim.mappedCount, 0)
        XCTAssertFalse(sim.isOpen)
    }

    func testInterruptEndsABlockedPollPromptly() throws {
        let sim = SimulatedV4L2Device(script: [.frames(1), .stall])
        let src = try v4l2SimulatedSource(sim, V4L2Options(pollTimeout: 30))
        XCTAssertNotNil(try src.nextFrame())
        let t = Thread { usleep(100_000); src.interrupt() }
        let start = Clock.nanos()
        t.start()
        XCTAssertNil(try src.nextFrame())
        let seconds = Double(Clock.nanos() - start) / 1e9
        XCTAssertLessThan(seconds, 1.0)
        XCTAssertGreaterThanOrEqual(seconds, 0.09)
        XCTAssertNil(try src.nextFrame(), "stays ended")
    }

    func testDroppedFramesLeaveGapsInIndexAndTime() throws {
        let sim = SimulatedV4L2Device(script: [.frames(2), .dropped(3), .frames(2)])
        let src = try v4l2SimulatedSource(sim, V4L2Options(width: 640, height: 480, fps: 15))
        let frames = try (0..<4).map { _ in try XCTUnwrap(src.nextFrame()) }
        XCTAssertEqual(frames.map(\.index), [0, 1, 5, 6])
        XCTAssertEqual(frames.map(\.timestamp.value), [0, 66_666, 333_333, 400_000])
        XCTAssertEqual(src.framesDroppedByDriver, 3)
        // The content is the driver's frame 5, not our fourth frame.
        let s = SimulatedV4L2Pattern.yuv(x: 10, y: 10, frame: 5)
        XCTAssertLessThanOrEqual(v4l2ChannelDistance(v4l2Pixel(frames[2], 10, 10), v4l2ReferenceRGB(y: s.y, u: s.u, v: s.v)), 1)
    }

    func testMaxFramesEndsTheStream() throws {
        let src = try v4l2SimulatedSource(SimulatedV4L2Device(), V4L2Options(maxFrames: 3))
        for _ in 0..<3 { XCTAssertNotNil(try src.nextFrame()) }
        XCTAssertNil(try src.nextFrame())
    }

    func testCaptureNanosAreTheDriverMonotonicStamps() throws {
        let sim = SimulatedV4L2Device()
        sim.startMicros = 5_000_000
        let src = try v4l2SimulatedSource(sim, V4L2Options(fps: 30))
        let a = try XCTUnwrap(src.nextFrame()), b = try XCTUnwrap(src.nextFrame())
        XCTAssertEqual(a.captureNanos, 5_000_000_000)
        XCTAssertEqual(b.captureNanos, 5_033_333_000)
    }
}
