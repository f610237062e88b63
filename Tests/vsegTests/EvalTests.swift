import Foundation
import XCTest

/// `vseg eval` end to end: the built binary on the sample video, JSON parsed back.
final class EvalTests: XCTestCase {
    let width = 176, height = 144

    /// Runs eval with `--json -` and returns the parsed report.
    func evalJSON(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let r = try Harness.vseg(["eval"] + args + ["--json", "-"], timeout: 300)
        XCTAssertEqual(r.status, 0, "vseg eval failed: \(r.stderr)", file: file, line: line)
        let obj = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
        return try XCTUnwrap(obj, "eval --json printed no JSON object", file: file, line: line)
    }

    func comparisons(_ report: [String: Any]) throws -> [[String: Any]] {
        try XCTUnwrap(report["comparisons"] as? [[String: Any]])
    }

    func double(_ o: [String: Any], _ key: String) throws -> Double {
        try XCTUnwrap((o[key] as? NSNumber)?.doubleValue, "\(key) missing")
    }

    func perClass(_ classes: [String: Any], _ id: Int) throws -> [String: Any] {
        let all = try XCTUnwrap(classes["perClass"] as? [[String: Any]])
        return try XCTUnwrap(all.first { ($0["id"] as? Int) == id })
    }

    func testThresholdVariantOnSample() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let report = try evalJSON(["--model", "selfie", "--input", video, "--frames", "10", "--compare", "fp32,threshold=0.4"])
        XCTAssertEqual(report["frames"] as? Int, 10)
        XCTAssertEqual(report["mode"] as? String, "compare")
        let c = try XCTUnwrap(comparisons(report).first)
        XCTAssertEqual(c["reference"] as? String, "fp32")
        XCTAssertEqual(c["candidate"] as? String, "threshold=0.4")
        XCTAssertEqual(c["kind"] as? String, "mask")
        let b = try XCTUnwrap(c["binary"] as? [String: Any])
        let perFrame = try XCTUnwrap(b["perFrameIoU"] as? [Double])
        XCTAssertEqual(perFrame.count, 10)
        XCTAssertTrue(perFrame.allSatisfy { $0 > 0 && $0 <= 1 }, "\(perFrame)")
        let meanIoU = try double(b, "meanIoU")
        XCTAssertEqual(meanIoU, perFrame.reduce(0, +) / 10, accuracy: 1e-9)
        XCTAssertGreaterThan(meanIoU, 0.5)
        // Same model, only the threshold differs: the probabilities are identical.
        XCTAssertEqual(try double(b, "meanAbsDifference"), 0)
        XCTAssertEqual(try double(b, "candidateThreshold"), 0.4, accuracy: 1e-6)
        let classes = try XCTUnwrap(c["classes"] as? [String: Any])
        XCTAssertEqual(classes["pixels"] as? Int, width * height * 10)
        // A lower threshold only adds foreground: every reference foreground pixel stays foreground.
        let fg = try perClass(classes, 1)
        let refFG = try XCTUnwrap(fg["referencePixels"] as? Int), candFG = try XCTUnwrap(fg["candidatePixels"] as? Int)
        XCTAssertGreaterThanOrEqual(candFG, refFG)
        XCTAssertEqual(try double(fg, "accuracy"), 1)
        XCTAssertEqual(try double(b, "pooledIoU"), Double(refFG) / Double(candFG), accuracy: 1e-12)
        for key in ["pixelAccuracy", "meanClassAccuracy", "meanIoU", "frequencyWeightedIoU", "meanDice"] {
            let v = try double(classes, key)
            XCTAssertTrue(v > 0 && v <= 1, "\(key) = \(v)")
        }
    }

    /// pose_landmark_full: the landmarks (output 0) are compared next to its mask,
    /// in input pixels, with PCK@0.1 of the reference pose's box diagonal.
    func testPoseLandmarksAreCompared() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let same = try XCTUnwrap(comparisons(try evalJSON(["--model", "pose", "--input", video, "--frames", "3",
                                                           "--compare", "fp32,fp32"])).first)
        let k = try XCTUnwrap(same["keypoints"] as? [String: Any], "a landmarks model reports keypoints")
        XCTAssertEqual(k["output"] as? Int, 0)
        XCTAssertEqual(k["count"] as? Int, 39)
        XCTAssertEqual(k["unit"] as? String, "input pixels")
        XCTAssertEqual(try double(k, "meanDistance"), 0)
        XCTAssertEqual(try double(k, "pck"), 1)

        let int8 = try XCTUnwrap(comparisons(try evalJSON(["--model", "pose", "--input", video, "--every", "10",
                                                           "--compare", "fp32,int8"])).first)
        let q = try XCTUnwrap(int8["keypoints"] as? [String: Any])
        let mean = try double(q, "meanDistance"), pck = try double(q, "pck")
        XCTAssertGreaterThan(mean, 0, "INT8 moves the landmarks somewhat")
        XCTAssertLessThan(mean, 3, "the committed table keeps them within about a pixel")
        XCTAssertGreaterThanOrEqual(try double(q, "maxDistance"), mean)
        XCTAssertGreaterThan(pck, 0.9)
        XCTAssertEqual(try double(q, "pckAlpha"), 0.1, accuracy: 1e-6)

        let r = try Harness.vseg(["eval", "--model", "pose", "--input", video, "--frames", "2", "--compare", "fp32,fp32"], timeout: 120)
        XCTAssertTrue(String(decoding: r.stdout, as: UTF8.self).contains("landmarks (output 0, 39 per frame, input pixels): mean distance 0.000"),
                      String(decoding: r.stdout, as: UTF8.self))

        let selfie = try XCTUnwrap(comparisons(try evalJSON(["--model", "selfie", "--input", video, "--frames", "2",
                                                             "--compare", "fp32,fp32"])).first)
        XCTAssertNil(selfie["keypoints"], "a mask model has no landmarks")
    }

    func testRunAgainstItselfIsExact() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        // A second, separately loaded copy of the same model must agree bit for bit.
        let report = try evalJSON(["--model", "selfie", "--input", video, "--frames", "10", "--every", "2",
                                   "--compare", "fp32,model=selfie", "--threads", "1"])
        XCTAssertEqual(report["frames"] as? Int, 10)
        let c = try XCTUnwrap(comparisons(report).first)
        let b = try XCTUnwrap(c["binary"] as? [String: Any])
        XCTAssertEqual(try double(b, "meanIoU"), 1)
        XCTAssertEqual(try double(b, "pooledIoU"), 1)
        XCTAssertEqual(try double(b, "minIoU"), 1)
        XCTAssertEqual(try double(b, "meanAbsDifference"), 0)
        XCTAssertEqual(try double(b, "maxAbsDifference"), 0)
        let classes = try XCTUnwrap(c["classes"] as? [String: Any])
        XCTAssertEqual(try double(classes, "pixelAccuracy"), 1)
        XCTAssertEqual(try double(classes, "meanIoU"), 1)
    }

    func testTwoModelsDisagreeSomewhat() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let report = try evalJSON(["--model", "selfie", "--input", video, "--frames", "4",
                                   "--compare", "fp32,model=selfie_landscape"])
        let c = try XCTUnwrap(comparisons(report).first)
        let b = try XCTUnwrap(c["binary"] as? [String: Any])
        let iou = try double(b, "meanIoU"), mapd = try double(b, "meanAbsDifference")
        XCTAssertTrue(iou > 0.3 && iou < 1, "two different models: IoU \(iou)")
        XCTAssertTrue(mapd > 0 && mapd < 0.5, "two different models: MAPD \(mapd)")
    }

    func testInt8AndBadSpecsAreOneLineErrors() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        // int8 with a table that does not exist: a model error naming the command that makes it.
        let int8 = try Harness.vseg(["eval", "--model", "selfie", "--input", video, "--frames", "2", "--compare", "fp32,int8",
                                     "--qtable", "/nonexistent/selfie.qtable"])
        XCTAssertEqual(int8.status, 4)
        XCTAssertEqual(int8.errorLines.count, 1)
        XCTAssertTrue(int8.stderr.contains("vseg calibrate --model selfie"), int8.stderr)
        let bad = try Harness.vseg(["eval", "--model", "selfie", "--input", video, "--compare", "fp32,fp16"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("fp16"), bad.stderr)
        let one = try Harness.vseg(["eval", "--model", "selfie", "--input", video, "--compare", "fp32"])
        XCTAssertEqual(one.status, 2)
    }

    // MARK: - Ground-truth labels

    /// Writes a gray8 PNG of `width`x`height` through the ffmpeg CLI: `value`
    /// everywhere, and `ignoreRows` bottom rows of 255.
    func writeLabel(_ path: String, value: UInt8, ignoreRows: Int) throws {
        var bytes = [UInt8](repeating: value, count: width * height)
        for i in (height - ignoreRows) * width ..< width * height { bytes[i] = 255 }
        let raw = path + ".raw"
        try Data(bytes).write(to: URL(fileURLWithPath: raw))
        let r = try Harness.tool("ffmpeg", ["-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "gray",
                                            "-s", "\(width)x\(height)", "-i", raw, "-frames:v", "1", path])
        XCTAssertEqual(r.status, 0, r.stderr)
        try FileManager.default.removeItem(atPath: raw)
    }

    // Run "threshold=0" calls every pixel foreground, so against all-foreground
    // labels its IoU is exactly 1 and against all-background exactly 0; the
    // bottom 16 label rows are 255 and must be skipped.
    func testLabelsByFrameIndex() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let dir = try Harness.scratch("eval-labels-index")
        for (i, v) in [UInt8(1), 0, 1].enumerated() {
            try writeLabel(dir.appendingPathComponent(String(format: "%06d.png", i)).path, value: v, ignoreRows: 16)
        }
        let report = try evalJSON(["--model", "selfie", "--input", video, "--frames", "3",
                                   "--labels", dir.path, "--compare", "threshold=0,fp32"])
        XCTAssertEqual(report["mode"] as? String, "labels")
        let cs = try comparisons(report)
        XCTAssertEqual(cs.count, 2)
        XCTAssertEqual(cs[0]["reference"] as? String, "labels")
        let b = try XCTUnwrap(cs[0]["binary"] as? [String: Any])
        XCTAssertEqual(b["perFrameIoU"] as? [Double], [1, 0, 1])
        let classes = try XCTUnwrap(cs[0]["classes"] as? [String: Any])
        XCTAssertEqual(classes["ignoredPixels"] as? Int, 3 * 16 * width)
        XCTAssertEqual(classes["pixels"] as? Int, 3 * (height - 16) * width)
        XCTAssertEqual(b["pixels"] as? Int, 3 * (height - 16) * width)
        XCTAssertEqual(try double(classes, "pixelAccuracy"), 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(try perClass(classes, 1)["referencePixels"] as? Int, 2 * (height - 16) * width)
        // The plain fp32 run: in range, and never better than perfect.
        let b2 = try XCTUnwrap(cs[1]["binary"] as? [String: Any])
        let iou2 = try XCTUnwrap(b2["perFrameIoU"] as? [Double])
        XCTAssertEqual(iou2.count, 3)
        XCTAssertEqual(iou2[1], 0, "no foreground in the labels, some predicted")
        XCTAssertTrue(iou2[0] > 0 && iou2[0] < 1)
        let mapd = try double(b2, "meanAbsDifference")
        XCTAssertTrue(mapd > 0 && mapd < 1)

        // A missing label is an input error naming the file.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("000002.png"))
        let missing = try Harness.vseg(["eval", "--model", "selfie", "--input", video, "--frames", "3", "--labels", dir.path])
        XCTAssertEqual(missing.status, 3)
        XCTAssertTrue(missing.stderr.contains("000002.png"), missing.stderr)
    }

    func testLabelsByImageName() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let frames = try Harness.scratch("eval-frames"), labels = try Harness.scratch("eval-frame-labels")
        let r = try Harness.tool("ffmpeg", ["-v", "error", "-nostdin", "-y", "-i", video, "-frames:v", "3",
                                            "-start_number", "7", frames.appendingPathComponent("shot_%03d.png").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        // shot_007, shot_008, shot_009: the middle one is background only.
        for (n, v) in [(7, UInt8(1)), (8, 0), (9, 1)] {
            try writeLabel(labels.appendingPathComponent(String(format: "shot_%03d.png", n)).path, value: v, ignoreRows: 0)
        }
        let report = try evalJSON(["--model", "selfie", "--input", frames.path, "--labels", labels.path, "--compare", "threshold=0"])
        XCTAssertEqual(report["frames"] as? Int, 3)
        let c = try XCTUnwrap(comparisons(report).first)
        let b = try XCTUnwrap(c["binary"] as? [String: Any])
        XCTAssertEqual(b["perFrameIoU"] as? [Double], [1, 0, 1])
        XCTAssertEqual(try double(b, "meanIoU"), 2.0 / 3.0, accuracy: 1e-12)
    }

    // A class model (the generated LR-ASPP fixture): labels all class 2 with an
    // ignored band must give exactly the share of class-2 predictions that a
    // run-vs-run comparison counts on the same frames.
    func testClassModelAgainstLabelsMatchesItsOwnPredictions() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let model = Harness.root.appendingPathComponent(".fixtures/onnx/lraspp.onnx").path
        guard FileManager.default.fileExists(atPath: model) else { throw XCTSkip("\(model) missing; generate the ONNX fixtures") }
        let dir = try Harness.scratch("eval-class-labels")
        for i in 0 ..< 2 { try writeLabel(dir.appendingPathComponent(String(format: "%06d.png", i)).path, value: 2, ignoreRows: 10) }
        let labelled = try evalJSON(["--model", model, "--input", video, "--frames", "2", "--labels", dir.path, "--threads", "1"])
        let c = try XCTUnwrap(comparisons(labelled).first)
        XCTAssertEqual(c["kind"] as? String, "classes")
        XCTAssertNil(c["binary"])
        let classes = try XCTUnwrap(c["classes"] as? [String: Any])
        let counted = 2 * (height - 10) * width
        XCTAssertEqual(classes["pixels"] as? Int, counted)
        XCTAssertEqual(classes["ignoredPixels"] as? Int, 2 * 10 * width)
        let two = try perClass(classes, 2)
        XCTAssertEqual(two["referencePixels"] as? Int, counted)
        let predictedTwo = try XCTUnwrap(two["candidatePixels"] as? Int)
        XCTAssertEqual(try double(classes, "pixelAccuracy"), Double(predictedTwo) / Double(counted), accuracy: 1e-12)
        XCTAssertEqual(try double(two, "iou"), Double(predictedTwo) / Double(counted), accuracy: 1e-12)

        // The same frames run against themselves: class-2 pixels over the whole frame
        // are at least those outside the ignored band.
        let selfRun = try evalJSON(["--model", model, "--input", video, "--frames", "2", "--compare", "fp32,fp32", "--threads", "1"])
        let sc = try XCTUnwrap(try comparisons(selfRun).first?["classes"] as? [String: Any])
        XCTAssertEqual(try double(sc, "meanIoU"), 1)
        XCTAssertEqual(sc["pixels"] as? Int, 2 * height * width)
        let allTwo = (try? perClass(sc, 2)["referencePixels"] as? Int) ?? 0
        XCTAssertGreaterThanOrEqual(allTwo, predictedTwo)
        XCTAssertLessThanOrEqual(allTwo - predictedTwo, 2 * 10 * width)
    }

    func testHelpAndJSONFileWithTable() throws {
        let root = try Harness.vseg(["--help"])
        XCTAssertTrue(String(decoding: root.stdout, as: UTF8.self).contains("eval"), "root help lists eval")
        let help = String(decoding: try Harness.vseg(["eval", "--help"]).stdout, as: UTF8.self)
        for option in ["--model", "--input", "--every", "--frames", "--compare", "--labels", "--ignore-label", "--threshold", "--json", "--threads",
                       "fp32", "int8", "model=PATH", "threshold=X", "%06d.png"] {
            XCTAssertTrue(help.contains(option), "eval --help mentions \(option)")
        }
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let out = try Harness.scratch("eval-json").appendingPathComponent("report.json")
        let r = try Harness.vseg(["eval", "--model", "selfie", "--input", video, "--frames", "2", "--compare", "fp32,threshold=0.7",
                                  "--json", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let table = String(decoding: r.stdout, as: UTF8.self)
        for s in ["threshold=0.7 vs fp32", "foreground IoU", "mean abs probability difference", "mIoU", "fwIoU", "pixel accuracy", "Dice"] {
            XCTAssertTrue(table.contains(s), "table shows \(s):\n\(table)")
        }
        let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any]
        XCTAssertEqual(obj?["frames"] as? Int, 2)
        let unwritable = try Harness.vseg(["eval", "--model", "selfie", "--input", video, "--frames", "1", "--compare", "fp32,fp32",
                                           "--json", "/nonexistent-dir/r.json"])
        XCTAssertEqual(unwritable.status, 5)
        XCTAssertEqual(unwritable.errorLines.count, 1)
    }
}
