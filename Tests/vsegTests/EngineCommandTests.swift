import Foundation
import VSegCore
import XCTest

/// `vseg inspect`, `infer` and `bench` through the built binary.
final class EngineCommandTests: XCTestCase {
    func testEngineCommandHelpTexts() throws {
        let expected: [String: [String]] = [
            "inspect": ["<model>"],
            "infer": ["--model", "--input", "--output-dir", "--threads", "image"],
            "bench": ["--model", "--threads", "--runs", "--warmup", "--profile", "--json"],
        ]
        for (cmd, words) in expected {
            let r = try Harness.vseg([cmd, "--help"])
            XCTAssertEqual(r.status, 0, cmd)
            let help = String(decoding: r.stdout, as: UTF8.self)
            for w in words { XCTAssertTrue(help.contains(w), "vseg \(cmd) --help lacks '\(w)':\n\(help)") }
        }
    }

    /// An image goes through the model's own pre-processing; the tensor it wrote
    /// (input0.npy) fed back as .npy gives the same outputs.
    func testInferOnImageMatchesInferOnItsTensor() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let model = Harness.root.appendingPathComponent("models/selfie_segmentation.tflite").path
        let dir = try Harness.scratch("infer-image")
        let png = dir.appendingPathComponent("frame.png").path
        let x = try Harness.tool("ffmpeg", ["-v", "error", "-y", "-i", video, "-vf", "select=eq(n\\,60)", "-frames:v", "1", png])
        XCTAssertEqual(x.status, 0, x.stderr)
        let a = dir.appendingPathComponent("a").path, b = dir.appendingPathComponent("b").path
        var r = try Harness.vseg(["infer", "--model", model, "--input", png, "--output-dir", a])
        XCTAssertEqual(r.status, 0, r.stderr)
        let input = try NPY.read(path: a + "/input0.npy")
        XCTAssertEqual(input.shape, [1, 256, 256, 3])
        let xs = input.floats
        XCTAssertGreaterThanOrEqual(xs.min() ?? -1, 0)
        XCTAssertLessThanOrEqual(xs.max() ?? 2, 1, "selfie input is RGB in [0, 1]")
        XCTAssertGreaterThan((xs.max() ?? 0) - (xs.min() ?? 0), 0.5, "a real frame has contrast")
        let mask = try NPY.read(path: a + "/out0.npy")
        XCTAssertEqual(mask.shape, [1, 256, 256, 1])
        let fg = Double(mask.floats.filter { $0 > 0.5 }.count) / Double(mask.floats.count)
        XCTAssertGreaterThan(fg, 0.1, "the person covers a good part of carphone frame 60")
        XCTAssertLessThan(fg, 0.9)

        r = try Harness.vseg(["infer", "--model", model, "--input", a + "/input0.npy", "--output-dir", b])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try NPY.read(path: b + "/out0.npy").floats, mask.floats)
    }

    func testInferRejectsAnUndecodableImage() throws {
        let model = Harness.root.appendingPathComponent("models/selfie_segmentation.tflite").path
        let dir = try Harness.scratch("infer-bad")
        let junk = dir.appendingPathComponent("junk.png").path
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: junk))
        let r = try Harness.vseg(["infer", "--model", model, "--input", junk, "--output-dir", dir.path + "/o"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.exitedNormally, "no crash")
        XCTAssertEqual(r.errorLines.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("junk.png"), r.stderr)
    }
}
