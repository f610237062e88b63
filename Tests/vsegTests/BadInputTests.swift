import Foundation
import XCTest

/// Every bad input from issue 2: one `vseg:` line naming the thing and the
/// fix, a non-zero exit (the documented code), and no crash.
final class BadInputTests: XCTestCase {
    private func expectFailure(_ args: [String], code: Int32, mentions: String, timeout: Double = 60,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try Harness.vseg(args, timeout: timeout)
        XCTAssertTrue(r.exitedNormally, "\(args): crashed or hung (\(r.timedOut ? "timed out" : "signal")):\n\(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.status, code, "\(args):\n\(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.errorLines.count, 1, "\(args): exactly one error line expected:\n\(r.stderr)", file: file, line: line)
        let msg = r.errorLines.first ?? ""
        XCTAssertTrue(msg.contains(mentions), "\(args): '\(msg)' should name \(mentions)", file: file, line: line)
        XCTAssertTrue(msg.contains(";"), "\(args): '\(msg)' should say what to do after a ';'", file: file, line: line)
    }

    private var out: String { (try? Harness.scratch("bad-out").appendingPathComponent("o.mp4").path) ?? "/tmp/o.mp4" }

    func testMissingFile() throws {
        try expectFailure(["run", "--model", "none", "-i", "/nonexistent/clip.mp4", "-o", out], code: 3, mentions: "/nonexistent/clip.mp4")
    }

    func testZeroByteFile() throws {
        let f = try Harness.scratch("zero").appendingPathComponent("empty.mp4")
        FileManager.default.createFile(atPath: f.path, contents: Data())
        try expectFailure(["run", "--model", "none", "-i", f.path, "-o", out], code: 3, mentions: f.path)
    }

    func testTruncatedHalfMP4() throws {
        let src = try Harness.requireSample("bikes.mp4")
        let dir = try Harness.scratch("trunc")
        let data = try Data(contentsOf: URL(fileURLWithPath: src))
        let f = dir.appendingPathComponent("half.mp4")
        try data.prefix(data.count / 2).write(to: f)
        let o = dir.appendingPathComponent("o.mp4").path
        let r = try Harness.vseg(["run", "--model", "none", "-i", f.path, "-o", o], timeout: 60)
        XCTAssertTrue(r.exitedNormally, r.stderr)
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertEqual(r.errorLines.count, 1, r.stderr)
        XCTAssertTrue(r.errorLines.first?.contains(f.path) == true, r.stderr)
        // If any frames got through, the partial output must be finalized and playable.
        if let n = r.written, n > 0 {
            XCTAssertEqual(try Harness.probe(o).frames, n, "partial output holds every written frame")
        }
    }

    func testTextFileNamedMP4() throws {
        let f = try Harness.scratch("text").appendingPathComponent("notes.mp4")
        try "these are not the frames you are looking for\n".write(to: f, atomically: true, encoding: .utf8)
        try expectFailure(["run", "--model", "none", "-i", f.path, "-o", out], code: 3, mentions: f.path)
    }

    func testMissingVideoDevice() throws {
        try expectFailure(["run", "--model", "none", "-i", "/dev/video99", "-o", out], code: 3, mentions: "/dev/video99")
        try expectFailure(["probe", "/dev/video99"], code: 3, mentions: "/dev/video99")
    }

    func testUnwritableOutputDirectory() throws {
        let input = try Harness.requireSample("carphone_pristine.mp4")
        try expectFailure(["run", "--model", "none", "-i", input, "-o", "/nonexistent-dir/out.mp4"], code: 5, mentions: "/nonexistent-dir/out.mp4")
        // A path through a regular file cannot be a directory, even for root.
        try expectFailure(["run", "--model", "none", "-i", input, "-o", "\(input)/out.mp4"], code: 5, mentions: "out.mp4")
        if getuid() != 0 {
            let ro = try Harness.scratch("readonly")
            chmod(ro.path, 0o555)
            defer { chmod(ro.path, 0o755) }
            try expectFailure(["run", "--model", "none", "-i", input, "-o", ro.appendingPathComponent("o.mp4").path], code: 5, mentions: "o.mp4")
        }
    }

    func testUnknownOutputExtension() throws {
        let input = try Harness.requireSample("carphone_pristine.mp4")
        let o = try Harness.scratch("ext").appendingPathComponent("out.xyz").path
        try expectFailure(["run", "--model", "none", "-i", input, "-o", o], code: 5, mentions: "out.xyz")
    }

    func testUDPWithNoSenderTimesOut() throws {
        let port = Harness.freePort()
        let start = Date()
        try expectFailure(["run", "--model", "none", "-i", "udp://127.0.0.1:\(port)", "-o", out, "--set", "source.openTimeout=2"],
                          code: 3, mentions: "udp://127.0.0.1:\(port)", timeout: 30)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "the open timeout bounds the wait")
    }

    func testMalformedYAML() throws {
        let f = try Harness.scratch("yaml").appendingPathComponent("broken.yaml")
        try "source:\n  uri: samples/bikes.mp4\n  maxFrames: [1, 2\nsinks:\n  - uri: out.mp4\n".write(to: f, atomically: true, encoding: .utf8)
        try expectFailure(["run", f.path], code: 2, mentions: f.path + ":")
    }

    func testUnknownYAMLKeyNamesFileAndLine() throws {
        let f = try Harness.scratch("yaml2").appendingPathComponent("typo.yaml")
        try "source:\n  uri: samples/bikes.mp4\nsinks:\n  - uri: out.mp4\n    crf: 20\n    presett: fast\n".write(to: f, atomically: true, encoding: .utf8)
        try expectFailure(["run", f.path], code: 2, mentions: f.path + ":6:5: unknown key 'presett'")
    }

    func testMissingPipelineFile() throws {
        try expectFailure(["run", "/nonexistent/p.yaml"], code: 2, mentions: "/nonexistent/p.yaml")
    }

    func testUnknownModel() throws {
        let input = try Harness.requireSample("carphone_pristine.mp4")
        let r = try Harness.vseg(["run", "-i", input, "-o", out, "--model", "/nonexistent/model.tflite"])
        XCTAssertTrue(r.exitedNormally)
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertEqual(r.errorLines.count, 1, r.stderr)
    }
}
