import Foundation
import XCTest
@testable import VSegEngine
import VSegCore

/// The quantization table's text format: round trip, hand edits, errors with line numbers.
final class QuantTableTests: XCTestCase {
    let sha = String(repeating: "ab", count: 32)

    func sample() -> QuantTable {
        QuantTable(modelFile: "selfie_segmentation.tflite", modelSHA256: sha, method: .percentile(99.99),
                   inputs: ["samples/carphone_pristine.mp4", "frames dir/*.png"], every: 5, frames: 12,
                   entries: [QuantTableEntry(key: "input_1", min: 0, max: 1),
                             QuantTableEntry(key: "conv2d", min: -35.5541229, max: 43.5920067),
                             QuantTableEntry(key: "#7", min: -0.1, max: 0.3, keepFP32: true),
                             QuantTableEntry(key: "odd name%1", min: 0.25, max: 6)])
    }

    /// A minimal valid header plus `body`.
    func text(_ body: String) -> String {
        "format vseg-qtable 1\nmodel m.tflite\nsha256 \(sha)\nmethod minmax\n" + body
    }

    func parseError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> (line: Int, message: String)? {
        do {
            _ = try QuantTable.parse(text: text, path: "t.qtable")
            XCTFail("parsed without an error", file: file, line: line)
        } catch let QuantTableError.parse(path, l, m) {
            XCTAssertEqual(path, "t.qtable", file: file, line: line)
            return (l, m)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
        return nil
    }

    func testRoundTripIsExactAndStable() throws {
        let t = sample()
        let text = t.serialized()
        let back = try QuantTable.parse(text: text, path: "x.qtable")
        XCTAssertEqual(back, t)
        XCTAssertEqual(back.serialized(), text, "re-serializing must give the same bytes")
        XCTAssertTrue(text.contains("\ntensor odd%20name%251 0.25 6 "), text)
        XCTAssertTrue(text.contains("\ntensor #7 "), "a key starting with # is not a comment after 'tensor'")
        XCTAssertTrue(text.contains("\nmethod percentile p=99.99\n"))
        XCTAssertTrue(text.contains("\ninput frames dir/*.png\n"))
        XCTAssertEqual(back.tensorQuantization["#7"]?.keepFP32, true)
        XCTAssertEqual(back.tensorQuantization["conv2d"]?.quant, ActivationQuant(min: -35.5541229, max: 43.5920067))
    }

    func testFloatsRoundTripBitForBit() throws {
        var r = SeededRandom(seed: 11)
        let entries = (0 ..< 200).map { i -> QuantTableEntry in
            let a = r.float(-1000, 0) * r.float(0, 1), b = r.float(0, 1000) * r.float(0, 1)
            return QuantTableEntry(key: "t\(i)", min: a, max: b)
        }
        let t = QuantTable(modelFile: "m", modelSHA256: sha, method: .entropy, inputs: [], every: 1, frames: 1, entries: entries)
        let back = try QuantTable.parse(text: t.serialized(), path: "x")
        for (x, y) in zip(t.entries, back.entries) {
            XCTAssertEqual(x.min.bitPattern, y.min.bitPattern)
            XCTAssertEqual(x.max.bitPattern, y.max.bitPattern)
            XCTAssertEqual(x.quant.scale.bitPattern, y.quant.scale.bitPattern)
            XCTAssertEqual(x.quant.zeroPoint, y.quant.zeroPoint)
        }
    }

    func testHandEdits() throws {
        let t = try QuantTable.parse(text: text("""
            # a comment
               # an indented comment

            tensor a 0 6 - -
            tensor b -1 1 0.5 3 fp32   # keep this one in float
            tensor c -2 2 0.25 128 # scale/zp rule: min/max ignored
            """), path: "t")
        XCTAssertEqual(t.entries.map(\.key), ["a", "b", "c"])
        XCTAssertEqual(t.entries[0].quant, ActivationQuant(min: 0, max: 6))
        XCTAssertEqual(t.entries[1].quant, ActivationQuant(scale: 0.5, zeroPoint: 3))
        XCTAssertTrue(t.entries[1].keepFP32)
        XCTAssertFalse(t.entries[2].keepFP32)
        XCTAssertEqual(t.tensorQuantization["c"], TensorQuantization(quant: ActivationQuant(scale: 0.25, zeroPoint: 128)))
        // The derived numbers are written back.
        let again = t.serialized()
        XCTAssertTrue(again.contains("tensor a 0 6 \(QuantTable.number(6.0 / 255)) 0\n"), again)
        XCTAssertTrue(again.contains("tensor b -1 1 0.5 3 fp32\n"), again)
    }

    func testParseErrorsNameTheLine() {
        XCTAssertEqual(parseError("")?.line, 1)
        XCTAssertEqual(parseError("# c\nmodel m\n")?.line, 2)  // format must come first
        XCTAssertEqual(parseError("format vseg-qtable 9\n")?.line, 1)
        XCTAssertEqual(parseError(text("tensor a 0 x 0.1 0\n"))?.line, 5)
        XCTAssertEqual(parseError(text("\n\ntensor a 0 1 - 3\n"))?.line, 7)
        XCTAssertEqual(parseError(text("tensor a 0 1 0.1 300\n"))?.line, 5)
        XCTAssertEqual(parseError(text("tensor a 0 1 0 0\n"))?.line, 5)  // scale 0
        XCTAssertEqual(parseError(text("tensor a 2 1 - -\n"))?.line, 5)  // min > max
        XCTAssertEqual(parseError(text("tensor a 0 1 0.1 0 int8\n"))?.line, 5)
        XCTAssertEqual(parseError(text("tensor a 0 1 0.1\n"))?.line, 5)
        XCTAssertEqual(parseError(text("tensor a 0 1 - -\ntensor a 0 2 - -\n"))?.line, 6)
        XCTAssertEqual(parseError(text("tensor a%zz 0 1 - -\n"))?.line, 5)
        XCTAssertEqual(parseError(text("frobnicate 3\n"))?.line, 5)
        XCTAssertEqual(parseError(text("every 0\n"))?.line, 5)
        XCTAssertEqual(parseError("format vseg-qtable 1\nmodel m\nsha256 123\n")?.line, 3)
        XCTAssertEqual(parseError("format vseg-qtable 1\nmodel m\nsha256 \(sha)\nmethod percentile p=20\n")?.line, 4)
        let missing = parseError("format vseg-qtable 1\nmodel m\nmethod minmax\n")
        XCTAssertEqual(missing?.message.contains("sha256"), true)
        let e = QuantTableError.parse(path: "calibration/x.qtable", line: 12, message: "bad")
        XCTAssertTrue(e.description.hasPrefix("calibration/x.qtable:12: bad;"), e.description)
    }

    func testSHA256KnownVectors() throws {
        var h = SHA256()
        XCTAssertEqual(hex(h.finalize()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        h = SHA256()
        h.update(Array("abc".utf8))
        XCTAssertEqual(hex(h.finalize()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // Across block boundaries, fed in odd pieces.
        let msg = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        h = SHA256()
        h.update(Array(msg[0 ..< 3])); h.update(Array(msg[3 ..< 50])); h.update(Array(msg[50...]))
        XCTAssertEqual(hex(h.finalize()), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        h = SHA256()
        for _ in 0 ..< 1000 { h.update([UInt8](repeating: 0x61, count: 1000)) }
        XCTAssertEqual(hex(h.finalize()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    func testFileRoundTripAndModelCheck() throws {
        let dir = NSTemporaryDirectory() + "qtable-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = dir + "/m.tflite", other = dir + "/other.tflite"
        try Data("model bytes".utf8).write(to: URL(fileURLWithPath: model))
        try Data("other bytes".utf8).write(to: URL(fileURLWithPath: other))
        var t = sample()
        t.modelSHA256 = try QuantTable.sha256(file: model)
        let path = dir + "/m.qtable"
        try t.write(path: path)
        XCTAssertEqual(try QuantTable.load(path: path), t)
        XCTAssertNoThrow(try t.checkModel(path: model, tablePath: path))
        // A huge file at the table's path is refused without being loaded whole.
        let huge = dir + "/huge.qtable"
        XCTAssertTrue(FileManager.default.createFile(atPath: huge, contents: nil))
        XCTAssertEqual(truncate(huge, off_t(QuantTable.maxFileBytes + 1)), 0)
        XCTAssertThrowsError(try QuantTable.load(path: huge)) { e in
            XCTAssertEqual(e as? QuantTableError, .io(path: huge, reason: "larger than \(QuantTable.maxFileBytes) bytes", writing: false))
        }
        XCTAssertThrowsError(try t.checkModel(path: other, tablePath: path)) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("vseg calibrate --model \(other) --input samples/carphone_pristine.mp4 --out \(path)"), s)
            XCTAssertEqual((e as? QuantTableError)?.exitCode, .model)
        }
        XCTAssertThrowsError(try QuantTable.load(path: dir + "/missing.qtable")) { e in
            guard case .io(_, _, false)? = e as? QuantTableError else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try t.write(path: dir + "/no/such/dir/x.qtable")) { e in
            XCTAssertEqual((e as? QuantTableError)?.exitCode, .output)
        }
    }

    func testBiasLines() throws {
        var t = sample()
        XCTAssertTrue(t.serialized().hasPrefix("# vseg quantization table") && t.serialized().contains("\nformat vseg-qtable 1\n"),
                      "a table without corrections stays format 1")
        t.entries[1].biasCorrection = [0.125, -3.5e-05, 0]
        t.entries[3].biasCorrection = [1]
        let out = t.serialized()
        XCTAssertTrue(out.contains("\nformat vseg-qtable 2\n"))
        XCTAssertTrue(out.contains("\ntensor conv2d -35.5541229 43.5920067 ") && out.contains("\nbias conv2d 0.125 \(QuantTable.number(-3.5e-05)) 0\n"), out)
        XCTAssertTrue(out.contains("\nbias odd%20name%251 1\n"), out)
        let back = try QuantTable.parse(text: out, path: "x")
        XCTAssertEqual(back, t)
        XCTAssertEqual(back.serialized(), out)
        XCTAssertEqual(back.tensorQuantization["conv2d"]?.biasCorrection, [0.125, -3.5e-05, 0])
        XCTAssertNil(back.tensorQuantization["input_1"]?.biasCorrection)

        let v2 = "format vseg-qtable 2\nmodel m.tflite\nsha256 \(sha)\nmethod minmax\ntensor a 0 1 - -\n"
        XCTAssertEqual(try QuantTable.parse(text: v2 + "bias a 0.5 0.25 # a comment\n", path: "t").entries[0].biasCorrection, [0.5, 0.25])
        XCTAssertEqual(parseError(v2 + "bias b 1\n")?.line, 6)
        XCTAssertTrue(parseError(v2 + "bias b 1\n")?.message.contains("its 'tensor b' line") == true)
        XCTAssertEqual(parseError(v2 + "bias a 1\nbias a 2\n")?.line, 7)
        XCTAssertTrue(parseError(v2 + "bias a 1 nan\n")?.message.contains("not a finite number") == true)
        XCTAssertEqual(parseError(v2 + "bias a\n")?.line, 6)
        XCTAssertTrue(parseError(text("tensor a 0 1 - -\nbias a 1\n"))?.message.contains("need format 2") == true,
                      "format 1 has no bias lines")
        XCTAssertEqual(parseError("format vseg-qtable 4\n")?.line, 1)
    }

    func testEqualizeLines() throws {
        var t = sample()
        t.entries[1].biasCorrection = [0.125, 0, 0]
        XCTAssertEqual(t.version, 2)
        t.entries[1].equalization = [1, 2.5, 63.9990234]
        let out = t.serialized()
        XCTAssertEqual(t.version, 3)
        XCTAssertTrue(out.contains("\nformat vseg-qtable 3\n"), out)
        XCTAssertTrue(out.contains("\nequalize conv2d 1 2.5 63.9990234\nbias conv2d 0.125 0 0\n"), out)
        let back = try QuantTable.parse(text: out, path: "x")
        XCTAssertEqual(back, t)
        XCTAssertEqual(back.serialized(), out)
        XCTAssertEqual(back.tensorQuantization["conv2d"]?.equalization, [1, 2.5, 63.9990234])
        XCTAssertNil(back.tensorQuantization["input_1"]?.equalization)

        let v3 = "format vseg-qtable 3\nmodel m.tflite\nsha256 \(sha)\nmethod minmax\ntensor a 0 1 - -\n"
        XCTAssertEqual(try QuantTable.parse(text: v3 + "equalize a 2 4 # comment\n", path: "t").entries[0].equalization, [2, 4])
        XCTAssertTrue(parseError(v3 + "equalize a 1 0\n")?.message.contains("must be positive") == true)
        XCTAssertTrue(parseError(v3 + "equalize a 1 -2\n")?.message.contains("must be positive") == true)
        XCTAssertTrue(parseError(v3 + "equalize a inf\n")?.message.contains("not a finite number") == true)
        XCTAssertEqual(parseError(v3 + "equalize a 1\nequalize a 2\n")?.line, 7)
        XCTAssertTrue(parseError(v3 + "equalize b 1\n")?.message.contains("its 'tensor b' line") == true)
        let v2 = v3.replacingOccurrences(of: "qtable 3", with: "qtable 2")
        XCTAssertTrue(parseError(v2 + "equalize a 2\n")?.message.contains("need format 3") == true, "format 2 has no equalize lines")
    }

    func testMarkFP32() {
        var t = sample()
        t.markFP32(["conv2d", "nope"])
        XCTAssertEqual(t.entries.filter(\.keepFP32).map(\.key), ["conv2d", "#7"])
    }
}
