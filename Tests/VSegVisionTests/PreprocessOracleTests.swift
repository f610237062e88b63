import Foundation
import XCTest
import VSegCore
import VSegVision

/// vseg's Preprocessor on the decoded sample frames against the NumPy twin
/// (scripts/oracle/preprocess.py) that made the MediaPipe fixtures' input
/// tensors: the tensors the engine is checked on are the ones vseg itself
/// would feed the model.
final class PreprocessOracleTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let fixtures = root + "/.fixtures/mediapipe"

    func testPreprocessorMatchesFixtureInputs() throws {
        guard FileManager.default.fileExists(atPath: Self.fixtures + "/.stamp") else {
            XCTFail("\(Self.fixtures) missing: run scripts/fixtures/mediapipe.sh")
            return
        }
        var checked = 0
        for d in BuiltinModels.all {
            let modelDir = Self.fixtures + "/" + d.name
            let cases = try FileManager.default.contentsOfDirectory(atPath: modelDir).sorted()
            for c in cases where FileManager.default.fileExists(atPath: "\(modelDir)/\(c)/frame.npy") {
                let frame = try NPY.read(path: "\(modelDir)/\(c)/frame.npy")
                let expected = try NPY.read(path: "\(modelDir)/\(c)/input.npy")
                guard case .uint8(let pixels) = frame.storage, frame.shape.count == 3 else { return XCTFail("frame.npy is not uint8 HxWx3") }
                let (h, w) = (frame.shape[0], frame.shape[1])
                let p = try Preprocessor(sourceWidth: w, sourceHeight: h, modelWidth: d.input.width!, modelHeight: d.input.height!,
                                         input: d.input, model: d.name)
                XCTAssertEqual(expected.shape, [1, d.input.height!, d.input.width!, 3])
                var out = [Float](repeating: .nan, count: p.outputCount)
                pixels.withUnsafeBufferPointer { src in
                    out.withUnsafeMutableBufferPointer { p.run(source: src.baseAddress!, rowBytes: w * 3, output: $0.baseAddress!) }
                }
                let ref = expected.floats
                var worst: Float = 0
                for i in ref.indices { worst = max(worst, abs(out[i] - ref[i])) }
                XCTAssertLessThanOrEqual(worst, 2e-5, "\(d.name)/\(c)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 12, "expected 3 real frames for each of the 4 models")
    }
}
