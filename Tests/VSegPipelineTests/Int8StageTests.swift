import Foundation
import XCTest
@testable import VSegPipeline
import VSegCore
import VSegMedia

/// `SegmentationStage` with `precision: int8`: the YAML keys, the INT8 session
/// built from the committed selfie table, its agreement with FP32, the errors
/// for missing and foreign tables, and a steady state without heap growth.
final class Int8StageTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func file(_ name: String) throws -> String {
        let p = Self.root.appendingPathComponent(name).path
        try XCTSkipUnless(FileManager.default.fileExists(atPath: p), "\(p) missing; run scripts/setup")
        return p
    }

    var selfieTable: String { Self.root.appendingPathComponent("calibration/selfie_segmentation.qtable").path }

    /// The first `n` frames of `video` in rgb24, and the source's info.
    func frames(_ video: String, _ n: Int) throws -> (SourceInfo, [Frame]) {
        var so = SourceOptions()
        so.pixelFormat = .rgb24
        let src = try openSource(uri: video, options: so)
        defer { src.close() }
        var out: [Frame] = []
        while out.count < n, let f = try src.nextFrame() { out.append(f) }
        XCTAssertEqual(out.count, n)
        return (src.info, out)
    }

    func probability(_ stage: SegmentationStage, _ frame: Frame) throws -> [Float] {
        var p = Packet(frame: frame)
        try stage.process(&p)
        return try XCTUnwrap(p.segmentation).sourceProbability
    }

    // MARK: - YAML

    func testYAMLDecodesPrecisionAndTable() throws {
        let c = try PipelineLoader.load(yaml: """
        model:
          name: selfie
          precision: int8
          qtable: calibration/other.qtable
        """, file: "p.yaml")
        XCTAssertEqual(c.model.precision, .int8)
        XCTAssertEqual(c.model.qtable, "calibration/other.qtable")

        let plain = try PipelineLoader.load(yaml: "model: selfie\n", file: "p.yaml")
        XCTAssertEqual(plain.model.precision, .fp32, "fp32 is the default")
        XCTAssertNil(plain.model.qtable)

        let set = try PipelineLoader.load(yaml: "model:\n  name: selfie\n", file: "p.yaml", overrides: ["model.precision=int8"])
        XCTAssertEqual(set.model.precision, .int8)
    }

    func testYAMLRejectsBadPrecisionWithPosition() throws {
        let yaml = """
        source:
          uri: a.mp4
        model:
          name: selfie
          precision: int4
        """
        XCTAssertThrowsError(try PipelineLoader.load(yaml: yaml, file: "p.yaml")) { e in
            guard let pe = e as? PipelineError else { return XCTFail("\(e)") }
            XCTAssertEqual(pe.exitCode, .usage)
            let msg = pe.description
            XCTAssertTrue(msg.contains("p.yaml:5:"), msg)
            XCTAssertTrue(msg.contains("model.precision"), msg)
            XCTAssertTrue(msg.contains("'int4'"), msg)
            XCTAssertTrue(msg.contains("fp32|int8"), msg)
            XCTAssertFalse(msg.contains("\n"), msg)
        }
        XCTAssertThrowsError(try PipelineLoader.load(yaml: "model:\n  name: selfie\n  qtable: [a, b]\n", file: "q.yaml")) { e in
            XCTAssertTrue("\(e)".contains("q.yaml:3:"), "\(e)")
        }
        XCTAssertThrowsError(try PipelineLoader.load(yaml: "model:\n  name: selfie\n  precison: int8\n", file: "r.yaml")) { e in
            let msg = (e as? PipelineError)?.description ?? "\(e)"
            XCTAssertTrue(msg.contains("r.yaml:3:"), msg)
            XCTAssertTrue(msg.contains("precision") && msg.contains("qtable"), "lists the known keys: \(msg)")
        }
    }

    // MARK: - INT8 session

    func testInt8StageAgreesWithFP32OnSample() throws {
        let video = try file("samples/carphone_pristine.mp4")
        _ = try file("models/selfie_segmentation.tflite")
        let (info, fs) = try frames(video, 4)
        let fp32 = SegmentationStage(options: SegmentationOptions(name: "selfie", threads: 1))
        let int8 = SegmentationStage(options: SegmentationOptions(name: "selfie", threads: 1, precision: .int8, qtable: selfieTable))
        try fp32.prepare(source: info)
        try int8.prepare(source: info)
        XCTAssertNil(fp32.quantTablePath)
        XCTAssertNil(fp32.session?.quantizationReport)
        XCTAssertEqual(int8.quantTablePath, selfieTable)
        let q = try XCTUnwrap(int8.session?.quantizationReport)
        XCTAssertGreaterThan(q.int8Nodes, 0)
        XCTAssertGreaterThan(q.quantizeNodes, 0)

        var sum = 0.0, count = 0, maxDiff: Float = 0, identical = true
        for f in fs {
            let a = try probability(fp32, f), b = try probability(int8, f)
            XCTAssertEqual(a.count, info.width * info.height)
            XCTAssertEqual(b.count, a.count)
            for i in a.indices {
                let d = abs(a[i] - b[i])
                sum += Double(d); maxDiff = max(maxDiff, d)
                if d != 0 { identical = false }
                XCTAssertTrue(b[i] >= 0 && b[i] <= 1, "probability \(b[i]) at \(i)")
            }
            count += a.count
        }
        let mean = sum / Double(count)
        XCTAssertLessThan(mean, 0.05, "INT8 mean abs probability difference (max \(maxDiff))")
        XCTAssertFalse(identical, "an INT8 session that matches FP32 bit for bit did not quantize anything")
        for f in fs { f.buffer.recycle() }
    }

    func testDefaultTableIsFoundForBuiltinName() throws {
        let video = try file("samples/carphone_pristine.mp4")
        _ = try file("calibration/selfie_segmentation.qtable")
        let (info, fs) = try frames(video, 1)
        defer { fs.forEach { $0.buffer.recycle() } }
        let stage = SegmentationStage(options: SegmentationOptions(name: "selfie", threads: 1, precision: .int8))
        try stage.prepare(source: info)
        let path = try XCTUnwrap(stage.quantTablePath)
        XCTAssertTrue(path.hasSuffix("calibration/selfie_segmentation.qtable"), path)
    }

    func testMissingAndForeignTablesFailWithTheCalibrateCommand() throws {
        let video = try file("samples/carphone_pristine.mp4")
        _ = try file("models/selfie_segmentation_landscape.tflite")
        let (info, fs) = try frames(video, 1)
        defer { fs.forEach { $0.buffer.recycle() } }

        let missing = SegmentationStage(options: SegmentationOptions(name: "selfie", precision: .int8, qtable: "/nonexistent/selfie.qtable"))
        XCTAssertThrowsError(try missing.prepare(source: info)) { e in
            let u = e as? UserFacingError
            XCTAssertEqual(u?.exitCode, .model, "\(e)")
            let msg = u?.description ?? ""
            XCTAssertTrue(msg.contains("vseg calibrate --model selfie --input \(info.uri) --out /nonexistent/selfie.qtable"), msg)
        }

        // The landscape model with the (portrait) selfie table: the sha256 check refuses it.
        let foreign = SegmentationStage(options: SegmentationOptions(name: "selfie_landscape", precision: .int8, qtable: selfieTable))
        XCTAssertThrowsError(try foreign.prepare(source: info)) { e in
            let u = e as? UserFacingError
            XCTAssertEqual(u?.exitCode, .model, "\(e)")
            let msg = u?.description ?? ""
            XCTAssertTrue(msg.contains("calibrated for another model file"), msg)
            XCTAssertTrue(msg.contains("vseg calibrate"), msg)
        }

        let fp32WithTable = SegmentationStage(options: SegmentationOptions(name: "selfie", qtable: selfieTable))
        XCTAssertThrowsError(try fp32WithTable.prepare(source: info)) { e in
            XCTAssertEqual((e as? PipelineError)?.exitCode, .usage, "\(e)")
        }
    }

    // MARK: - Allocation

    struct MallInfo2 { var arena = 0, ordblks = 0, smblks = 0, hblks = 0, hblkhd = 0, usmblks = 0, fsmblks = 0, uordblks = 0, fordblks = 0, keepcost = 0 }

    func bytesInUse() throws -> Int {
        #if arch(x86_64) && os(Linux)
        guard let sym = dlsym(nil, "mallinfo2") else { throw XCTSkip("mallinfo2 not available") }
        // A 10-word struct comes back through a hidden pointer in the first argument register (SysV x86-64).
        typealias Fn = @convention(c) (UnsafeMutableRawPointer) -> UnsafeMutableRawPointer?
        var info = MallInfo2()
        withUnsafeMutableBytes(of: &info) { _ = unsafeBitCast(sym, to: Fn.self)($0.baseAddress!) }
        return info.uordblks + info.hblkhd
        #else
        throw XCTSkip("malloc statistics are read on x86-64 Linux only")
        #endif
    }

    /// Preprocess, INT8 session and decode into a pooled result keep no heap
    /// memory once warm (same method as the vision module's frame-path test).
    func testInt8StageSteadyStateKeepsNoMemory() throws {
        let video = try file("samples/carphone_pristine.mp4")
        let (info, fs) = try frames(video, 1)
        defer { fs.forEach { $0.buffer.recycle() } }
        let stage = SegmentationStage(options: SegmentationOptions(name: "selfie", threads: 1, smoothing: 0.3, precision: .int8,
                                                                   qtable: selfieTable))
        try stage.prepare(source: info)
        var packet = Packet(frame: fs[0])
        func oneFrame() throws {
            packet.segmentation = nil
            try stage.process(&packet)
        }
        for _ in 0..<5 { try oneFrame() }
        var deltas: [Int] = []
        for _ in 0..<5 {
            let before = try bytesInUse()
            for _ in 0..<20 { try oneFrame() }
            deltas.append(try bytesInUse() - before)
            if deltas.last == 0 { break }
        }
        XCTAssertEqual(deltas.last, 0, "bytes in use moved in every 20-frame window: \(deltas)")
    }
}
