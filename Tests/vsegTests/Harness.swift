import Foundation
import XCTest

/// Runs the built `vseg` binary and the ffmpeg/ffprobe CLIs for end-to-end tests.
/// The binary is looked up next to the test bundle (`.build/<config>/vseg`), so
/// build the product before testing (`swift build -c release` then `swift test -c release`).
enum Harness {
    /// The package root (this file is Tests/vsegTests/Harness.swift).
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func sample(_ name: String) -> String { root.appendingPathComponent("samples/\(name)").path }

    /// The vseg executable, or nil when it has not been built.
    static let binary: String? = {
        if let env = ProcessInfo.processInfo.environment["VSEG_BIN"] { return env }
        var dirs: [URL] = [Bundle.main.bundleURL.deletingLastPathComponent(),
                           URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for b in Bundle.allBundles where b.bundlePath.hasSuffix(".xctest") { dirs.append(b.bundleURL.deletingLastPathComponent()) }
        dirs.append(root.appendingPathComponent(".build/release"))
        for d in dirs {
            var p = d.appendingPathComponent("vseg").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
            // The .xctest bundle directory itself (macOS layout).
            p = d.deletingLastPathComponent().appendingPathComponent("vseg").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }()

    static func requireBinary(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard let b = binary else {
            XCTFail("vseg binary not found next to the test bundle; run `swift build -c release` before `swift test -c release` (or set VSEG_BIN)", file: file, line: line)
            throw XCTSkip("no vseg binary")
        }
        return b
    }

    static func requireSample(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let p = sample(name)
        guard FileManager.default.fileExists(atPath: p) else {
            XCTFail("\(p) missing; run scripts/setup", file: file, line: line)
            throw XCTSkip("no sample")
        }
        return p
    }

    struct Result {
        var status: Int32
        /// False when the process died from a signal (a crash) or had to be killed.
        var exitedNormally: Bool
        var timedOut: Bool
        var stdout: Data
        var stderr: String
        var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
        /// Lines vseg prints for errors.
        var errorLines: [String] { stderrLines.filter { $0.hasPrefix("vseg: ") } }
        /// The one-line run summary ("done: ...", "interrupted: ...", "failed: ...").
        var summary: String? {
            stderrLines.last { $0.hasPrefix("done: ") || $0.hasPrefix("interrupted: ") || $0.hasPrefix("failed: ") }
        }
        /// "N written" from the summary.
        var written: Int? {
            guard let s = summary, let r = s.range(of: #"(\d+) written"#, options: .regularExpression) else { return nil }
            return Int(s[r].split(separator: " ")[0])
        }
        /// The value before `suffix` in the summary, e.g. "fps" or "frames in".
        func summaryNumber(before suffix: String) -> Double? {
            guard let s = summary, let r = s.range(of: #"([0-9.]+) "# + suffix, options: .regularExpression) else { return nil }
            return Double(s[r].split(separator: " ")[0])
        }
        func latency(_ p: String) -> Double? {
            guard let s = summary, let r = s.range(of: p + #" ([0-9.]+) ms"#, options: .regularExpression) else { return nil }
            return Double(s[r].split(separator: " ")[1])
        }
    }

    /// A started process with its output collected on background threads.
    final class Running {
        let process = Process()
        private var out = Data(), err = Data()
        private let group = DispatchGroup()
        private let lock = NSLock()

        init(_ exe: String, _ args: [String], stdin: Bool = false) throws {
            process.executableURL = URL(fileURLWithPath: exe)
            process.arguments = args
            process.currentDirectoryURL = Harness.root
            let o = Pipe(), e = Pipe()
            process.standardOutput = o
            process.standardError = e
            process.standardInput = stdin ? Pipe() : FileHandle.nullDevice
            try process.run()
            for (pipe, isOut) in [(o, true), (e, false)] {
                group.enter()
                DispatchQueue.global().async {
                    let d = pipe.fileHandleForReading.readDataToEndOfFile()
                    self.lock.lock()
                    if isOut { self.out = d } else { self.err = d }
                    self.lock.unlock()
                    self.group.leave()
                }
            }
        }

        func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

        /// Waits up to `timeout` seconds; kills the process after that.
        func wait(timeout: Double) -> Result {
            let deadline = Date().addingTimeInterval(timeout)
            var timedOut = false
            while process.isRunning {
                if Date() > deadline { timedOut = true; kill(process.processIdentifier, SIGKILL); break }
                usleep(20_000)
            }
            process.waitUntilExit()
            group.wait()
            lock.lock(); defer { lock.unlock() }
            return Result(status: process.terminationStatus,
                          exitedNormally: process.terminationReason == .exit && !timedOut,
                          timedOut: timedOut, stdout: out, stderr: String(decoding: err, as: UTF8.self))
        }
    }

    @discardableResult
    static func vseg(_ args: [String], timeout: Double = 120) throws -> Result {
        try Running(try requireBinary(), args).wait(timeout: timeout)
    }

    static func tool(_ name: String, _ args: [String], timeout: Double = 120) throws -> Result {
        try Running("/usr/bin/env", [name] + args).wait(timeout: timeout)
    }

    /// Decoded video frames of `path` as raw bytes in `pixFmt`, through the ffmpeg CLI.
    static func decode(_ path: String, pixFmt: String, extraInput: [String] = []) throws -> Data {
        let r = try tool("ffmpeg", ["-v", "error", "-nostdin"] + extraInput + ["-i", path, "-f", "rawvideo", "-pix_fmt", pixFmt, "-"])
        XCTAssertEqual(r.status, 0, "ffmpeg could not decode \(path): \(r.stderr)")
        return r.stdout
    }

    struct StreamInfo { var codec: String; var frames: Int; var duration: Double; var width: Int; var height: Int; var pts: [Double] }

    /// Video stream facts from ffprobe, counting frames by decoding.
    static func probe(_ path: String) throws -> StreamInfo {
        let r = try tool("ffprobe", ["-v", "error", "-select_streams", "v:0", "-count_frames",
                                     "-show_entries", "stream=codec_name,nb_read_frames,width,height:format=duration",
                                     "-of", "default=noprint_wrappers=1", path])
        XCTAssertEqual(r.status, 0, "ffprobe failed on \(path): \(r.stderr)")
        var kv: [String: String] = [:]
        for line in String(decoding: r.stdout, as: UTF8.self).split(separator: "\n") {
            let p = line.split(separator: "=", maxSplits: 1)
            if p.count == 2 { kv[String(p[0])] = String(p[1]) }
        }
        let t = try tool("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
                                     "-of", "csv=p=0", path])
        let pts = String(decoding: t.stdout, as: UTF8.self).split(separator: "\n").compactMap { Double($0.trimmingCharacters(in: .init(charactersIn: ", "))) }
        return StreamInfo(codec: kv["codec_name"] ?? "?", frames: Int(kv["nb_read_frames"] ?? "") ?? -1,
                          duration: Double(kv["duration"] ?? "") ?? -1, width: Int(kv["width"] ?? "") ?? -1,
                          height: Int(kv["height"] ?? "") ?? -1, pts: pts)
    }

    /// A fresh scratch directory for one test.
    static func scratch(_ name: String) throws -> URL {
        let d = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("vseg-tests-\(getpid())/\(name)")
        try? FileManager.default.removeItem(at: d)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// A UDP port unlikely to collide with other test runs.
    static func freePort() -> Int { 20_000 + Int(getpid() % 2000) * 10 + Int.random(in: 0..<10) }
}
