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
