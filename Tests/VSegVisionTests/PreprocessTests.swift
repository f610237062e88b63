import XCTest
import VSegCore
import VSegVision

final class PreprocessTests: XCTestCase {
    func randomImage(_ w: Int, _ h: Int, _ rng: inout SeededRandom) -> [UInt8] {
        (0..<(w * h * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    func runFast(_ img: [UInt8], _ w: Int, _ h: Int, bgr: Bool = false, modelW: Int, modelH: Int, input: InputSpec) throws -> [Float] {
        let p = try Preprocessor(sourceWidth: w, sourceHeight: h, modelWidth: modelW, modelHeight: modelH, input: input)
        var out = [Float](repeating: .nan, count: p.outputCount)
        img.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { p.run(source: src.baseAddress!, rowBytes: w * 3, sourceIsBGR: bgr, output: $0.baseAddress!) }
        }
        return out
    }

    /// The table-driven preprocessor against its plain twin, over upscales,
    /// downscales past the area threshold, odd sizes, both policies, both
    /// layouts, BGR in and out, and the three normalizations the models use.
    func testMatchesReferenceTwin() throws {
        var rng = SeededRandom(seed: 2024)
        let geometries: [(Int, Int, Int, Int)] = [
            (88, 72, 160, 160), (176, 144, 96, 96), (640, 272, 128, 128), (640, 272, 64, 112), (650, 370, 100, 56),
            (7, 5, 16, 16), (33, 97, 17, 13), (300, 10, 32, 32), (10, 300, 32, 32), (64, 64, 64, 64),
            (1, 1, 4, 4), (513, 511, 40, 40), (64, 48, 63, 47),
        ]
        let inputs: [InputSpec] = [
            InputSpec(range: [0, 1], resize: .stretch),
            InputSpec(range: [-1, 1], resize: .letterbox),
            InputSpec(layout: .nchw, channels: .bgr, range: [0, 1], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], resize: .letterbox),
            InputSpec(channels: .bgr, range: [0, 255], resize: .stretch),
        ]
        for (w, h, mw, mh) in geometries {
            let img = randomImage(w, h, &rng)
            for (k, input) in inputs.enumerated() {
                for bgr in [false, true] {
                    let fast = try runFast(img, w, h, bgr: bgr, modelW: mw, modelH: mh, input: input)
                    let ref = try PreprocessReference.run(source: img, srcW: w, srcH: h, sourceIsBGR: bgr, modelW: mw, modelH: mh, input: input)
                    let scale = max(abs(input.range[0]), abs(input.range[1])) / Float(input.std?.min() ?? 1)
                    var worst: Float = 0
                    for i in ref.indices { worst = max(worst, abs(fast[i] - ref[i])) }
                    XCTAssertLessThanOrEqual(worst, 2e-5 * scale, "\(w)x\(h) -> \(mw)x\(mh) input \(k) bgr \(bgr)")
                }
            }
        }
    }

    func testConstantImageStaysConstantAndLetterboxPadsBlack() throws {
        // A uniform grey 200x100 frame into 64x64 letterbox: content rows are grey,
        // the 16-row bands above and below are black, i.e. the range minimum.
        let img = [UInt8](repeating: 128, count: 200 * 100 * 3)
        let out = try runFast(img, 200, 100, modelW: 64, modelH: 64, input: InputSpec(range: [-1, 1], resize: .letterbox))
        let grey: Float = 128 / 255 * 2 - 1
        for y in 0..<64 {
            for x in 0..<64 {
                let v = out[(y * 64 + x) * 3]
                if y < 16 || y >= 48 { XCTAssertEqual(v, -1, "pad at \(x),\(y)") }
                else { XCTAssertEqual(v, grey, accuracy: 1e-5, "content at \(x),\(y)") }
            }
        }
    }

    func testBilinearMatchesHandComputedValues() throws {
        // 2x1 image, values 0 and 255 in red, upscaled to 4x1: half-pixel
        // centres land at source x = -0.25, 0.25, 0.75, 1.25 → 0, 0.25, 0.75, 1.
        let img: [UInt8] = [0, 0, 0, 255, 0, 0]
        let out = try runFast(img, 2, 1, modelW: 4, modelH: 1, input: InputSpec(range: [0, 1]))
        for (i, v) in [Float(0), 0.25, 0.75, 1].enumerated() { XCTAssertEqual(out[3 * i], v, accuracy: 1e-6) }
        // Area: 4x1 → 2x1 halves average pairs (factor 2 uses area): (0+255)/2, (255+255)/2.
        let img4: [UInt8] = [0, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0]
        let out2 = try runFast(img4, 4, 1, modelW: 2, modelH: 1, input: InputSpec(range: [0, 255]))
        XCTAssertEqual(out2[0], 127.5, accuracy: 1e-4)
        XCTAssertEqual(out2[3], 255, accuracy: 1e-4)
    }

    func testLetterboxTransformRoundTrip() {
        for (w, h, mw, mh) in [(640, 272, 256, 256), (144, 176, 224, 224), (1280, 720, 256, 144), (100, 100, 30, 50)] {
            for policy in ResizePolicy.allCases {
                let t = ImageTransform(sourceWidth: w, sourceHeight: h, modelWidth: mw, modelHeight: mh, policy: policy)
                for (x, y) in [(0.0, 0.0), (Double(w), Double(h)), (17.25, 3.5), (Double(w) / 2, Double(h) / 3)] {
                    let m = t.toModel(x: x, y: y)
                    let s = t.toSource(x: m.x, y: m.y)
                    XCTAssertEqual(s.x, x, accuracy: 1e-9); XCTAssertEqual(s.y, y, accuracy: 1e-9)
                }
                let r = t.contentRect
                if policy == .letterbox {
                    // Aspect ratio kept, centred, touching two opposite edges.
                    XCTAssertEqual((r.x1 - r.x0) / (r.y1 - r.y0), Double(w) / Double(h), accuracy: 1e-9)
                    XCTAssertEqual(r.x0, Double(mw) - r.x1, accuracy: 1e-9)
                    XCTAssertEqual(r.y0, Double(mh) - r.y1, accuracy: 1e-9)
                    XCTAssertTrue(abs(r.x0) < 1e-9 || abs(r.y0) < 1e-9)
                } else {
                    XCTAssertEqual(r.x0, 0); XCTAssertEqual(r.y0, 0)
                    XCTAssertEqual(r.x1, Double(mw), accuracy: 1e-9); XCTAssertEqual(r.y1, Double(mh), accuracy: 1e-9)
                }
            }
        }
    }

    func testPixelBufferEntryPointRejectsYUV() throws {
        let p = try Preprocessor(sourceWidth: 4, sourceHeight: 4, modelWidth: 4, modelHeight: 4, input: InputSpec())
        let out = UnsafeMutablePointer<Float>.allocate(capacity: p.outputCount)
        defer { out.deallocate() }
        XCTAssertThrowsError(try p.run(PixelBuffer(width: 4, height: 4, format: .yuv420p), output: out))
        let rgb = PixelBuffer(width: 4, height: 4, format: .rgb24)
        rgb.bytes[0] = 255
        try p.run(rgb, output: out)
        XCTAssertEqual(out[0], 1)
    }
}
