import Foundation
import XCTest
@testable import VSegMedia
import VSegCore

final class SourceOptionTests: XCTestCase {
    var bikes = ""
    override func setUpWithError() throws {
        bikes = Fixtures.sample("bikes.mp4")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: bikes), "run scripts/setup for samples")
    }

    func testStartAndFramesSeekToTheRightFrame() throws {
        var o = SourceOptions(); o.start = 2.0; o.maxFrames = 10
        let src = try openSource(uri: bikes, options: o)
        XCTAssertEqual(src.info.frameCount, 10)
        let frames = try Fixtures.drain(src)
        XCTAssertEqual(frames.count, 10)
        XCTAssertEqual(frames.first?.pts ?? -1, 2.0, accuracy: 1e-6)
        XCTAssertEqual(frames.first?.index, 50)
        XCTAssertEqual(frames.last?.index, 59)
    }

    func testDurationBoundsMediaTime() throws {
        var o = SourceOptions(); o.duration = 1.0
        let src = try openSource(uri: bikes, options: o)
        XCTAssertEqual(src.info.frameCount, 25)
        let frames = try Fixtures.drain(src)
        XCTAssertEqual(frames.count, 25)
        XCTAssertEqual(frames.last?.pts ?? -1, 0.96, accuracy: 1e-6)
    }

    func testScalesToARequestedWidthKeepingAspect() throws {
        var o = SourceOptions(); o.width = 320; o.maxFrames = 2; o.pixelFormat = .bgr24
        let src = try openSource(uri: bikes, options: o)
        XCTAssertEqual(src.info.width, 320)
        XCTAssertEqual(src.info.height, 136)
        let f = try XCTUnwrap(try src.nextFrame())
        XCTAssertEqual(f.width, 320)
        XCTAssertEqual(f.format, .bgr24)
        XCTAssertEqual(f.buffer.byteCount, 320 * 136 * 3)
    }

    func testEveryPixelFormatDecodes() throws {
        for pf in PixelFormat.allCases {
            var o = SourceOptions(); o.pixelFormat = pf; o.maxFrames = 1
            let f = try XCTUnwrap(try openSource(uri: bikes, options: o).nextFrame(), "\(pf)")
            XCTAssertEqual(f.format, pf)
            // Not a blank frame: the picture made it through the conversion.
            let bytes = f.buffer.bytes
            XCTAssertGreaterThan(Set(bytes.prefix(4096)).count, 8, "\(pf)")
        }
    }

    func testImageSequenceGlobAndPattern() throws {
        try XCTSkipUnless(Fixtures.hasFFmpegCLI)
        let dir = Fixtures.tempDir("seq")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Fixtures.run(["ffmpeg", "-v", "error", "-i", bikes, "-frames:v", "7", dir + "/img_%03d.png"])
        var o = SourceOptions(); o.frameRate = 10
        let glob = try openSource(uri: dir + "/img_*.png", options: o)
        let a = try Fixtures.drain(glob)
        XCTAssertEqual(a.count, 7)
        XCTAssertEqual(a.last?.pts ?? 0, 0.6, accuracy: 1e-6)
        XCTAssertEqual(a.first?.width, 640)
        let pattern = try openSource(uri: dir + "/img_%03d.png")
        XCTAssertEqual(try Fixtures.drain(pattern).count, 7)
    }

    func testProbeDescribesContainerAndStreams() throws {
        let bbb = Fixtures.sample("bigbuckbunny.mp4")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: bbb))
        let p = try MediaProbe.probe(uri: bbb)
        XCTAssertTrue(p.container.contains("mp4"))
        XCTAssertEqual(p.streams.count, 2)
        let v = p.streams[0], a = p.streams[1]
        XCTAssertEqual(v.kind, "video"); XCTAssertEqual(v.codec, "h264")
        XCTAssertEqual(v.width, 1280); XCTAssertEqual(v.height, 720)
        XCTAssertEqual(v.frameCount, 132)
        XCTAssertEqual(v.frameRate, Rational(25, 1))
        XCTAssertEqual(a.kind, "audio"); XCTAssertEqual(a.codec, "aac")
        XCTAssertEqual(a.sampleRate, 48000)
        let text = p.render()
        XCTAssertTrue(text.contains("1280x720"))
        XCTAssertTrue(text.contains("132 frames"))
        // A container without a stored count (MKV) gets counted.
        try XCTSkipUnless(Fixtures.hasFFmpegCLI)
        let dir = Fixtures.tempDir("probe")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Fixtures.run(["ffmpeg", "-v", "error", "-i", bikes, "-c", "copy", dir + "/b.mkv"])
        XCTAssertEqual(try MediaProbe.probe(uri: dir + "/b.mkv").streams.first?.frameCount, 250)
    }

    func testAFileForcedLiveEndsAtItsEnd() throws {
        var o = SourceOptions(); o.live = true
        let src = try openSource(uri: Fixtures.sample("carphone_pristine.mp4"), options: o)
        XCTAssertTrue(src.info.isLive)
        let frames = try Fixtures.drain(src)
        XCTAssertEqual(frames.count, 120, "no reconnect loop on a local file")
        XCTAssertEqual(frames.first?.timestamp.value, 0, "live timestamps start at 0")
    }

    func testTestPatternIsDeterministicAndBounded() throws {
        var o = SourceOptions(); o.maxFrames = 3
        let src = try openSource(uri: "pattern:64x48@30", options: o)
        XCTAssertEqual(src.info.frameRate, Rational(30, 1))
        XCTAssertEqual(src.info.frameCount, 3)
        XCTAssertFalse(src.info.isLive)
        let frames = try Fixtures.drain(src)
        XCTAssertEqual(frames.count, 3)
        let f = frames[2]
        XCTAssertEqual(f.pts, 2.0 / 30, accuracy: 1e-9)
        for (x, y) in [(0, 0), (5, 7), (63, 47), (10, 24)] {
            let (r, g, b) = TestPatternSource.rgb(x: x, y: y, frame: 2, width: 64, height: 48)
            let o = (y * 64 + x) * 3
            XCTAssertEqual([f.buffer.bytes[o], f.buffer.bytes[o + 1], f.buffer.bytes[o + 2]], [r, g, b])
        }
        // Frame 2's pixel (0,0): R = 8, G = 4 (outside the moving square).
        XCTAssertEqual(f.buffer.bytes[0], 8)
        XCTAssertEqual(f.buffer.bytes[1], 4)
    }

    func testRealtimePatternPacesItself() throws {
        var o = SourceOptions(); o.maxFrames = 10
        let src = try openSource(uri: "pattern:32x32@50?realtime", options: o)
        XCTAssertTrue(src.info.isLive)
        let t0 = Clock.nanos()
        XCTAssertEqual(try Fixtures.drain(src).count, 10)
        let s = Double(Clock.nanos() - t0) / 1e9
        XCTAssertGreaterThan(s, 0.17)  // 9 frame intervals of 20 ms
        XCTAssertLessThan(s, 1.0)
    }

    func testInterruptStopsAFileSourceAndTheOutputStaysPlayable() throws {
        try XCTSkipUnless(Fixtures.hasFFmpegCLI)
        let dir = Fixtures.tempDir("int")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = try openSource(uri: bikes)
        let out = dir + "/cut.mp4"
        let sink = try openSink(path: out, source: src.info)
        var n = 0
        while let f = try src.nextFrame() {
            try sink.write(f)
            n += 1
            if n == 100 { src.interrupt() }  // what the SIGINT handler does
        }
        try sink.finish()
        src.close()
        XCTAssertEqual(n, 100)
        XCTAssertEqual(sink.framesWritten, 100)
        XCTAssertEqual(try Fixtures.ffprobeValue(out, "stream=nb_frames"), "100")
        XCTAssertEqual(try Fixtures.ffprobeFrameTimes(out).count, 100, "every written frame decodes")
    }
}

final class PixelConverterTests: XCTestCase {
    func testRoundTripThroughYUVStaysCloseAndScalingKeepsContent() throws {
        var o = SourceOptions(); o.maxFrames = 1
        let rgb = try XCTUnwrap(try openSource(uri: "pattern:64x48", options: o).nextFrame()).buffer
        let conv = PixelConverter()
        let yuv = PixelBuffer(width: 64, height: 48, format: .yuv420p)
        let back = PixelBuffer(width: 64, height: 48, format: .rgb24)
        try conv.convert(rgb, into: yuv)
        try conv.convert(yuv, into: back)
        // Luma of a flat-ish region survives within 4:2:0 + rounding error.
        var total = 0
        for i in 0..<rgb.byteCount { total += abs(Int(rgb.bytes[i]) - Int(back.bytes[i])) }
        XCTAssertLessThan(Double(total) / Double(rgb.byteCount), 12)
        let copy = PixelBuffer(width: 64, height: 48, format: .rgb24)
        try conv.convert(rgb, into: copy)
        XCTAssertTrue(zip(rgb.bytes, copy.bytes).allSatisfy { $0 == $1 }, "same geometry is an exact copy")
        let half = PixelBuffer(width: 32, height: 24, format: .gray8)
        try conv.convert(rgb, into: half)
        XCTAssertGreaterThan(Set(half.bytes).count, 8)
    }
}
