import Foundation
import XCTest

/// Issue 2's "done when" checks for files: MP4, Y4M and PNG outputs of bikes.mp4.
final class TranscodeTests: XCTestCase {
    func testBikesToMP4KeepsFramesDurationCodecAndTimestamps() throws {
        let input = try Harness.requireSample("bikes.mp4")
        let out = try Harness.scratch("mp4").appendingPathComponent("b.mp4").path
        let r = try Harness.vseg(["run", "--input", input, "--model", "none", "--output", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.summary?.hasPrefix("done: 250 frames in, 250 written, 0 dropped") == true, r.stderr)
        let got = try Harness.probe(out)
        let src = try Harness.probe(input)
        XCTAssertEqual(got.codec, "h264")
        XCTAssertEqual(got.frames, 250)
        XCTAssertEqual(got.duration, 10.0, accuracy: 0.05)
        XCTAssertEqual(got.width, 640)
        XCTAssertEqual(got.height, 272)
        XCTAssertEqual(got.pts.count, 250)
        XCTAssertEqual(src.pts.count, 250)
        // Output starts at 0; the source may start later. Compare relative timestamps.
        let s0 = src.pts.first ?? 0, g0 = got.pts.first ?? 0
        for (a, b) in zip(src.pts, got.pts) {
            XCTAssertEqual(b - g0, a - s0, accuracy: 0.001, "frame pts differ")
        }
    }

    /// Issue 3's main command: without --model, `vseg run` segments with the default model,
    /// so the output differs from a plain transcode where the person is (and only a little elsewhere).
    func testDefaultRunSegmentsWithSelfieModel() throws {
        let input = try Harness.requireSample("carphone_pristine.mp4")
        let dir = try Harness.scratch("default-model")
        let seg = dir.appendingPathComponent("seg.y4m").path, plain = dir.appendingPathComponent("plain.y4m").path
        let r1 = try Harness.vseg(["run", "--input", input, "--output", seg, "--frames", "20", "--quiet"])
        XCTAssertEqual(r1.status, 0, r1.stderr)
        let r2 = try Harness.vseg(["run", "--model", "none", "--input", input, "--output", plain, "--frames", "20", "--quiet"])
        XCTAssertEqual(r2.status, 0, r2.stderr)
        let a = try Harness.decode(seg, pixFmt: "rgb24"), b = try Harness.decode(plain, pixFmt: "rgb24")
        XCTAssertEqual(a.count, 20 * 176 * 144 * 3)
        XCTAssertEqual(a.count, b.count)
        // The tint must cover a real share of the frame (the person), not a few pixels, and not everything.
        let d = Diff(a, b)
        XCTAssertGreaterThan(d.fractionOver(12), 0.05, "default run left the frames almost untouched")
        XCTAssertLessThan(d.fractionOver(12), 0.9, "default run changed nearly every pixel")
    }

    func testY4MMatchesFFmpegDecodeWithinRounding() throws {
        let input = try Harness.requireSample("bikes.mp4")
        let out = try Harness.scratch("y4m").appendingPathComponent("b.y4m").path
        let r = try Harness.vseg(["run", "--model", "none", "--input", input, "--output", out, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "", "--quiet prints nothing on success")
        // Compare in the source's own YUV 4:2:0 so only the RGB round trip differs.
        let ours = try Harness.decode(out, pixFmt: "yuv420p")
        let ref = try Harness.decode(input, pixFmt: "yuv420p")
        let frameBytes = 640 * 272 * 3 / 2
        XCTAssertEqual(ours.count, 250 * frameBytes)
        XCTAssertEqual(ref.count, ours.count)
        let d = Diff(ours, ref)
        XCTAssertLessThanOrEqual(d.mean, 1.0, "mean |diff| \(d.mean)")
        XCTAssertLessThanOrEqual(d.fractionOver(3), 0.01, "more than 1% of samples differ by > 3 (max \(d.max))")
    }

    func testPNGDirectoryMatchesFFmpegDecodeWithinRounding() throws {
        let input = try Harness.requireSample("bikes.mp4")
        let dir = try Harness.scratch("png").appendingPathComponent("frames/").path + "/"
        let r = try Harness.vseg(["run", "--model", "none", "--input", input, "--output", dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".png") }.sorted()
        XCTAssertEqual(files.count, 250)
        XCTAssertEqual(files.first, "000001.png")
        let ours = try Harness.decode(dir + "%06d.png", pixFmt: "rgb24", extraInput: ["-f", "image2"])
        let ref = try Harness.decode(input, pixFmt: "rgb24")
        XCTAssertEqual(ours.count, 250 * 640 * 272 * 3)
        XCTAssertEqual(ref.count, ours.count)
        let d = Diff(ours, ref)
        XCTAssertLessThanOrEqual(d.mean, 1.5, "mean |diff| \(d.mean)")
        XCTAssertLessThanOrEqual(d.fractionOver(6), 0.01, "more than 1% of samples differ by > 6 (max \(d.max))")
    }

    func testFramesStartAndDurationTrim() throws {
        let input = try Harness.requireSample("bikes.mp4")
        let dir = try Harness.scratch("trim")
        let a = dir.appendingPathComponent("a.mp4").path
        var r = try Harness.vseg(["run", "--model", "none", "-i", input, "-o", a, "--frames", "40"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Harness.probe(a).frames, 40)
        let b = dir.appendingPathComponent("b.mkv").path
        r = try Harness.vseg(["run", "--model", "none", "-i", input, "-o", b, "--start", "4", "--duration", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Harness.probe(b).frames, 50, "2 s at 25 fps")
    }

    func testPipelineYAMLWithOverrides() throws {
        _ = try Harness.requireSample("bikes.mp4")
        let out = try Harness.scratch("yaml").appendingPathComponent("t.mp4").path
        let r = try Harness.vseg(["run", "pipelines/transcode.yaml", "--set", "sinks.0.uri=\(out)", "--set", "source.maxFrames=10"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Harness.probe(out).frames, 10)
    }

    func testTwoOutputsGetEveryFrame() throws {
        let input = try Harness.requireSample("carphone_pristine.mp4")
        let dir = try Harness.scratch("two")
        let a = dir.appendingPathComponent("a.mp4").path, b = dir.appendingPathComponent("b.y4m").path
        let r = try Harness.vseg(["run", "--model", "none", "-i", input, "-o", a, "-o", b, "--stats"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.summary?.contains("120/120 written") == true, r.stderr)
        XCTAssertTrue(r.stderr.contains("sink:\(a)"), "--stats prints per-sink lines")
        XCTAssertEqual(try Harness.probe(a).frames, 120)
        XCTAssertEqual(try Harness.probe(b).frames, 120)
    }

    func testProbeReportsTheSample() throws {
        let input = try Harness.requireSample("bikes.mp4")
        let r = try Harness.vseg(["probe", input])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = String(decoding: r.stdout, as: UTF8.self)
        for s in ["h264", "640x272", "250 frames", "25"] { XCTAssertTrue(text.contains(s), "probe lacks \(s):\n\(text)") }
    }
}

/// Per-byte absolute differences between two equally long byte strings.
struct Diff {
    let histogram: [Int]
    let count: Int
    init(_ a: Data, _ b: Data) {
        var h = [Int](repeating: 0, count: 256)
        a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in
                let n = min(pa.count, pb.count)
                let x = pa.bindMemory(to: UInt8.self), y = pb.bindMemory(to: UInt8.self)
                for i in 0..<n { h[Int(x[i] > y[i] ? x[i] - y[i] : y[i] - x[i])] += 1 }
            }
        }
        histogram = h
        count = min(a.count, b.count)
    }
    var mean: Double { count == 0 ? 0 : Double(histogram.enumerated().reduce(0) { $0 + $1.offset * $1.element }) / Double(count) }
    var max: Int { histogram.lastIndex { $0 > 0 } ?? 0 }
    func fractionOver(_ t: Int) -> Double { count == 0 ? 0 : Double(histogram[(t + 1)...].reduce(0, +)) / Double(count) }
}
