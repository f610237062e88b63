import Foundation
import XCTest
@testable import VSegMedia
import VSegCore

/// Copies every frame of `input` into `output`, as `vseg run --model none` does.
@discardableResult
func transcode(_ input: String, _ output: String, source options: SourceOptions = SourceOptions(),
               sink sinkOptions: SinkOptions = SinkOptions()) throws -> (FrameSource, FrameSink) {
    let src = try openSource(uri: input, options: options)
    let sink = try openSink(path: output, source: src.info, options: sinkOptions, audioFrom: src)
    do {
        while let f = try src.nextFrame() {
            try sink.write(f)
            f.buffer.recycle()
        }
    } catch {
        try sink.finish()
        src.close()
        throw error
    }
    try sink.finish()
    src.close()
    return (src, sink)
}

final class SinkTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.sample("bikes.mp4")), "run scripts/setup for samples")
        try XCTSkipUnless(Fixtures.hasFFmpegCLI, "needs the ffmpeg CLI")
        dir = Fixtures.tempDir("sink")
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testMP4KeepsEveryFrameAndTheSourceTimestamps() throws {
        let out = dir + "/b.mp4"
        let (_, sink) = try transcode(Fixtures.sample("bikes.mp4"), out, source: { var o = SourceOptions(); o.pixelFormat = .yuv420p; return o }())
        XCTAssertEqual(sink.framesWritten, 250)
        XCTAssertEqual(try Fixtures.ffprobeValue(out, "stream=codec_name"), "h264")
        XCTAssertEqual(try Fixtures.ffprobeValue(out, "stream=nb_frames"), "250")
        XCTAssertEqual(Double(try Fixtures.ffprobeValue(out, "format=duration")) ?? 0, 10.0, accuracy: 0.05)
        let a = try Fixtures.ffprobeFrameTimes(Fixtures.sample("bikes.mp4"))
        let b = try Fixtures.ffprobeFrameTimes(out)
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-3) }
    }

    func testRGBFramesEncodeToMKVWithVariableFrameRate() throws {
        // A VFR input: frames at irregular times must come out at the same times.
        let src = try TestPatternSource(uri: "pattern:96x64@25", options: { var o = SourceOptions(); o.maxFrames = 6; return o }())
        let times: [Int64] = [0, 1, 3, 4, 9, 10]  // in 1/25 s
        let out = dir + "/vfr.mkv"
        let sink = try openSink(path: out, source: src.info)
        var i = 0
        while var f = try src.nextFrame() {
            f.timestamp = Timestamp(value: times[i], timeBase: Rational(1, 25))
            try sink.write(f)
            i += 1
        }
        try sink.finish()
        XCTAssertEqual(sink.framesWritten, 6)
        let got = try Fixtures.ffprobeFrameTimes(out)
        XCTAssertEqual(got.count, 6)
        for (t, g) in zip(times, got) { XCTAssertEqual(Double(t) / 25, g, accuracy: 0.002) }
    }

    func testAudioIsCopiedUntouched() throws {
        let input = Fixtures.sample("bigbuckbunny.mp4")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: input))
        let out = dir + "/bbb.mp4"
        let (_, sink) = try transcode(input, out, source: { var o = SourceOptions(); o.pixelFormat = .yuv420p; return o }(),
                                      sink: { var o = SinkOptions(); o.preset = "ultrafast"; return o }())
        XCTAssertEqual((sink as? EncodedVideoSink)?.copiesAudio, true)
        XCTAssertEqual(try Fixtures.ffprobeValue(out, "stream=codec_name", stream: "a:0"), "aac")
        // Same audio packets, byte for byte.
        func audioHash(_ path: String) throws -> String {
            let (_, d) = try Fixtures.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:a", "-c", "copy", "-f", "md5", "-"])
            return String(decoding: d, as: UTF8.self)
        }
        let srcPackets = try Fixtures.ffprobeValue(input, "stream=nb_frames", stream: "a:0")
        let outPackets = try Fixtures.ffprobeValue(out, "stream=nb_frames", stream: "a:0")
        XCTAssertEqual(outPackets, srcPackets)
        XCTAssertEqual(try audioHash(input), try audioHash(out))
    }

    func testY4MIsPixelIdenticalToTheFFmpegDecode() throws {
        let out = dir + "/b.y4m"
        var o = SourceOptions(); o.pixelFormat = .yuv420p
        let (_, sink) = try transcode(Fixtures.sample("carphone_pristine.mp4"), out, source: o)
        XCTAssertEqual(sink.framesWritten, 120)
        let ref = dir + "/ref.yuv", mine = dir + "/mine.yuv"
        try Fixtures.run(["ffmpeg", "-v", "error", "-i", Fixtures.sample("carphone_pristine.mp4"), "-f", "rawvideo", "-pix_fmt", "yuv420p", ref])
        try Fixtures.run(["ffmpeg", "-v", "error", "-i", out, "-f", "rawvideo", "-pix_fmt", "yuv420p", mine])
        let a = try Data(contentsOf: URL(fileURLWithPath: ref)), b = try Data(contentsOf: URL(fileURLWithPath: mine))
        XCTAssertEqual(a.count, 176 * 144 * 3 / 2 * 120)
        XCTAssertTrue(a == b, "Y4M frames differ from ffmpeg's decode")
    }

    func testRawRGBAndSidecar() throws {
        let out = dir + "/c.rgb"
        var o = SourceOptions(); o.maxFrames = 10
        let (_, sink) = try transcode(Fixtures.sample("carphone_pristine.mp4"), out, source: o)
        XCTAssertEqual(sink.framesWritten, 10)
        let size = (try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        XCTAssertEqual(size, 176 * 144 * 3 * 10)
        let side = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + ".json"))) as? [String: Any]
        XCTAssertEqual(side?["width"] as? Int, 176)
        XCTAssertEqual(side?["height"] as? Int, 144)
        XCTAssertEqual(side?["frames"] as? Int, 10)
        XCTAssertEqual(side?["format"] as? String, "rgb24")
        XCTAssertEqual((side?["pts"] as? [Int])?.count, 10)
        // Within rounding of what ffmpeg itself converts to RGB.
        let ref = dir + "/ref.rgb"
        try Fixtures.run(["ffmpeg", "-v", "error", "-i", Fixtures.sample("carphone_pristine.mp4"), "-frames:v", "10",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", ref])
        let a = try Data(contentsOf: URL(fileURLWithPath: ref)), b = try Data(contentsOf: URL(fileURLWithPath: out))
        XCTAssertEqual(a.count, b.count)
        let maxDiff = zip(a, b).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }
        XCTAssertLessThanOrEqual(maxDiff, 2)
    }

    func testPNGSequenceMatchesFFmpegWithinRounding() throws {
        let out = dir + "/png/"
        var o = SourceOptions(); o.maxFrames = 5
        let (_, sink) = try transcode(Fixtures.sample("bikes.mp4"), out, source: o)
        XCTAssertEqual(sink.framesWritten, 5)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/png").sorted()
        XCTAssertEqual(names, ["000001.png", "000002.png", "000003.png", "000004.png", "000005.png"])
        let mine = dir + "/mine.rgb", ref = dir + "/ref.rgb"
        try Fixtures.run(["ffmpeg", "-v", "error", "-i", dir + "/png/%06d.png", "-f", "rawvideo", "-pix_fmt", "rgb24", mine])
        try Fixtures.run(["ffmpeg", "-v", "error", "-i", Fixtures.sample("bikes.mp4"), "-frames:v", "5", "-f", "rawvideo", "-pix_fmt", "rgb24", ref])
        let a = try Data(contentsOf: URL(fileURLWithPath: ref)), b = try Data(contentsOf: URL(fileURLWithPath: mine))
        XCTAssertEqual(a.count, 640 * 272 * 3 * 5)
        XCTAssertEqual(a.count, b.count)
        let maxDiff = zip(a, b).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }
        XCTAssertLessThanOrEqual(maxDiff, 2)
        // And the directory reads back as a source.
        let back = try openSource(uri: dir + "/png")
        XCTAssertEqual(try Fixtures.drain(back).count, 5)
    }

    func testSinkKindByExtension() {
        XCTAssertEqual(sinkKind(for: "a.mp4"), .encoded)
        XCTAssertEqual(sinkKind(for: "a.MKV"), .encoded)
        XCTAssertEqual(sinkKind(for: "udp://127.0.0.1:5000"), .encoded)
        XCTAssertEqual(sinkKind(for: "a.y4m"), .y4m)
        XCTAssertEqual(sinkKind(for: "-"), .y4m)
        XCTAssertEqual(sinkKind(for: "a.rgb"), .rawRGB)
        XCTAssertEqual(sinkKind(for: "frames/%04d.png"), .png)
        XCTAssertEqual(sinkKind(for: "frames/"), .png)
        XCTAssertNil(sinkKind(for: "a.xyz"))
        XCTAssertNil(sinkKind(for: "http://example.com/a.mp4"))
        XCTAssertEqual(PNGSequenceSink.formatNumber("d/%04d.png", 7), "d/0007.png")
        XCTAssertEqual(PNGSequenceSink.formatNumber("d/%d.png", 12), "d/12.png")
        XCTAssertNil(PNGSequenceSink.formatNumber("d/%d_%d.png", 1))
    }
}

final class ContainerTests: XCTestCase {
    func testEveryContainerRoundTrips() throws {
        let input = Fixtures.sample("carphone_pristine.mp4")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: input), "run scripts/setup for samples")
        try XCTSkipUnless(Fixtures.hasFFmpegCLI)
        let dir = Fixtures.tempDir("containers")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reference = try Fixtures.ffprobeFrameTimes(input)
        for ext in ["mkv", "mov", "ts", "avi"] {
            // Reading: the ffmpeg CLI remuxes the sample into each container.
            let remuxed = dir + "/in.\(ext)"
            try Fixtures.run(["ffmpeg", "-v", "error", "-i", input, "-c", "copy", remuxed])
            let frames = try Fixtures.drain(try openSource(uri: remuxed))
            XCTAssertEqual(frames.count, 120, ext)
            // Writing: our encoder into the same container.
            let out = dir + "/out.\(ext)"
            var o = SourceOptions(); o.pixelFormat = .yuv420p
            let (_, sink) = try transcode(input, out, source: o)
            XCTAssertEqual(sink.framesWritten, 120, ext)
            let (_, counted) = try Fixtures.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                                                 "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out])
            let firstCount = String(decoding: counted, as: UTF8.self).split(separator: "\n").first { !$0.isEmpty }
            XCTAssertEqual(firstCount.map(String.init), "120", ext)
            let times = try Fixtures.ffprobeFrameTimes(out)
            // Same spacing as the source (containers may offset the start, e.g. TS by 1.4 s).
            if let t0 = times.first, ext != "avi" {
                for (a, b) in zip(reference, times) { XCTAssertEqual(a, b - t0, accuracy: 0.002, ext) }
            }
        }
    }

    func testMPEG4EncoderWhenAskedFor() throws {
        try XCTSkipUnless(Fixtures.hasFFmpegCLI)
        let dir = Fixtures.tempDir("mpeg4")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = SourceOptions(); o.maxFrames = 20
        var k = SinkOptions(); k.codec = "mpeg4"
        let (_, sink) = try transcode("pattern:320x240@25", dir + "/p.mp4", source: o, sink: k)
        XCTAssertEqual((sink as? EncodedVideoSink)?.encoderName, "mpeg4")
        XCTAssertEqual(try Fixtures.ffprobeValue(dir + "/p.mp4", "stream=codec_name"), "mpeg4")
        XCTAssertEqual(try Fixtures.ffprobeValue(dir + "/p.mp4", "stream=nb_frames"), "20")
    }

    func testFallsBackToMPEG4WithoutLibx264() throws {
        try XCTSkipUnless(Fixtures.hasFFmpegCLI)
        EncodedVideoSink.hiddenEncoders = ["libx264"]
        defer { EncodedVideoSink.hiddenEncoders = [] }
        final class Log: @unchecked Sendable { var lines: [String] = [] }
        let log = Log()
        let saved = MediaLog.handler
        MediaLog.handler = { log.lines.append($0) }
        defer { MediaLog.handler = saved }
        let dir = Fixtures.tempDir("fallback")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = SourceOptions(); o.maxFrames = 10
        let (_, sink) = try transcode("pattern:160x120@25", dir + "/p.mkv", source: o)
        XCTAssertEqual((sink as? EncodedVideoSink)?.encoderName, "mpeg4")
        XCTAssertEqual(try Fixtures.ffprobeValue(dir + "/p.mkv", "stream=codec_name"), "mpeg4")
        XCTAssertTrue(log.lines.contains { $0.contains("libx264 unavailable") }, "\(log.lines)")
    }

    func testOddSizedFramesAreScaledToEvenForH264() throws {
        try XCTSkipUnless(Fixtures.hasFFmpegCLI)
        let dir = Fixtures.tempDir("odd")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = SourceOptions(); o.maxFrames = 5
        let (_, sink) = try transcode("pattern:33x35@25", dir + "/odd.mp4", source: o)
        XCTAssertEqual(sink.framesWritten, 5)
        XCTAssertEqual(try Fixtures.ffprobeValue(dir + "/odd.mp4", "stream=width,height"), "32\n34")
    }

    func testGrayFramesStayGrayInY4MAndPNG() throws {
        try XCTSkipUnless(Fixtures.hasFFmpegCLI)
        let dir = Fixtures.tempDir("gray")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = SourceOptions(); o.maxFrames = 3; o.pixelFormat = .gray8
        try transcode("pattern:64x48@25", dir + "/g.y4m", source: o)
        try transcode("pattern:64x48@25", dir + "/g_%02d.png", source: o)
        XCTAssertEqual(try Fixtures.ffprobeValue(dir + "/g.y4m", "stream=pix_fmt"), "gray")
        XCTAssertEqual(try Fixtures.ffprobeValue(dir + "/g_01.png", "stream=pix_fmt"), "gray")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/g_03.png"))
    }

    func testFragmentedMP4IsPlayableBeforeFinish() throws {
        try XCTSkipUnless(Fixtures.hasFFmpegCLI)
        let dir = Fixtures.tempDir("frag")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = SourceOptions(); o.maxFrames = 60
        var k = SinkOptions(); k.fragmented = true; k.gop = 10; k.preset = "ultrafast"
        let src = try openSource(uri: "pattern:160x120@30", options: o)
        let out = dir + "/f.mp4"
        let sink = try openSink(path: out, source: src.info, options: k)
        while let f = try src.nextFrame() { try sink.write(f) }
        // Before finish (as after a kill -9): the fragments written so far already play.
        let (_, early) = try Fixtures.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                                           "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out])
        let earlyCount = Int(String(decoding: early, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThanOrEqual(earlyCount, 30)
        try sink.finish()
        let (_, done) = try Fixtures.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                                          "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out])
        XCTAssertEqual(String(decoding: done, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), "60")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        XCTAssertNotNil(bytes.range(of: Data("moof".utf8)), "fragmented layout")
    }

    func testUnknownEncoderIsAUserError() throws {
        let info = SourceInfo(uri: "x", width: 64, height: 48, pixelFormat: .rgb24, frameRate: Rational(25, 1),
                              timeBase: Rational(1, 25), frameCount: nil, duration: nil, isLive: false, codec: "pattern")
        let dir = Fixtures.tempDir("enc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var k = SinkOptions(); k.codec = "no-such-codec"
        XCTAssertThrowsMediaError(try openSink(path: dir + "/x.mp4", source: info, options: k)) {
            if case .encoderUnavailable = $0 { return $0.exitCode == .output } else { return false }
        }
    }
}
