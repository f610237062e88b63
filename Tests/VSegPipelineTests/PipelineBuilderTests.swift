import Foundation
import XCTest
import VSegCore
import VSegMedia
import VSegPipeline

final class PipelineBuilderTests: XCTestCase {
    private func config(_ sinks: [String], pixelFormat explicit: PixelFormat? = nil) -> PipelineConfig {
        var src = SourceConfig(uri: "fake://")
        if let f = explicit { src.options.pixelFormat = f; src.pixelFormatIsExplicit = true }
        return PipelineConfig(source: src, sinks: sinks.map { SinkConfig(uri: $0) })
    }

    func testTranscodeKeepsNativeYUVAndStagesGetTheirFormat() throws {
        var asked: [PixelFormat] = []
        var builder = PipelineBuilder(openSource: { c in asked.append(c.options.pixelFormat); return FakeSource(count: 1, live: false) },
                                      makeStages: { _ in [] },
                                      openSink: { c, _, _ in FakeSink(c.uri) })
        _ = try builder.build(config(["a.mp4"]))
        builder.makeStages = { _ in [FakeStage()] }
        _ = try builder.build(config(["a.mp4"]))
        builder.makeStages = { _ in [] }
        _ = try builder.build(config(["a.mp4"], pixelFormat: .bgr24))
        // No stages: decoder-native 4:2:0; a stage with no preference: RGB24; an explicit choice always wins.
        XCTAssertEqual(asked, [.yuv420p, .rgb24, .bgr24])
    }

    func testOnlyTheFirstEncodedSinkGetsTheAudioSource() throws {
        var audio: [String: Bool] = [:]
        let builder = PipelineBuilder(openSource: { _ in FakeSource(count: 1, live: false) },
                                      makeStages: { _ in [] },
                                      openSink: { c, _, from in audio[c.uri] = from != nil; return FakeSink(c.uri) })
        let built = try builder.build(config(["f.y4m", "a.mp4", "b.mkv"]))
        XCTAssertEqual(built.sinks.map(\.destination), ["f.y4m", "a.mp4", "b.mkv"])
        XCTAssertEqual(audio, ["f.y4m": false, "a.mp4": true, "b.mkv": false])
    }

    func testSinkFailureClosesSourceAndFinalizesOpenedSinks() {
        let source = FakeSource(count: 1, live: false)
        let first = FakeSink("a.mp4")
        let builder = PipelineBuilder(openSource: { _ in source }, makeStages: { _ in [] },
                                      openSink: { c, _, _ in
                                          if c.uri == "bad.xyz" { throw MediaError.unknownOutputExtension(path: c.uri) }
                                          return first })
        XCTAssertThrowsError(try builder.build(config(["a.mp4", "bad.xyz"]))) { e in
            XCTAssertEqual((e as? MediaError)?.exitCode, .output)
        }
        XCTAssertTrue(source.closed)
        XCTAssertEqual(first.finishCount, 1)
    }

    func testMissingInputOrOutputIsAUsageError() {
        let builder = PipelineBuilder(openSource: { _ in XCTFail("must not open"); return FakeSource(count: 0, live: false) })
        for c in [PipelineConfig(source: SourceConfig(uri: ""), sinks: [SinkConfig(uri: "a.mp4")]),
                  PipelineConfig(source: SourceConfig(uri: "a.mp4"), sinks: [])] {
            XCTAssertThrowsError(try builder.build(c)) { e in
                XCTAssertEqual((e as? PipelineError)?.exitCode, .usage, "\(e)")
            }
        }
    }

    func testModelNoneBuildsNoStagesAndAModelBuildsSegmentationThenOverlay() throws {
        var c = config(["a.mp4"])
        XCTAssertTrue(try PipelineBuilder.defaultStages(c).isEmpty)
        c.model = SegmentationOptions(name: "selfie")
        XCTAssertEqual(try PipelineBuilder.defaultStages(c).map(\.name), ["segmentation", "overlay"])
    }
}
