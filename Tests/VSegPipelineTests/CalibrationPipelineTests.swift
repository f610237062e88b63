import Foundation
import XCTest
@testable import VSegPipeline
import VSegCore
import VSegMedia

/// The calibration frame sampler and the table locator.
final class CalibrationPipelineTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func sample(_ name: String) throws -> String {
        let p = Self.root.appendingPathComponent(name).path
        try XCTSkipUnless(FileManager.default.fileExists(atPath: p), "\(p) missing; run scripts/setup")
        return p
    }

    func testSamplerFeedsWhatSegmentationStageFeeds() throws {
        let video = try sample("samples/carphone_pristine.mp4")
        let model = try sample("models/selfie_segmentation.tflite")
        let sampler = try CalibrationFrameSampler(model: model, inputs: [video], every: 7, maxFrames: 3)
        XCTAssertEqual(sampler.inputShape, [1, 256, 256, 3])
        var got: [[Float]] = [], indices: [Int] = []
        var buffer = [Float](repeating: .nan, count: 256 * 256 * 3)
        let n = try buffer.withUnsafeMutableBufferPointer { b in
            try sampler.run(into: { b }) { uri, i in
                XCTAssertEqual(uri, video)
                indices.append(i)
                got.append(Array(b))
            }
        }
        XCTAssertEqual(n, 3)
        XCTAssertEqual(indices, [0, 7, 14])

        // The stage's own preprocessing of the same frames.
        var so = SourceOptions()
        so.pixelFormat = .rgb24
        let src = try openSource(uri: video, options: so)
        defer { src.close() }
        let stage = SegmentationStage(options: SegmentationOptions(name: model, threads: 1))
        try stage.prepare(source: src.info)
        let p = try XCTUnwrap(stage.preprocessor)
        var want: [[Float]] = []
        var index = 0
        while want.count < 3, let f = try src.nextFrame() {
            defer { index += 1; f.buffer.recycle() }
            guard index % 7 == 0 else { continue }
            var out = [Float](repeating: 0, count: p.outputCount)
            try out.withUnsafeMutableBufferPointer { try p.run(f.buffer, output: $0.baseAddress!) }
            want.append(out)
        }
        XCTAssertEqual(got, want, "calibration must see exactly the tensors inference sees")
    }

    func testSamplerErrors() throws {
        let model = try sample("models/selfie_segmentation.tflite")
        XCTAssertThrowsError(try CalibrationFrameSampler(model: model, inputs: [], maxFrames: 1))
        XCTAssertThrowsError(try CalibrationFrameSampler(model: model, inputs: ["/nonexistent.mp4"], maxFrames: 1)) { e in
            XCTAssertEqual((e as? UserFacingError)?.exitCode, .input, "\(e)")
        }
    }

    func testLocatorSearchOrderAndMissingTableCommand() throws {
        let base = NSTemporaryDirectory() + "qtable-locator-\(getpid())"
        let env = base + "/env", local = base + "/local", repo = base + "/repo"
        for d in [env, local, repo + "/calibration", repo + "/.build/release"] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(atPath: base) }
        let exe = repo + "/.build/release/vseg"
        let model = "models/selfie_segmentation.tflite"
        func locate() throws -> String {
            try QuantTableLocator.locate(modelPath: model, model: "selfie", input: "clip.mp4", environment: ["VSEG_CALIBRATION_DIR": env],
                                         localDirectory: local, executablePath: exe)
        }
        XCTAssertThrowsError(try locate()) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("`vseg calibrate --model selfie --input clip.mp4 --out calibration/selfie_segmentation.qtable`"), s)
            XCTAssertTrue(s.contains(env + "/selfie_segmentation.qtable"), s)
            XCTAssertEqual((e as? UserFacingError)?.exitCode, .model)
        }
        for (dir, expected) in [(repo + "/calibration", repo + "/.build/release/../../calibration/selfie_segmentation.qtable"),
                                (local, local + "/selfie_segmentation.qtable"),
                                (env, env + "/selfie_segmentation.qtable")] {
            FileManager.default.createFile(atPath: dir + "/selfie_segmentation.qtable", contents: Data())
            XCTAssertEqual(try locate(), expected, "the last-created, highest-priority directory wins")
        }
        // An explicit path wins, and must exist.
        XCTAssertEqual(try QuantTableLocator.locate(modelPath: model, explicit: local + "/selfie_segmentation.qtable"),
                       local + "/selfie_segmentation.qtable")
        XCTAssertThrowsError(try QuantTableLocator.locate(modelPath: model, explicit: base + "/nope.qtable", model: "selfie")) { e in
            XCTAssertTrue("\(e)".contains("vseg calibrate --model selfie --input"), "\(e)")
        }
        XCTAssertEqual(QuantTableLocator.defaultOutput(modelPath: "/x/y/fcn.v2.onnx"), "calibration/fcn.v2.qtable")
    }
}
