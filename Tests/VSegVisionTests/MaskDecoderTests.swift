import XCTest
import VSegCore
import VSegVision

final class MaskDecoderTests: XCTestCase {
    /// A model mask that is linear in the model-input x coordinate is
    /// reproduced exactly by bilinear upsampling, so every source pixel must
    /// read the value of where it sits in the model input: this checks the
    /// letterbox is undone and the half-pixel alignment, for both policies.
    func testUpsamplingUndoesTheGeometry() throws {
        for policy in ResizePolicy.allCases {
            for (w, h) in [(640, 272), (144, 176), (176, 144)] {
                let t = ImageTransform(sourceWidth: w, sourceHeight: h, modelWidth: 64, modelHeight: 64, policy: policy)
                let d = try MaskDecoder(transform: t, outputShape: [1, 64, 64, 1], spec: OutputSpec(index: 0, kind: .mask))
                // value at model pixel (i, j) = (centre x + 2 * centre y) / 256
                var tensor = [Float](repeating: 0, count: 64 * 64)
                for j in 0..<64 { for i in 0..<64 { tensor[j * 64 + i] = (Float(i) + 0.5 + 2 * (Float(j) + 0.5)) / 256 } }
                let r = d.makeResult()
                tensor.withUnsafeBufferPointer { d.decode($0, into: r) }
                XCTAssertEqual(r.probability, tensor)
                var checked = 0
                for y in 0..<h {
                    for x in 0..<w {
                        let m = t.toModel(x: Double(x) + 0.5, y: Double(y) + 0.5)
                        guard m.x >= 0.5, m.x <= 63.5, m.y >= 0.5, m.y <= 63.5 else { continue }
                        XCTAssertEqual(Double(r.sourceProbability[y * w + x]), (m.x + 2 * m.y) / 256, accuracy: 1e-5, "\(policy) \(w)x\(h) at \(x),\(y)")
                        checked += 1
                    }
                }
                XCTAssertGreaterThan(checked, w * h / 2)
            }
        }
    }

    func testThresholdAppliesAfterUpsamplingAndSigmoidBefore() throws {
        // 2x2 logits: left column very negative, right very positive. Source 8x2 (stretch).
        let t = ImageTransform(sourceWidth: 8, sourceHeight: 2, modelWidth: 2, modelHeight: 2, policy: .stretch)
        let d = try MaskDecoder(transform: t, outputShape: [1, 2, 2, 1], spec: OutputSpec(index: 0, kind: .mask, activation: .sigmoid),
                                threshold: 0.5)
        let logits: [Float] = [-20, 20, -20, 20]
        let r = d.makeResult()
        logits.withUnsafeBufferPointer { d.decode($0, into: r) }
        XCTAssertEqual(r.probability[0], 0, accuracy: 1e-6)
        XCTAssertEqual(r.probability[1], 1, accuracy: 1e-6)
        // Source x centres map to model x = (x + .5) / 4 - .5: -0.375, -0.125, 0.125, 0.375, 0.625, ...
        let expected: [Float] = [0, 0, 0.125, 0.375, 0.625, 0.875, 1, 1]
        for x in 0..<8 {
            XCTAssertEqual(r.sourceProbability[x], expected[x], accuracy: 1e-5)
            XCTAssertEqual(r.sourceLabels[x], expected[x] >= 0.5 ? 1 : 0)
            XCTAssertEqual(r.sourceProbability[8 + x], expected[x], accuracy: 1e-5)
        }
    }

    func testClassFastPathEqualsFullInterpolation() throws {
        var rng = SeededRandom(seed: 99)
        for (layout, c) in [(TensorLayout.nhwc, 21), (.nchw, 5), (.nhwc, 2)] {
            let (mh, mw) = (12, 9)
            let t = ImageTransform(sourceWidth: 50, sourceHeight: 37, modelWidth: 36, modelHeight: 48, policy: .letterbox)
            let shape = layout == .nhwc ? [1, mh, mw, c] : [1, c, mh, mw]
            let d = try MaskDecoder(transform: t, outputShape: shape,
                                    spec: OutputSpec(index: 0, kind: .classes, activation: .softmax, layout: layout))
            // Smooth-ish logits with blocks so both the fast path and edges occur.
            var tensor = [Float](repeating: 0, count: mh * mw * c)
            for i in tensor.indices { tensor[i] = Float.random(in: -3...3, using: &rng) }
            for y in 0..<mh { for x in 0..<mw {
                let k = (x / 3 + y / 4) % c
                let idx = layout == .nhwc ? (y * mw + x) * c + k : k * mh * mw + y * mw + x
                tensor[idx] += 10
            } }
            let r = d.makeResult()
            tensor.withUnsafeBufferPointer { d.decode($0, into: r) }
            let at = { (y: Int, x: Int, k: Int) -> Float in tensor[layout == .nhwc ? (y * mw + x) * c + k : k * mh * mw + y * mw + x] }
            // Model-resolution argmax and softmax confidence.
            for y in 0..<mh { for x in 0..<mw {
                let scores = (0..<c).map { at(y, x, $0) }
                let best = scores.max()!
                XCTAssertEqual(Int(r.labels[y * mw + x]), scores.firstIndex(of: best)!)
                XCTAssertEqual(r.probability[y * mw + x], 1 / scores.map { exp($0 - best) }.reduce(0, +), accuracy: 1e-5)
            } }
            // Source labels: brute-force argmax of the interpolated scores everywhere.
            var edges = 0
            for y in 0..<37 { for x in 0..<50 {
                let ya = Int(d.y0[y]), yb = Int(d.y1[y]), xa = Int(d.x0[x]), xb = Int(d.x1[x])
                let tx = d.wx[x], ty = d.wy[y]
                var best = -Float.infinity, arg = 0
                for k in 0..<c {
                    let v = (1 - tx) * (1 - ty) * at(ya, xa, k) + tx * (1 - ty) * at(ya, xb, k) + (1 - tx) * ty * at(yb, xa, k) + tx * ty * at(yb, xb, k)
                    if v > best { best = v; arg = k }
                }
                if Set([r.labels[ya * mw + xa], r.labels[ya * mw + xb], r.labels[yb * mw + xa], r.labels[yb * mw + xb]]).count > 1 { edges += 1 }
                XCTAssertEqual(Int(r.sourceLabels[y * 50 + x]), arg, "\(x),\(y)")
            } }
            XCTAssertGreaterThan(edges, 0)
        }
    }

    func testShapeErrorsNameTheModel() {
        let t = ImageTransform(sourceWidth: 8, sourceHeight: 8, modelWidth: 8, modelHeight: 8, policy: .stretch)
        XCTAssertThrowsError(try MaskDecoder(transform: t, outputShape: [1, 8, 8, 3], spec: OutputSpec(index: 0, kind: .mask), model: "m.onnx")) {
            XCTAssertTrue("\($0)".hasPrefix("model m.onnx: output 0 is declared a mask but has 3 channels"), "\($0)")
        }
        XCTAssertThrowsError(try MaskDecoder(transform: t, outputShape: [1, 195], spec: OutputSpec(index: 0, kind: .mask)))
    }

    func testResultPoolReusesReleasedResults() throws {
        let t = ImageTransform(sourceWidth: 8, sourceHeight: 8, modelWidth: 4, modelHeight: 4, policy: .stretch)
        let d = try MaskDecoder(transform: t, outputShape: [1, 4, 4, 1], spec: OutputSpec(index: 0, kind: .mask))
        let pool = SegmentationResultPool { d.makeResult() }
        var held: SegmentationResult? = pool.take()
        let second = pool.take()
        XCTAssertFalse(held === second)
        let heldID = ObjectIdentifier(held!)
        held = nil
        let third = pool.take()
        XCTAssertEqual(ObjectIdentifier(third), heldID)
        XCTAssertEqual(pool.count, 2)
        XCTAssertTrue(d.fits(third))
    }
}

final class MaskSmoothingTests: XCTestCase {
    func testExponentialMovingAverageBeforeUpsampling() throws {
        let t = ImageTransform(sourceWidth: 4, sourceHeight: 4, modelWidth: 2, modelHeight: 2, policy: .stretch)
        let d = try MaskDecoder(transform: t, outputShape: [1, 2, 2, 1], spec: OutputSpec(index: 0, kind: .mask), smoothing: 0.75)
        let r = d.makeResult()
        let ones = [Float](repeating: 1, count: 4), zeros = [Float](repeating: 0, count: 4)
        ones.withUnsafeBufferPointer { d.decode($0, into: r) }
        XCTAssertEqual(r.probability, ones, "the first frame has no history")
        zeros.withUnsafeBufferPointer { d.decode($0, into: r) }
        XCTAssertEqual(r.probability, [0.75, 0.75, 0.75, 0.75])
        XCTAssertEqual(r.sourceProbability, [Float](repeating: 0.75, count: 16))
        zeros.withUnsafeBufferPointer { d.decode($0, into: r) }
        XCTAssertEqual(r.probability[0], 0.5625, accuracy: 1e-6)
        d.resetSmoothing()
        zeros.withUnsafeBufferPointer { d.decode($0, into: r) }
        XCTAssertEqual(r.probability, zeros)
        // Off by default.
        let plain = try MaskDecoder(transform: t, outputShape: [1, 2, 2, 1], spec: OutputSpec(index: 0, kind: .mask))
        ones.withUnsafeBufferPointer { plain.decode($0, into: r) }
        zeros.withUnsafeBufferPointer { plain.decode($0, into: r) }
        XCTAssertEqual(r.probability, zeros)
    }
}
