import Foundation
import VSegCore
import VSegEngine
import XCTest

/// Damaged and hostile files: every one must give an `EngineError` (or, for
/// harmless mutations, a graph), never a crash or a giant allocation.
final class TFLiteHostileInputTests: XCTestCase {
    static let modelNames = ["selfie_segmentation", "selfie_segmentation_landscape", "pose_detection", "pose_landmark_full"]

    /// Loads `data`; returns the error, failing the test if it is not an EngineError.
    @discardableResult
    func load(_ data: [UInt8], _ label: @autoclosure () -> String) -> EngineError? {
        do {
            let g = try TFLiteImporter.load(data: data, path: "hostile.tflite")
            XCTAssertFalse(g.inputs.isEmpty, label())
            return nil
        } catch let e as EngineError {
            XCTAssertFalse(e.description.isEmpty)
            return e
        } catch {
            XCTFail("\(label()): non-engine error \(error)")
            return nil
        }
    }

    func isMalformed(_ e: EngineError?) -> Bool {
        if case .malformedModel? = e { return true }
        return false
    }

    func testWrongMagicAndTinyFiles() throws {
        var data = try TFLiteRealModels.bytes("selfie_segmentation")
        data.replaceSubrange(4..<8, with: Array("ONNX".utf8))
        let e = load(data, "wrong magic")
        XCTAssertTrue(isMalformed(e))
        XCTAssertTrue(e?.description.contains("TFL3") == true, "\(String(describing: e))")
        XCTAssertTrue(e?.description.contains("hostile.tflite") == true)
        for n in 0..<8 { XCTAssertTrue(isMalformed(load(Array(data.prefix(n)), "\(n) bytes"))) }
        XCTAssertTrue(isMalformed(load(Array(repeating: 0, count: 64), "zeros")))
        var header = [UInt8](repeating: 0, count: 64)
        header.replaceSubrange(4..<8, with: Array("TFL3".utf8))
        XCTAssertTrue(isMalformed(load(header, "magic and nothing else")))
    }

    /// MediaPipe files end with a ZIP of associated files (labels) that the
    /// flatbuffer does not reference, so a cut inside that tail may still
    /// load, and must then give the same graph. Every cut in the first 90%
    /// of the file must fail.
    func testTruncatedAtManyLengths() throws {
        for name in Self.modelNames {
            let data = try TFLiteRealModels.bytes(name)
            let full = try TFLiteImporter.load(data: data, path: "full.tflite")
            var lengths = Set(0..<300)
            for i in 0..<150 { lengths.insert(data.count * i / 150) }
            for i in 1...64 { lengths.insert(data.count - i) }
            for n in lengths.sorted() where n < data.count {
                let cut = Array(data.prefix(n))
                if n < data.count * 9 / 10 {
                    XCTAssertNotNil(load(cut, "\(name) cut at \(n)"), "\(name) cut at \(n) loaded")
                } else if let g = try? TFLiteImporter.load(data: cut, path: "cut.tflite") {
                    XCTAssertEqual(g.nodes.count, full.nodes.count, "\(name) cut at \(n)")
                    XCTAssertEqual(g.tensors.count, full.tensors.count, "\(name) cut at \(n)")
                } else {
                    load(cut, "\(name) cut at \(n)")
                }
            }
        }
    }

    func testOffsetsOutOfRange() throws {
        let data = try TFLiteRealModels.bytes("selfie_segmentation")
        func patched(_ at: Int, _ v: UInt32) -> [UInt8] {
            var d = data
            for k in 0..<4 { d[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
            return d
        }
        let root = Int(UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24)
        for (label, bad) in [
            ("root offset past the end", patched(0, 0xFFFF_FFF0)),
            ("root offset at the last byte", patched(0, UInt32(data.count - 1))),
            ("vtable far before the file", patched(root, 0x7FFF_FFFF)),
            ("vtable far after the file", patched(root, 0x8000_0001)),
        ] {
            XCTAssertTrue(isMalformed(load(bad, label)), label)
        }
        // Every uoffset field of the root table pointing outside the file.
        var m = TFLiteTestModel()
        let x = m.tensor("x", [1, 2])
        m.inputs = [x]; m.outputs = [x]
        let good = m.build()
        XCTAssertNil(load(good, "baseline"))
        let rootPos = Int(good[0]) | Int(good[1]) << 8
        for fieldByte in stride(from: rootPos + 4, to: rootPos + 24, by: 4) {
            var d = good
            for k in 0..<4 { d[fieldByte + k] = 0xF0 }
            _ = load(d, "field at \(fieldByte)")
        }
    }

    func testAbsurdDimensions() {
        func model(_ edit: (inout TFLiteTestModel) -> Void) -> [UInt8] {
            var m = TFLiteTestModel()
            edit(&m)
            return m.build()
        }
        // 2^40-element activation.
        let big = model { m in
            let x = m.tensor("x", [1 << 20, 1 << 20]); m.inputs = [x]; m.outputs = [x]
        }
        guard case .invalidShape(let t, _)? = load(big, "2^40 activation") else { return XCTFail() }
        XCTAssertEqual(t, "x")
        // 2^40-element constant with a 4-byte buffer, and overflowing dimensions.
        for shape: [Int32] in [[1 << 20, 1 << 20], [Int32.max, Int32.max, Int32.max, 2], [3, -2]] {
            let data = model { m in
                let x = m.tensor("x", [1]); let c = m.tensor("c", shape, data: [0, 0, 0, 0])
                let y = m.tensor("y", [1])
                m.op(0, [x, c], [y]); m.inputs = [x]; m.outputs = [y]
            }
            guard case .invalidShape? = load(data, "shape \(shape)") else { return XCTFail("\(shape)") }
        }
        // Rank 100.
        let deep = model { m in
            let x = m.tensor("x", Array(repeating: 1, count: 100)); m.inputs = [x]; m.outputs = [x]
        }
        XCTAssertTrue(isMalformed(load(deep, "rank 100")))
        // A 2^29-element dense shape (allowed by ShapeMath) from a 4-byte sparse tensor:
        // refused by the allocation budget before anything is allocated.
        let sparse = model { m in
            let x = m.tensor("x", [1 << 15, 1 << 14])
            let sp = TFLFBNode.table([
                .ref(.ints([0, 1])), nil,
                .ref(.tables([
                    .table([.i8(0), .i32(1 << 15)]),
                    .table([.i8(1), nil, .u8(1), .ref(.table([.ref(.ints([0, 1]))])),
                            .u8(1), .ref(.table([.ref(.ints([0]))]))]),
                ])),
            ])
            let s = m.tensor("s", [1 << 15, 1 << 14], data: tflFloatBytes([1]), sparsity: sp)
            let d = m.tensor("d", [1 << 15, 1 << 14]), y = m.tensor("y", [1 << 15, 1 << 14])
            m.op(124, [s], [d]); m.op(0, [x, d], [y]); m.inputs = [x]; m.outputs = [y]
        }
        let start = Date()
        XCTAssertTrue(isMalformed(load(sparse, "huge sparse")))
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
        // Thousands of tensors sharing one 1 MiB buffer: each decode is charged to the budget.
        let shared = model { m in
            let x = m.tensor("x", [1]); m.inputs = [x]; m.outputs = [x]
            m.buffers.append(.table([.ref(.bytes([UInt8](repeating: 0, count: 1 << 20)))]))
            let buf = UInt32(m.buffers.count - 1)
            for i in 0..<3000 {
                m.tensors.append(.table([.ref(.ints([1 << 18])), .i8(0), .u32(buf), .ref(.string("t\(i)"))]))
            }
        }
        XCTAssertTrue(isMalformed(load(shared, "shared buffer")))
    }

    /// Seeded random byte mutations of each real model (about 12 s of CPU in
    /// release; the pose models cost 3-5 ms per successful load, hence fewer). Two thirds of the
    /// mutations land in the first 8 KiB or the last 128 KiB, where these files
    /// keep their tables; the rest anywhere (mostly weight bytes).
    func testRandomMutationsOfRealModels() throws {
        var rng = TFLiteFuzzRNG(seed: 0x7F1173)
        let perModel = [
            "selfie_segmentation": 2500, "selfie_segmentation_landscape": 2500,
            "pose_detection": 1200, "pose_landmark_full": 1200,
        ]
        var start = Date()
        for name in Self.modelNames {
            let original = try TFLiteRealModels.bytes(name)
            let n = original.count
            var loaded = 0, failed = 0
            for i in 0..<(perModel[name] ?? 1000) / Self.debugDivisor {
                var d = original
                let edits = 1 + Int(rng.next() % 8)
                var log: [Int] = []
                for _ in 0..<edits {
                    let pos: Int
                    switch rng.next() % 3 {
                    case 0: pos = Int(rng.next() % UInt64(min(n, 8192)))
                    case 1: pos = n - 1 - Int(rng.next() % UInt64(min(n, 128 << 10)))
                    default: pos = Int(rng.next() % UInt64(n))
                    }
                    // Mix of random bytes and values that make offsets/lengths extreme.
                    let choices: [UInt8] = [0x00, 0xFF, 0x7F, 0x80, UInt8(truncatingIfNeeded: rng.next())]
                    d[pos] = choices[Int(rng.next() % UInt64(choices.count))]
                    log.append(pos)
                }
                if load(d, "\(name) mutation \(i) at \(log)") == nil { loaded += 1 } else { failed += 1 }
            }
            print("TFLite mutation fuzz \(name): \(loaded) loaded, \(failed) rejected in \(Date().timeIntervalSince(start)) s")
            start = Date()
            XCTAssertGreaterThan(failed, 0, name)
        }
        let rss = peakRSSBytes()
        print("TFLite mutation fuzz: peak RSS \(rss >> 20) MiB")
        XCTAssertLessThan(rss, 3 << 30, "peak RSS")
    }

    /// Debug builds (bounds and overflow checks on, no optimizer) run a tenth
    /// of the mutations; CI runs the full set with `swift test -c release`.
    #if DEBUG
    static let debugDivisor = 10
    #else
    static let debugDivisor = 1
    #endif

    private func peakRSSBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }
}

/// Small deterministic PRNG so failures reproduce.
typealias TFLiteFuzzRNG = SplitMix64
