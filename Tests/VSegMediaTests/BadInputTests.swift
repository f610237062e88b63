import Foundation
import XCTest
@testable import VSegMedia
import VSegCore

/// Each bad input gives a one-line MediaError naming the thing, with a
/// non-zero exit code, and whatever was written so far is finalized.
final class BadInputTests: XCTestCase {
    var dir = ""
    override func setUp() { dir = Fixtures.tempDir("bad") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func requireSample(_ name: String) throws -> String {
        let p = Fixtures.sample(name)
        try XCTSkipUnless(FileManager.default.fileExists(atPath: p), "run scripts/setup for samples")
        return p
    }

    func testMissingFile() {
        XCTAssertThrowsMediaError(try openSource(uri: dir + "/nope.mp4")) {
            guard case .notFound(let p) = $0 else { return false }
            return p.hasSuffix("nope.mp4") && $0.exitCode == .input && $0.description.contains("nope.mp4")
        }
    }

    func testZeroByteFile() {
        let p = dir + "/empty.mp4"
        FileManager.default.createFile(atPath: p, contents: Data())
        XCTAssertThrowsMediaError(try openSource(uri: p)) {
            if case .emptyFile = $0 { return $0.exitCode == .input } else { return false }
        }
    }

    func testTextFileNamedMP4() {
        let p = dir + "/notes.mp4"
        FileManager.default.createFile(atPath: p, contents: Data("these are my holiday notes\n".utf8))
        XCTAssertThrowsMediaError(try openSource(uri: p)) {
            if case .notMedia(let u, _) = $0 { return u == p && $0.exitCode == .input } else { return false }
        }
    }

    func testMP4TruncatedAtHalf() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: try requireSample("bikes.mp4")))
        let p = dir + "/half.mp4"
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: p))
        // bikes.mp4 keeps its index (moov) at the end, so half a file has none.
        XCTAssertThrowsMediaError(try openSource(uri: p)) {
            if case .notMedia = $0 { return $0.description.contains("half.mp4") } else { return false }
        }
    }

    func testFaststartMP4TruncatedMidStreamKeepsAFinalizedPartialOutput() throws {
        try XCTSkipUnless(Fixtures.hasFFmpegCLI)
        let full = dir + "/fast.mp4"
        try Fixtures.run(["ffmpeg", "-v", "error", "-i", try requireSample("bikes.mp4"), "-c", "copy", "-movflags", "+faststart", full])
        let data = try Data(contentsOf: URL(fileURLWithPath: full))
        let p = dir + "/fasthalf.mp4"
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: p))
        let out = dir + "/partial.mp4"
        var sinkRef: FrameSink?
        do {
            let src = try openSource(uri: p)
            let sink = try openSink(path: out, source: src.info)
            sinkRef = sink
            defer { try? sink.finish() }
            while let f = try src.nextFrame() { try sink.write(f) }
            XCTFail("a file cut in half must not end as if complete")
        } catch let e as MediaError {
            guard case .truncated(_, let n, _) = e else { return XCTFail("unexpected \(e)") }
            XCTAssertGreaterThan(n, 50)
            XCTAssertLessThan(n, 250)
            XCTAssertEqual(e.exitCode, .input)
        }
        try sinkRef?.finish()
        let written = sinkRef?.framesWritten ?? 0
        XCTAssertGreaterThan(written, 50)
        XCTAssertEqual(try Fixtures.ffprobeValue(out, "stream=nb_frames"), String(written))
    }

    func testUnknownOutputExtension() throws {
        let info = SourceInfo(uri: "x", width: 64, height: 48, pixelFormat: .rgb24, frameRate: Rational(25, 1),
                              timeBase: Rational(1, 25), frameCount: nil, duration: nil, isLive: false, codec: "pattern")
        XCTAssertThrowsMediaError(try openSink(path: dir + "/out.xyz", source: info)) {
            if case .unknownOutputExtension = $0 { return $0.exitCode == .output && $0.description.contains(".mp4") } else { return false }
        }
    }

    func testUnwritableOutputDirectory() throws {
        let info = SourceInfo(uri: "x", width: 64, height: 48, pixelFormat: .rgb24, frameRate: Rational(25, 1),
                              timeBase: Rational(1, 25), frameCount: nil, duration: nil, isLive: false, codec: "pattern")
        // Root can write anywhere chmod allows, so use places nobody can create files in.
        for path in [dir + "/missing/dir/out.mp4", "/proc/vseg-out.mp4", "/etc/hostname/out.y4m", dir + "/missing/out.rgb",
                     "/proc/vseg-frames/"] {
            XCTAssertThrowsMediaError(try openSink(path: path, source: info)) {
                if case .outputUnwritable(let p, _) = $0 { return p.hasPrefix(path) && $0.exitCode == .output } else { return false }
            }
        }
    }

    func testUDPSourceWithNoSenderTimesOut() {
        var o = SourceOptions()
        o.openTimeout = 1
        let t0 = Clock.nanos()
        XCTAssertThrowsMediaError(try openSource(uri: "udp://127.0.0.1:\(Int.random(in: 20000...40000))", options: o)) {
            if case .timedOut(_, let s) = $0 { return s == 1 && $0.exitCode == .input } else { return false }
        }
        let elapsed = Double(Clock.nanos() - t0) / 1e9
        XCTAssertLessThan(elapsed, 6, "open must give up near the timeout")
    }

    func testInvalidOptionsAreRejected() {
        var o = SourceOptions(); o.maxFrames = 0
        XCTAssertThrowsMediaError(try openSource(uri: "pattern:64x48", options: o)) {
            if case .invalidOption(let n, _, _) = $0 { return n == "frames" && $0.exitCode == .usage } else { return false }
        }
        var s = SinkOptions(); s.crf = 99
        XCTAssertThrowsError(try s.validate())
        XCTAssertThrowsMediaError(try openSource(uri: "pattern:0x48")) { if case .invalidOption = $0 { return true } else { return false } }
    }
}
