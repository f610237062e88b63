import Foundation
import XCTest
@testable import VSegMedia
import VSegCore

final class FFmpegSourceTests: XCTestCase {
    func testReadsEveryFrameOfBikesWithSourceTimestamps() throws {
        let path = Fixtures.sample("bikes.mp4")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: path), "run scripts/setup for samples")
        let src = try openSource(uri: path)
        defer { src.close() }
        XCTAssertEqual(src.info.width, 640)
        XCTAssertEqual(src.info.height, 272)
        XCTAssertEqual(src.info.frameCount, 250)
        XCTAssertEqual(src.info.codec, "h264")
        XCTAssertFalse(src.info.isLive)
        XCTAssertEqual(src.info.frameRate, Rational(25, 1))
        let frames = try Fixtures.drain(src)
        XCTAssertEqual(frames.count, 250)
        XCTAssertEqual(frames.map(\.index), Array(0..<250))
        XCTAssertEqual(frames.first?.format, .rgb24)
        let probed = try Fixtures.ffprobeFrameTimes(path)
        XCTAssertEqual(probed.count, 250)
        for (f, t) in zip(frames, probed) { XCTAssertEqual(f.pts, t, accuracy: 1e-6) }
    }
}

final class HTTPSourceTests: XCTestCase {
    func testReadsAFileOverHTTP() throws {
        let input = Fixtures.sample("carphone_pristine.mp4")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: input), "run scripts/setup for samples")
        try XCTSkipUnless(Fixtures.hasFFmpegCLI)
        // python's http.server ignores Range requests, so serve an MP4 that needs no seeking (index first).
        let samples = Fixtures.tempDir("http")
        defer { try? FileManager.default.removeItem(atPath: samples) }
        try Fixtures.run(["ffmpeg", "-v", "error", "-i", input, "-c", "copy", "-movflags", "+faststart", samples + "/carphone_pristine.mp4"])
        let port = Int.random(in: 30000...39000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", samples]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        var o = SourceOptions(); o.openTimeout = 5
        var src: FrameSource?
        // The server needs a moment to listen.
        for _ in 0..<40 where src == nil {
            src = try? openSource(uri: "http://127.0.0.1:\(port)/carphone_pristine.mp4", options: o)
            if src == nil { usleep(100_000) }
        }
        let s = try XCTUnwrap(src, "HTTP source did not open")
        XCTAssertFalse(s.info.isLive, "a file with a duration is not live")
        XCTAssertEqual(try Fixtures.drain(s).count, 120)
    }
}
