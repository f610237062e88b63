import Foundation
import XCTest

/// `--precision int8` end to end: run, infer, bench and eval with the built
/// binary, the committed selfie table and the carphone sample.
final class Int8CommandTests: XCTestCase {
    var selfieTable: String { Harness.root.appendingPathComponent("calibration/selfie_segmentation.qtable").path }

    func requireModel(_ name: String) throws -> String {
        let p = Harness.root.appendingPathComponent("models/\(name)").path
        try XCTSkipUnless(FileManager.default.fileExists(atPath: p), "\(p) missing; run scripts/setup")
        return p
    }

    /// A failing command: exit code, exactly one `vseg:` line, and that line's text.
    @discardableResult
    func expectFailure(_ args: [String], code: Int32, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try Harness.vseg(args, timeout: 120)
        XCTAssertTrue(r.exitedNormally, r.stderr, file: file, line: line)
        XCTAssertEqual(r.status, code, "\(args):\n\(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.errorLines.count, 1, "exactly one error line:\n\(r.stderr)", file: file, line: line)
        return r.errorLines.first ?? ""
    }

    func readNPY(_ path: String) throws -> [Float] {
        let d = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(Array(d.prefix(6)), [0x93] + Array("NUMPY".utf8))
        let headerLen = Int(d[8]) | Int(d[9]) << 8
        let header = String(decoding: d[10 ..< 10 + headerLen], as: UTF8.self)
        XCTAssertTrue(header.contains("'<f4'"), header)
        let body = d.dropFirst(10 + headerLen)
        return body.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func testRunInt8WritesEveryFrame() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        _ = try requireModel("selfie_segmentation.tflite")
        let out = try Harness.scratch("int8-run").appendingPathComponent("carphone_int8.mp4").path
        let r = try Harness.vseg(["run", "-i", video, "--precision", "int8", "--qtable", selfieTable, "--frames", "30", "-o", out], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.written, 30, r.stderr)
        XCTAssertTrue(r.stderr.contains("int8 with \(selfieTable)"), "the run says which table it used:\n\(r.stderr)")
        let info = try Harness.probe(out)
        XCTAssertEqual(info.codec, "h264")
        XCTAssertEqual(info.frames, 30)
        XCTAssertEqual(info.width, 176)
        XCTAssertEqual(info.height, 144)
        XCTAssertEqual(try Harness.decode(out, pixFmt: "gray").count, 176 * 144 * 30, "every frame decodes")
    }

    func testPipelineYAMLPrecisionInt8() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let dir = try Harness.scratch("int8-yaml")
        let yaml = dir.appendingPathComponent("int8.yaml").path
        let out = dir.appendingPathComponent("o.mp4").path
        try """
        source:
          uri: \(video)
          maxFrames: 5
        model:
          name: selfie
          precision: int8
        sinks:
          - uri: \(out)
        """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let r = try Harness.vseg(["run", yaml], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.written, 5, r.stderr)
        XCTAssertTrue(r.stderr.contains("calibration/selfie_segmentation.qtable"), "found the committed table:\n\(r.stderr)")
        // --precision fp32 overrides the file: no INT8 line.
        let f = try Harness.vseg(["run", yaml, "--precision", "fp32"], timeout: 300)
        XCTAssertEqual(f.status, 0, f.stderr)
        XCTAssertFalse(f.stderr.contains("int8 with"), f.stderr)

        let bad = dir.appendingPathComponent("bad.yaml").path
        try "model:\n  name: selfie\n  precision: int16\nsinks:\n  - uri: \(out)\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let msg = try expectFailure(["run", bad, "-i", video], code: 2)
        XCTAssertTrue(msg.contains("bad.yaml:3:"), msg)
        XCTAssertTrue(msg.contains("fp32|int8"), msg)
    }

    func testBenchInt8ReportsQuantization() throws {
        let model = try requireModel("selfie_segmentation.tflite")
        let r = try Harness.vseg(["bench", "--model", model, "--precision", "int8", "--runs", "3", "--warmup", "1", "--json"], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        XCTAssertEqual(obj["precision"] as? String, "int8")
        let table = try XCTUnwrap(obj["qtable"] as? String)
        XCTAssertTrue(table.hasSuffix("calibration/selfie_segmentation.qtable"), table)
        let q = try XCTUnwrap(obj["quantization"] as? [String: Any])
        let int8 = try XCTUnwrap(q["int8Nodes"] as? Int), fp32 = try XCTUnwrap(q["fp32Nodes"] as? Int)
        XCTAssertGreaterThan(int8, 0)
        XCTAssertGreaterThanOrEqual(fp32, 0)
        XCTAssertGreaterThan(try XCTUnwrap(q["quantizeNodes"] as? Int), 0)
        XCTAssertNotNil(q["fp32Convs"] as? [String])
        XCTAssertGreaterThan(try XCTUnwrap((obj["medianMs"] as? NSNumber)?.doubleValue), 0)

        let text = try Harness.vseg(["bench", "--model", model, "--precision", "int8", "--runs", "2", "--warmup", "0"], timeout: 300)
        XCTAssertEqual(text.status, 0, text.stderr)
        let s = String(decoding: text.stdout, as: UTF8.self)
        XCTAssertTrue(s.contains("precision: int8  table: "), s)
        XCTAssertTrue(s.contains("\(int8) nodes INT8, \(fp32) FP32"), s)
        XCTAssertTrue(s.contains("convs kept FP32: "), s)

        let f = try Harness.vseg(["bench", "--model", model, "--runs", "2", "--warmup", "0", "--json"], timeout: 300)
        XCTAssertEqual(f.status, 0, f.stderr)
        let fobj = try XCTUnwrap(try JSONSerialization.jsonObject(with: f.stdout) as? [String: Any])
        XCTAssertEqual(fobj["precision"] as? String, "fp32")
        XCTAssertNil(fobj["quantization"])
    }

    func testInferInt8CloseToFP32() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let model = try requireModel("selfie_segmentation.tflite")
        let dir = try Harness.scratch("int8-infer")
        let a = dir.appendingPathComponent("fp32").path, b = dir.appendingPathComponent("int8").path
        let rf = try Harness.vseg(["infer", "--model", model, "--input", video, "--output-dir", a], timeout: 120)
        XCTAssertEqual(rf.status, 0, rf.stderr)
        let ri = try Harness.vseg(["infer", "--model", model, "--input", video, "--output-dir", b, "--precision", "int8"], timeout: 120)
        XCTAssertEqual(ri.status, 0, ri.stderr)
        XCTAssertTrue(ri.stderr.contains("nodes INT8"), ri.stderr)
        // Same preprocessed input, different arithmetic.
        XCTAssertEqual(try readNPY(a + "/input0.npy"), try readNPY(b + "/input0.npy"))
        let x = try readNPY(a + "/out0.npy"), y = try readNPY(b + "/out0.npy")
        XCTAssertEqual(x.count, 256 * 256)
        XCTAssertEqual(y.count, x.count)
        var sum = 0.0, differ = 0
        for i in x.indices {
            sum += Double(abs(x[i] - y[i]))
            if x[i] != y[i] { differ += 1 }
        }
        let mean = sum / Double(x.count)
        XCTAssertLessThan(mean, 0.05, "mean abs difference of the mask")
        XCTAssertGreaterThan(differ, 0, "the int8 output is the fp32 output: nothing was quantized")
    }

    func testEvalCompareFP32Int8() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let r = try Harness.vseg(["eval", "--model", "selfie", "--input", video, "--every", "4", "--compare", "fp32,int8", "--json", "-"],
                                 timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        XCTAssertEqual(obj["frames"] as? Int, 30)
        XCTAssertTrue((obj["quantTable"] as? String)?.hasSuffix("calibration/selfie_segmentation.qtable") == true, "\(obj)")
        let c = try XCTUnwrap((obj["comparisons"] as? [[String: Any]])?.first)
        XCTAssertEqual(c["reference"] as? String, "fp32")
        XCTAssertEqual(c["candidate"] as? String, "int8")
        let b = try XCTUnwrap(c["binary"] as? [String: Any])
        let iou = try XCTUnwrap((b["meanIoU"] as? NSNumber)?.doubleValue)
        let mapd = try XCTUnwrap((b["meanAbsDifference"] as? NSNumber)?.doubleValue)
        XCTAssertGreaterThanOrEqual(iou, 0.95)
        XCTAssertLessThan(iou, 1.0 + 1e-12)
        XCTAssertGreaterThan(mapd, 0, "int8 and fp32 probabilities cannot be identical")
        XCTAssertLessThan(mapd, 0.05)

        let table = try Harness.vseg(["eval", "--model", "selfie", "--input", video, "--frames", "2", "--compare", "fp32,int8"], timeout: 300)
        XCTAssertEqual(table.status, 0, table.stderr)
        let s = String(decoding: table.stdout, as: UTF8.self)
        for want in ["int8 vs fp32", "foreground IoU", "mean abs probability difference", "int8 table: "] {
            XCTAssertTrue(s.contains(want), "eval table shows \(want):\n\(s)")
        }
    }

    func testErrors() throws {
        let video = try Harness.requireSample("carphone_pristine.mp4")
        let model = try requireModel("selfie_segmentation.tflite")
        let dir = try Harness.scratch("int8-errors")
        let out = dir.appendingPathComponent("o.mp4").path

        // A model whose stem has no table anywhere: exit 4, the command that makes one.
        let other = dir.appendingPathComponent("uncalibrated_selfie.tflite").path
        try FileManager.default.copyItem(atPath: model, toPath: other)
        let missing = try expectFailure(["run", "-i", video, "--model", other, "--precision", "int8", "--frames", "2", "-o", out], code: 4)
        XCTAssertTrue(missing.contains("vseg calibrate --model \(other) --input \(video) --out calibration/uncalibrated_selfie.qtable"), missing)
        let b = try expectFailure(["bench", "--model", other, "--precision", "int8", "--runs", "1"], code: 4)
        XCTAssertTrue(b.contains("vseg calibrate --model \(other)"), b)
        let i = try expectFailure(["infer", "--model", other, "--input", video, "--output-dir", dir.path, "--precision", "int8"], code: 4)
        XCTAssertTrue(i.contains("vseg calibrate"), i)
        let e = try expectFailure(["eval", "--model", other, "--input", video, "--frames", "1", "--compare", "fp32,int8"], code: 4)
        XCTAssertTrue(e.contains("vseg calibrate"), e)
        let x = try expectFailure(["run", "-i", video, "--precision", "int8", "--qtable", dir.appendingPathComponent("none.qtable").path,
                                   "-o", out], code: 4)
        XCTAssertTrue(x.contains("vseg calibrate --model selfie"), x)

        // The portrait selfie table for the landscape model: sha256 mismatch.
        _ = try requireModel("selfie_segmentation_landscape.tflite")
        let m = try expectFailure(["run", "-i", video, "--model", "selfie_landscape", "--precision", "int8", "--qtable", selfieTable,
                                   "--frames", "2", "-o", out], code: 4)
        XCTAssertTrue(m.contains("calibrated for another model file"), m)
        XCTAssertTrue(m.contains("vseg calibrate"), m)

        // Command-line mistakes: exit 2.
        let p = try expectFailure(["run", "-i", video, "--precision", "int4", "-o", out], code: 2)
        XCTAssertTrue(p.contains("--precision") && p.contains("int4"), p)
        try expectFailure(["bench", "--model", model, "--precision", "INT9"], code: 2)
        try expectFailure(["infer", "--model", model, "--input", video, "--output-dir", dir.path, "--precision", "fp16"], code: 2)
        try expectFailure(["bench", "--model", model, "--qtable", selfieTable], code: 2)
        try expectFailure(["run", "-i", video, "--qtable", selfieTable, "-o", out], code: 2)
        try expectFailure(["eval", "--model", "selfie", "--input", video, "--compare", "fp32,threshold=0.4", "--qtable", selfieTable], code: 2)
    }

    func testHelpMentionsPrecision() throws {
        for cmd in ["run", "infer", "bench"] {
            // Help wraps at the terminal width: compare with whitespace runs collapsed.
            let help = String(decoding: try Harness.vseg([cmd, "--help"]).stdout, as: UTF8.self)
                .split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
            for s in ["--precision", "--qtable", "fp32|int8", "vseg calibrate"] {
                XCTAssertTrue(help.contains(s), "vseg \(cmd) --help lacks '\(s)':\n\(help)")
            }
        }
        let eval = String(decoding: try Harness.vseg(["eval", "--help"]).stdout, as: UTF8.self)
        XCTAssertTrue(eval.contains("--qtable"), eval)
    }
}
