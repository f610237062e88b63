import Foundation
import XCTest
@testable import VSegMedia
import VSegCore

/// Paths and helpers shared by the media tests.
enum Fixtures {
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static func sample(_ name: String) -> String { repoRoot + "/samples/" + name }

    /// A fresh scratch directory under /tmp, removed by the caller's tearDown.
    static func tempDir(_ tag: String) -> String {
        let dir = NSTemporaryDirectory() + "vseg-media-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static var hasFFmpegCLI: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg") }

    /// Runs a command, returning (status, stdout).
    @discardableResult
    static func run(_ args: [String], stdin: FileHandle? = nil) throws -> (Int32, Data) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, data)
    }

    /// ffprobe's per-frame pts_time list of the first video stream.
    static func ffprobeFrameTimes(_ path: String) throws -> [Double] {
        let (_, data) = try run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
                                 "-of", "csv=p=0", path])
        return String(decoding: data, as: UTF8.self).split(separator: "\n")
            .compactMap { line in line.split(separator: ",").first.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) } }
    }

    static func ffprobeValue(_ path: String, _ entry: String, stream: String = "v:0") throws -> String {
        let (_, data) = try run(["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries", entry,
                                 "-of", "default=nw=1:nk=1", path])
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Reads every frame of a source.
    static func drain(_ source: FrameSource) throws -> [Frame] {
        var frames: [Frame] = []
        while let f = try source.nextFrame() { frames.append(f) }
        return frames
    }
}

func XCTAssertThrowsMediaError(_ expr: @autoclosure () throws -> Any, _ check: (MediaError) -> Bool,
                               file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try expr()
        XCTFail("expected a MediaError", file: file, line: line)
    } catch let e as MediaError {
        XCTAssertTrue(check(e), "unexpected error: \(e)", file: file, line: line)
        XCTAssertFalse(e.description.contains("\n"), "error must be one line", file: file, line: line)
    } catch {
        XCTFail("expected a MediaError, got \(error)", file: file, line: line)
    }
}
