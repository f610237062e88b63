import Foundation
import XCTest

/// Help text, usage errors and exit codes of the built binary.
final class CLIHelpTests: XCTestCase {
    func testRootHelpListsCommandsAndExitCodes() throws {
        let r = try Harness.vseg(["--help"])
        XCTAssertEqual(r.status, 0)
        let help = String(decoding: r.stdout, as: UTF8.self)
        for s in ["USAGE: vseg <subcommand>", "run", "probe", "EXIT CODES", "130", "--model none"] {
            XCTAssertTrue(help.contains(s), "vseg --help lacks '\(s)':\n\(help)")
        }
        for (code, words) in [("0", "success"), ("2", "bad command line"), ("3", "input"), ("4", "model"), ("5", "output")] {
            XCTAssertNotNil(help.range(of: #"\n\s+"# + code + #"\s+[^\n]*"# + words, options: .regularExpression), "exit code \(code) undocumented")
        }
    }

    func testRunHelpDocumentsEveryOption() throws {
        let r = try Harness.vseg(["run", "--help"])
        XCTAssertEqual(r.status, 0)
        let help = String(decoding: r.stdout, as: UTF8.self)
        for s in ["--input", "--output", "--model", "--frames", "--start", "--duration", "--preset", "--crf", "--set", "--quiet", "--stats", "<pipeline.yaml>", "Ctrl-C"] {
            XCTAssertTrue(help.contains(s), "vseg run --help lacks '\(s)'")
        }
        let sub = try Harness.vseg(["help", "run"])
        XCTAssertEqual(String(decoding: sub.stdout, as: UTF8.self), help, "`vseg help run` and `vseg run --help` agree")
    }

    func testProbeHelp() throws {
        let r = try Harness.vseg(["probe", "--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(String(decoding: r.stdout, as: UTF8.self).contains("/dev/video"))
    }

    func testUsageErrorsAreOneLineWithExitCode2() throws {
        let cases: [([String], String)] = [
            (["run"], "--input is required"),
            (["run", "--input", "x.mp4"], "--output is required"),
            (["run", "-i", "x.mp4", "-o", "y.mp4", "--crf", "99"], "--crf must be 0...51"),
            (["run", "-i", "x.mp4", "-o", "y.mp4", "--preset", "warp"], "--preset must be one of"),
            (["run", "-i", "x.mp4", "-o", "y.mp4", "--frames", "0"], "--frames must be a positive"),
            (["run", "-i", "x.mp4", "-o", "y.mp4", "--set", "nonsense"], "expected key.path=value"),
            (["run", "-i", "x.mp4", "-o", "y.mp4", "--bogus"], "Unknown option '--bogus'"),
            (["frobnicate"], "Unexpected argument 'frobnicate'"),
        ]
        for (args, text) in cases {
            let r = try Harness.vseg(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderrLines.count, 1, "\(args): one line expected, got:\n\(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("vseg: ") && r.stderr.contains(text), "\(args): \(r.stderr)")
        }
    }

    func testVersion() throws {
        let r = try Harness.vseg(["--version"])
        XCTAssertEqual(r.status, 0)
        XCTAssertFalse(r.stdout.isEmpty)
    }
}
