import Foundation
import XCTest

/// `vseg calibrate` end to end: the built binary on the sample video with the selfie model.
final class CalibrateCommandTests: XCTestCase {
    func calibrate(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Harness.Result {
        let r = try Harness.vseg(["calibrate"] + args, timeout: 300)
        XCTAssertTrue(r.exitedNormally, r.stderr, file: file, line: line)
        XCTAssertEqual(r.status, 0, "vseg calibrate \(args) failed: \(r.stderr)", file: file, line: line)
        return r
    }

    func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func testSelfieTableOnSampleIsDeterministic() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let model = Harness.root.appendingPathComponent("models/selfie_segmentation.tflite").path
        try XCTSkipUnless(FileManager.default.fileExists(atPath: model), "\(model) missing; run scripts/setup")
        let dir = try Harness.scratch("calibrate")
        let a = dir.appendingPathComponent("a.qtable").path, b = dir.appendingPathComponent("b.qtable").path
        let r = try calibrate(["--model", "selfie", "--input", video, "--every", "4", "--frames", "3", "--threads", "1", "--out", a])
        let summary = String(decoding: r.stdout, as: UTF8.self)
        XCTAssertTrue(summary.contains("wrote \(a):"), summary)
        XCTAssertTrue(summary.contains("3 frames"), summary)
        XCTAssertTrue(summary.contains("method percentile p=99.99"), summary)

        let t = try lines(a)
        XCTAssertTrue(t.contains("format vseg-qtable 3"), "bias correction and equalization are on by default")
        XCTAssertTrue(summary.contains("bias correction: "), summary)
        XCTAssertTrue(summary.contains("equalization: "), summary)
        XCTAssertGreaterThan(t.filter { $0.hasPrefix("bias ") }.count, 20, "a bias line per INT8 conv")
        let equalized = t.filter { $0.hasPrefix("equalize ") }
        XCTAssertGreaterThan(equalized.count, 5, "the ReLU convs read by convs get factors")
        for l in equalized {
            let f = l.split(separator: " ").dropFirst(2).map { Float($0)! }
            XCTAssertTrue(f.allSatisfy { $0 >= 1 && $0 <= 64 }, l)
            XCTAssertTrue(f.contains { $0 > 1 }, l)
        }
        XCTAssertTrue(t.contains("model selfie_segmentation.tflite"))
        XCTAssertTrue(t.contains("input \(video)"))
        XCTAssertTrue(t.contains("every 4"))
        XCTAssertTrue(t.contains("frames 3"))
        let sha = try XCTUnwrap(t.first { $0.hasPrefix("sha256 ") })
        let expected = try Harness.tool("sha256sum", [model])
        XCTAssertEqual(String(sha.dropFirst(7)), String(decoding: expected.stdout, as: UTF8.self).split(separator: " ").first.map(String.init))
        let tensors = t.filter { $0.hasPrefix("tensor ") }
        XCTAssertGreaterThan(tensors.count, 50, "one line per activation of the selfie model")
        // The input is RGB normalized to [0, 1]: its range must sit inside that.
        let input = try XCTUnwrap(tensors.first).split(separator: " ")
        XCTAssertEqual(input.count, 6)
        XCTAssertGreaterThanOrEqual(Float(input[2])!, 0)
        XCTAssertLessThanOrEqual(Float(input[3])!, 1)
        XCTAssertGreaterThan(Float(input[3])!, 0.5)

        _ = try calibrate(["--model", "selfie", "--input", video, "--every", "4", "--frames", "3", "--threads", "2", "--out", b, "-q"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b)),
                       "same frames, 1 vs 2 threads: the table bytes must match")
    }

    func testEntropyAndSensitivityKeepFP32() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let out = try Harness.scratch("calibrate-sens").appendingPathComponent("s.qtable").path
        let r = try calibrate(["--model", "selfie", "-i", video, "--frames", "2", "--method", "entropy", "--keep-fp32", "2", "--out", out])
        let summary = String(decoding: r.stdout, as: UTF8.self)
        XCTAssertTrue(summary.contains("2 kept fp32"), summary)
        XCTAssertTrue(summary.contains("most sensitive layers"), summary)
        let t = try lines(out)
        XCTAssertTrue(t.contains("method entropy bins=2048"))
        XCTAssertEqual(t.filter { $0.hasPrefix("tensor ") && $0.hasSuffix(" fp32") }.count, 2)
    }

    func testFP32KeysAreMarkedBeforeBiasCorrection() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let out = try Harness.scratch("calibrate-fp32").appendingPathComponent("f.qtable").path
        _ = try calibrate(["--model", "selfie", "-i", video, "--frames", "2", "--fp32", "conv2d", "--fp32", "conv2d_12", "--out", out, "-q"])
        let t = try lines(out)
        XCTAssertEqual(t.filter { $0.hasPrefix("tensor ") && $0.hasSuffix(" fp32") }.map { $0.split(separator: " ")[1] }, ["conv2d", "conv2d_12"])
        XCTAssertFalse(t.contains { $0.hasPrefix("bias conv2d ") || $0.hasPrefix("bias conv2d_12 ") }, "an FP32 conv gets no correction")
        XCTAssertTrue(t.contains { $0.hasPrefix("bias conv2d_13 ") }, "the INT8 convs still do")
    }

    func testNoBiasCorrectionWritesFormat1() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let out = try Harness.scratch("calibrate-nobc").appendingPathComponent("n.qtable").path
        let r = try calibrate(["--model", "selfie", "-i", video, "--frames", "2", "--no-bias-correction", "--equalize", "off", "--out", out])
        let summary = String(decoding: r.stdout, as: UTF8.self)
        XCTAssertFalse(summary.contains("bias correction"), summary)
        XCTAssertFalse(summary.contains("equalization"), summary)
        var t = try lines(out)
        XCTAssertTrue(t.contains("format vseg-qtable 1"))
        XCTAssertFalse(t.contains { $0.hasPrefix("bias ") || $0.hasPrefix("equalize ") })

        _ = try calibrate(["--model", "selfie", "-i", video, "--frames", "2", "--no-bias-correction", "--out", out, "-q"])
        t = try lines(out)
        XCTAssertTrue(t.contains("format vseg-qtable 3"))
        XCTAssertFalse(t.contains { $0.hasPrefix("bias ") })
        XCTAssertTrue(t.contains { $0.hasPrefix("equalize ") })
    }

    func testSensitivityOnOneOutputAndTrim() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let out = try Harness.scratch("calibrate-sens-out").appendingPathComponent("o.qtable").path
        let r = try calibrate(["--model", "selfie", "-i", video, "--frames", "2", "--keep-fp32", "6", "--sensitivity-output", "0",
                               "--trim-fp32", "0.05", "--no-bias-correction", "--out", out])
        let summary = String(decoding: r.stdout, as: UTF8.self)
        XCTAssertTrue(summary.contains("most sensitive layers"), summary)
        let trim = try XCTUnwrap(summary.split(separator: "\n").first { $0.hasPrefix("trim: ") }, summary)
        // "trim: K of 6 kept layers back in INT8 (...), error a -> b (limit 0.05)"
        let k = try XCTUnwrap(Int(trim.split(separator: " ")[1]))
        XCTAssertTrue(trim.contains("of 6 kept layers"), String(trim))
        XCTAssertEqual(try lines(out).filter { $0.hasPrefix("tensor ") && $0.hasSuffix(" fp32") }.count, 6 - k)
    }

    func testDefaultOutputIsCalibrationDirectory() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let dir = try Harness.scratch("calibrate-default")
        let model = Harness.root.appendingPathComponent("models/selfie_segmentation.tflite").path
        // Run from an empty directory: the table goes to ./calibration/<model stem>.qtable.
        let r = try Harness.tool("sh", ["-c", "cd \"$1\" && exec \"$2\" calibrate --model \"$3\" -i \"$4\" --frames 1 -q", "sh",
                                        dir.path, try Harness.requireBinary(), model, video], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("calibration/selfie_segmentation.qtable").path))
    }

    private func expectFailure(_ args: [String], code: Int32, mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try Harness.vseg(["calibrate"] + args, timeout: 120)
        XCTAssertTrue(r.exitedNormally, r.stderr, file: file, line: line)
        XCTAssertEqual(r.status, code, "\(args):\n\(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.errorLines.count, 1, "exactly one error line:\n\(r.stderr)", file: file, line: line)
        let msg = r.errorLines.first ?? ""
        XCTAssertTrue(msg.contains(mentions), "'\(msg)' should name \(mentions)", file: file, line: line)
        XCTAssertTrue(msg.contains(";"), "'\(msg)' should say what to do", file: file, line: line)
    }

    func testBadInputs() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let out = try Harness.scratch("calibrate-bad").appendingPathComponent("x.qtable").path
        try expectFailure(["--model", "selfie"], code: 2, mentions: "--input")
        try expectFailure(["--model", "selfie", "-i", video, "--method", "max"], code: 2, mentions: "--method")
        try expectFailure(["--model", "selfie", "-i", video, "--method", "minmax", "--percentile", "99"], code: 2, mentions: "--percentile")
        try expectFailure(["--model", "selfie", "-i", video, "--percentile", "30"], code: 2, mentions: "--percentile")
        try expectFailure(["--model", "selfie", "-i", video, "--every", "0"], code: 2, mentions: "--every")
        try expectFailure(["--model", "selfie", "-i", video, "--fp32", "no_such_tensor"], code: 2, mentions: "no_such_tensor")
        try expectFailure(["--model", "selfie", "-i", video, "--equalize", "2"], code: 2, mentions: "--equalize")
        try expectFailure(["--model", "selfie", "-i", video, "--equalize", "on"], code: 2, mentions: "--equalize")
        try expectFailure(["--model", "selfie", "-i", video, "--sensitivity", "--sensitivity-output", "1"], code: 2,
                          mentions: "--sensitivity-output 1")
        try expectFailure(["--model", "selfie", "-i", video, "--sensitivity-output", "0"], code: 2, mentions: "--sensitivity-output")
        try expectFailure(["--model", "selfie", "-i", video, "--trim-fp32", "0.01"], code: 2, mentions: "--keep-fp32")
        try expectFailure(["--model", "selfie", "-i", video, "--keep-fp32", "2", "--trim-fp32", "-1"], code: 2, mentions: "--trim-fp32")
        try expectFailure(["--model", "selfie", "-i", "/nonexistent/clip.mp4", "--out", out], code: 3, mentions: "/nonexistent/clip.mp4")
        try expectFailure(["--model", "no_such_model", "-i", video, "--out", out], code: 4, mentions: "no_such_model")
        // A path through a regular file cannot be written, even as root.
        try expectFailure(["--model", "selfie", "-i", video, "--frames", "1", "--out", "\(video)/x.qtable"], code: 5, mentions: "x.qtable")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no table after a failure")
    }

    func testHelpDocumentsOptionsAndExitCodes() throws {
        let r = try Harness.vseg(["calibrate", "--help"])
        XCTAssertEqual(r.status, 0)
        let help = String(decoding: r.stdout, as: UTF8.self)
        for s in ["--model", "--input", "--every", "--frames", "--method", "--percentile", "--out", "--sensitivity", "--keep-fp32",
                  "--threads", "--equalize", "--sensitivity-output", "--no-bias-correction", "minmax", "entropy", "calibration/",
                  "5 table cannot be written"] {
            XCTAssertTrue(help.contains(s), "vseg calibrate --help lacks '\(s)':\n\(help)")
        }
        let top = String(decoding: try Harness.vseg(["--help"]).stdout, as: UTF8.self)
        XCTAssertTrue(top.contains("calibrate"), top)
    }
}
