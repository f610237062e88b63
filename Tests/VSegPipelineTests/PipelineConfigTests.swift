import Foundation
import XCTest
import VSegCore
import VSegMedia
import VSegPipeline

final class PipelineConfigTests: XCTestCase {
    private func load(_ yaml: String, _ overrides: [String] = []) throws -> PipelineConfig {
        try PipelineLoader.load(yaml: yaml, file: "p.yaml", overrides: overrides)
    }

    /// Runs `body`, expecting a PipelineError.config; returns its one-line description.
    private func configError(_ body: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
            return ""
        } catch let e as PipelineError {
            XCTAssertEqual(e.exitCode, .usage, file: file, line: line)
            XCTAssertFalse(e.description.contains("\n"), "errors are one line", file: file, line: line)
            return e.description
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
            return ""
        }
    }

    func testDecodesAFullPipeline() throws {
        let c = try load("""
        source:
          uri: samples/bikes.mp4
          maxFrames: 100
          start: 1.5
          pixelFormat: rgb24
        model: none
        sinks:
          - uri: out/a.mp4
            preset: ultrafast
            crf: 30
          - uri: out/frames/
        runner:
          queue: 8
        """)
        XCTAssertEqual(c.source.uri, "samples/bikes.mp4")
        XCTAssertEqual(c.source.options.maxFrames, 100)
        XCTAssertEqual(c.source.options.start, 1.5)
        XCTAssertTrue(c.model.isNone)
        XCTAssertEqual(c.sinks.map(\.uri), ["out/a.mp4", "out/frames/"])
        XCTAssertEqual(c.sinks[0].options.preset, "ultrafast")
        XCTAssertEqual(c.sinks[0].options.crf, 30)
        XCTAssertEqual(c.sinks[1].options.crf, 23, "unset keys keep SinkOptions defaults")
        XCTAssertEqual(c.runner.queue, 8)
    }

    func testModelAsBlock() throws {
        let c = try load("source: {uri: a.mp4}\nmodel:\n  name: selfie_segmentation\n  threads: 2\nsinks: [{uri: b.mp4}]\n")
        XCTAssertEqual(c.model, SegmentationOptions(name: "selfie_segmentation", threads: 2))
        XCTAssertFalse(c.model.isNone)
    }

    func testOverlayBlockDecodesToOverlayOptions() throws {
        let c = try load("source: {uri: a.mp4}\nmodel: selfie\noverlay:\n  alpha: 0.25\n  color: [255, 0, 0]\nsinks: [{uri: b.mp4}]\n")
        XCTAssertEqual(c.model.name, "selfie")
        XCTAssertEqual(c.overlay?.alpha, 0.25)
        XCTAssertEqual(c.overlay?.color, [255, 0, 0])
        let msg = configError { try self.load("source: {uri: a.mp4}\noverlay:\n  colour: [1, 2, 3]\n") }
        XCTAssertTrue(msg.hasPrefix("p.yaml:3:3: unknown key 'colour' in 'overlay'"), msg)
        let msg2 = configError { try self.load("source: {uri: a.mp4}\noverlay:\n  color: [1, 2, 300]\n") }
        XCTAssertTrue(msg2.hasPrefix("p.yaml:3:17: overlay.color.2: expected an integer 0...255"), msg2)
    }

    func testUnknownKeyNamesFileLineAndKnownKeys() {
        let msg = configError { try self.load("source:\n  uri: a.mp4\nsinks:\n  - uri: b.mp4\n    crff: 20\n") }
        XCTAssertTrue(msg.hasPrefix("p.yaml:5:5: unknown key 'crff' in 'sinks.0'"), msg)
        XCTAssertTrue(msg.contains("crf"), "lists the known keys: \(msg)")
    }

    func testUnknownTopLevelKey() {
        let msg = configError { try self.load("source: {uri: a.mp4}\nsinkz: []\n") }
        XCTAssertTrue(msg.hasPrefix("p.yaml:2:1: unknown key 'sinkz' at the top level"), msg)
    }

    func testWrongTypeNamesTheValueLine() {
        let msg = configError { try self.load("source:\n  uri: a.mp4\n  maxFrames: lots\nsinks: [{uri: b.mp4}]\n") }
        XCTAssertTrue(msg.hasPrefix("p.yaml:3:14: source.maxFrames: expected an integer, got 'lots'"), msg)
    }

    func testFractionIsNotAnInteger() {
        let msg = configError { try self.load("source: {uri: a.mp4, maxFrames: 1.5}\n") }
        XCTAssertTrue(msg.contains("p.yaml:1:"), msg)
        XCTAssertTrue(msg.contains("expected an integer"), msg)
    }

    func testBadEnumValueNamesTheLine() {
        let msg = configError { try self.load("source:\n  uri: a.mp4\n  pixelFormat: rgb99\n") }
        XCTAssertTrue(msg.hasPrefix("p.yaml:3:16: source.pixelFormat"), msg)
        XCTAssertTrue(msg.contains("rgb99"), msg)
    }

    func testListWhereMappingExpected() {
        let msg = configError { try self.load("source: [a, b]\n") }
        XCTAssertTrue(msg.hasPrefix("p.yaml:1:9: source: expected a mapping"), msg)
    }

    func testMalformedYAMLNamesTheLine() {
        let msg = configError { try self.load("source:\n  uri: a.mp4\n  bad: [unclosed\nsinks: []\n") }
        XCTAssertTrue(msg.hasPrefix("p.yaml:"), msg)
        XCTAssertTrue(msg.contains("malformed YAML"), msg)
        let lineNo = Int(msg.split(separator: ":")[1]) ?? 0
        XCTAssertGreaterThanOrEqual(lineNo, 3, msg)
    }

    func testTopLevelMustBeAMapping() {
        let msg = configError { try self.load("- just\n- a list\n") }
        XCTAssertTrue(msg.hasPrefix("p.yaml:1:1:"), msg)
    }

    func testOverridesSetNestedKeysAndListItems() throws {
        let c = try load("source: {uri: a.mp4}\nsinks:\n  - uri: b.mp4\n",
                         ["sinks.0.crf=18", "source.maxFrames=5", "sinks.1.uri=c.y4m", "model=selfie_segmentation", "source.uri=x y.mp4"])
        XCTAssertEqual(c.sinks[0].options.crf, 18)
        XCTAssertEqual(c.sinks.map(\.uri), ["b.mp4", "c.y4m"])
        XCTAssertEqual(c.source.options.maxFrames, 5)
        XCTAssertEqual(c.source.uri, "x y.mp4")
        XCTAssertEqual(c.model.name, "selfie_segmentation")
    }

    func testOverrideWithUnknownKeyNamesTheOverride() {
        let msg = configError { try self.load("source: {uri: a.mp4}\n", ["source.bogus=1"]) }
        XCTAssertTrue(msg.hasPrefix("--set source.bogus=1: unknown key 'bogus' in 'source'"), msg)
    }

    func testOverrideWithWrongTypeNamesTheOverride() {
        let msg = configError { try self.load("source: {uri: a.mp4}\nsinks: [{uri: b.mp4}]\n", ["sinks.0.crf=high"]) }
        XCTAssertTrue(msg.hasPrefix("--set sinks.0.crf=high: sinks.0.crf: expected an integer"), msg)
    }

    func testMalformedOverride() {
        let msg = configError { try self.load("source: {uri: a.mp4}\n", ["source.maxFrames"]) }
        XCTAssertTrue(msg.contains("missing '='"), msg)
        let msg2 = configError { try self.load("source: {uri: a.mp4}\n", ["source.uri.deeper=1"]) }
        XCTAssertTrue(msg2.contains("inside the plain value"), msg2)
    }

    func testMissingFileIsAConfigError() {
        let msg = configError { try PipelineLoader.load(path: "/nonexistent/p.yaml") }
        XCTAssertTrue(msg.hasPrefix("/nonexistent/p.yaml: cannot read pipeline"), msg)
    }

    func testShippedPipelinesDecode() throws {
        // Tests run from the package root (swift test) — find pipelines/ from this file as a fallback.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("pipelines")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertTrue(files.contains("transcode.yaml") && files.contains("udp-live.yaml") && files.contains("camera.yaml"), "\(files)")
        for f in files {
            let c = try PipelineLoader.load(path: dir.appendingPathComponent(f).path)
            XCTAssertFalse(c.source.uri.isEmpty, f)
            XCTAssertFalse(c.sinks.isEmpty, f)
        }
    }
}
