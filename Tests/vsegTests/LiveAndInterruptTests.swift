import Foundation
import XCTest

/// Live UDP recording with a sender restart, and SIGINT during a file run.
final class LiveAndInterruptTests: XCTestCase {
    private func startSender(port: Int, seconds: Int) throws -> Harness.Running {
        try Harness.Running("/usr/bin/env", ["ffmpeg", "-v", "error", "-nostdin", "-re", "-f", "lavfi",
                                             "-i", "testsrc2=size=320x240:rate=30", "-t", "\(seconds)",
                                             "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15",
                                             "-f", "mpegts", "udp://127.0.0.1:\(port)?pkt_size=1316"])
    }

    func testUDPLiveRecordingSurvivesSenderRestart() throws {
        let bin = try Harness.requireBinary()
        let port = Harness.freePort()
        let out = try Harness.scratch("udp").appendingPathComponent("live.mp4").path
        let vseg = try Harness.Running(bin, ["run", "--model", "none", "-i", "udp://127.0.0.1:\(port)", "-o", out, "--preset", "ultrafast",
                                             "--set", "source.openTimeout=15", "--set", "source.readTimeout=1",
                                             "--set", "source.reconnectAttempts=20"])
        usleep(300_000)
        let first = try startSender(port: port, seconds: 4)
        let r1 = first.wait(timeout: 30)
        XCTAssertEqual(r1.status, 0, "sender 1: \(r1.stderr)")
        sleep(2) // long enough for vseg to notice the silence and start reconnecting
        let second = try startSender(port: port, seconds: 4)
        let r2 = second.wait(timeout: 30)
        XCTAssertEqual(r2.status, 0, "sender 2: \(r2.stderr)")
        usleep(500_000)
        vseg.signal(SIGINT)
        let r = vseg.wait(timeout: 30)
        XCTAssertTrue(r.exitedNormally, r.stderr)
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertTrue(r.stderr.lowercased().contains("reconnect"), "a reconnect is logged:\n\(r.stderr)")
        let written = try XCTUnwrap(r.written, r.stderr)
        // Two 4 s bursts at 30 fps = 240 frames sent; allow for the stream start (first keyframe) and the gap.
        XCTAssertGreaterThan(written, 150, r.stderr)
        XCTAssertLessThanOrEqual(written, 245, r.stderr)
        let fps = try XCTUnwrap(r.summaryNumber(before: "fps"), r.stderr)
        XCTAssertEqual(fps, 30, accuracy: 6, "live rate: \(r.stderr)")
        let p99 = try XCTUnwrap(r.latency("p99"), r.stderr)
        XCTAssertLessThan(p99, 500, "latency stays bounded: \(r.stderr)")
        let probe = try Harness.probe(out)
        XCTAssertEqual(probe.frames, written, "the recording holds every frame vseg wrote")
        XCTAssertEqual(probe.codec, "h264")
    }

    func testSIGINTMidRunLeavesPlayableMP4WithEveryWrittenFrame() throws {
        let bin = try Harness.requireBinary()
        let out = try Harness.scratch("sigint").appendingPathComponent("cut.mp4").path
        // An endless-enough synthetic source at 720p with a slow preset, so the run is mid-way at 1.5 s.
        let vseg = try Harness.Running(bin, ["run", "--model", "none", "-i", "pattern:1280x720@30", "-o", out, "--preset", "medium",
                                             "--frames", "100000"])
        usleep(1_500_000)
        vseg.signal(SIGINT)
        let r = vseg.wait(timeout: 60)
        XCTAssertTrue(r.exitedNormally, r.stderr)
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertTrue(r.summary?.hasPrefix("interrupted: ") == true, r.stderr)
        let written = try XCTUnwrap(r.written, r.stderr)
        XCTAssertGreaterThan(written, 0)
        XCTAssertLessThan(written, 100000)
        XCTAssertEqual(r.summaryNumber(before: "frames in").map(Int.init), written, "a file-like source drains: in == written")
        XCTAssertEqual(try Harness.probe(out).frames, written)
    }

    func testSIGTERMAlsoFinalizes() throws {
        let bin = try Harness.requireBinary()
        let out = try Harness.scratch("sigterm").appendingPathComponent("cut.mkv").path
        let vseg = try Harness.Running(bin, ["run", "--model", "none", "-i", "pattern:640x480@30", "-o", out, "--frames", "100000", "--preset", "slow"])
        usleep(1_000_000)
        vseg.signal(SIGTERM)
        let r = vseg.wait(timeout: 60)
        XCTAssertEqual(r.status, 130, r.stderr)
        let written = try XCTUnwrap(r.written, r.stderr)
        XCTAssertEqual(try Harness.probe(out).frames, written)
    }
}
