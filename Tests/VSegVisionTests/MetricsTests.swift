import XCTest
import VSegCore
import VSegVision

/// Hand-computed cases for the segmentation, mask and keypoint metrics.
final class MetricsTests: XCTestCase {
    // 3 classes, ignore 255. GT / prediction (10 pixels, one ignored):
    // gt:   0 0 0 1 1 1 2 2 255 0
    // pred: 0 0 1 1 1 2 2 0 1   0
    // Confusion (rows gt, cols pred), ignoring pixel 8:
    //   gt0: p0=3 (pixels 0,1,9), p1=1 (pixel 2)
    //   gt1: p1=2, p2=1
    //   gt2: p2=1, p0=1
    func testConfusionMatrixHandComputed() {
        var m = ConfusionMatrix(classCount: 3, ignoreLabel: 255)
        m.add(groundTruth: [0, 0, 0, 1, 1, 1, 2, 2, 255, 0], prediction: [0, 0, 1, 1, 1, 2, 2, 0, 1, 0])
        XCTAssertEqual(m.counts, [3, 1, 0,
                                  0, 2, 1,
                                  1, 0, 1])
        XCTAssertEqual(m.totalPixels, 9)
        XCTAssertEqual(m.ignoredPixels, 1)
        XCTAssertEqual(m.outOfRangePixels, 0)
        // Pixel accuracy: (3 + 2 + 1) / 9.
        XCTAssertEqual(m.pixelAccuracy!, 6.0 / 9.0, accuracy: 1e-12)
        // Class accuracy: 3/4, 2/3, 1/2.
        XCTAssertEqual(m.classAccuracy(0)!, 0.75, accuracy: 1e-12)
        XCTAssertEqual(m.classAccuracy(1)!, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(m.classAccuracy(2)!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(m.meanClassAccuracy!, (0.75 + 2.0 / 3.0 + 0.5) / 3, accuracy: 1e-12)
        // IoU: c0 = 3 / (4 + 4 - 3) = 3/5; c1 = 2 / (3 + 3 - 2) = 2/4; c2 = 1 / (2 + 2 - 1) = 1/3.
        XCTAssertEqual(m.iou(0)!, 0.6, accuracy: 1e-12)
        XCTAssertEqual(m.iou(1)!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(m.iou(2)!, 1.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(m.meanIoU!, (0.6 + 0.5 + 1.0 / 3.0) / 3, accuracy: 1e-12)
        // fwIoU: 4/9 * 3/5 + 3/9 * 1/2 + 2/9 * 1/3.
        XCTAssertEqual(m.frequencyWeightedIoU!, 4.0 / 9 * 0.6 + 3.0 / 9 * 0.5 + 2.0 / 9 / 3, accuracy: 1e-12)
        // Dice: 6/8, 4/6, 2/4.
        XCTAssertEqual(m.dice(0)!, 0.75, accuracy: 1e-12)
        XCTAssertEqual(m.dice(1)!, 4.0 / 6.0, accuracy: 1e-12)
        XCTAssertEqual(m.dice(2)!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(m.meanDice!, (0.75 + 4.0 / 6.0 + 0.5) / 3, accuracy: 1e-12)
    }

    func testFramesAccumulateLikeOneBigFrame() {
        let gt: [UInt8] = [0, 0, 0, 1, 1, 1, 2, 2, 255, 0]
        let pred: [UInt8] = [0, 0, 1, 1, 1, 2, 2, 0, 1, 0]
        var split = ConfusionMatrix(classCount: 3)
        split.add(groundTruth: Array(gt[0 ..< 4]), prediction: Array(pred[0 ..< 4]))
        split.add(groundTruth: Array(gt[4...]), prediction: Array(pred[4...]))
        var whole = ConfusionMatrix(classCount: 3)
        whole.add(groundTruth: gt, prediction: pred)
        XCTAssertEqual(split.counts, whole.counts)
        XCTAssertEqual(split.frames, 2)
        var merged = ConfusionMatrix(classCount: 3)
        merged.merge(split)
        XCTAssertEqual(merged.counts, whole.counts)
        XCTAssertEqual(merged.ignoredPixels, 1)
    }

    // A class in neither map is left out of mIoU/mean Dice; a class only in the
    // prediction counts in mIoU (IoU 0) but not in mean class accuracy.
    func testAbsentAndPredictedOnlyClasses() {
        var m = ConfusionMatrix(classCount: 4, ignoreLabel: nil)
        m.add(groundTruth: [0, 0, 1, 1], prediction: [0, 0, 1, 2])
        XCTAssertNil(m.iou(3))
        XCTAssertNil(m.dice(3))
        XCTAssertNil(m.classAccuracy(3))
        XCTAssertNil(m.classAccuracy(2))          // not in the ground truth
        XCTAssertEqual(m.iou(2), 0)               // predicted only
        XCTAssertEqual(m.dice(2), 0)
        XCTAssertEqual(m.iou(0), 1)
        XCTAssertEqual(m.iou(1), 0.5)
        XCTAssertEqual(m.meanIoU!, (1 + 0.5 + 0) / 3, accuracy: 1e-12)
        XCTAssertEqual(m.meanClassAccuracy!, (1 + 0.5) / 2, accuracy: 1e-12)
        // fwIoU only weighs ground-truth classes: 2/4 * 1 + 2/4 * 0.5.
        XCTAssertEqual(m.frequencyWeightedIoU!, 0.75, accuracy: 1e-12)
    }

    func testAllIgnoredHasNoScores() {
        var m = ConfusionMatrix(classCount: 2, ignoreLabel: 255)
        m.add(groundTruth: [255, 255, 255], prediction: [0, 1, 1])
        XCTAssertEqual(m.totalPixels, 0)
        XCTAssertEqual(m.ignoredPixels, 3)
        XCTAssertNil(m.pixelAccuracy)
        XCTAssertNil(m.meanIoU)
        XCTAssertNil(m.meanClassAccuracy)
        XCTAssertNil(m.frequencyWeightedIoU)
        XCTAssertNil(m.meanDice)
    }

    func testOutOfRangeLabelsAreCountedNotScored() {
        var m = ConfusionMatrix(classCount: 2, ignoreLabel: 255)
        m.add(groundTruth: [0, 7, 1, 1], prediction: [0, 0, 9, 1])
        XCTAssertEqual(m.outOfRangePixels, 2)
        XCTAssertEqual(m.totalPixels, 2)
        XCTAssertEqual(m.pixelAccuracy, 1)
    }

    func testPerfectAndDisjointLabelMaps() {
        var perfect = ConfusionMatrix(classCount: 3, ignoreLabel: nil)
        perfect.add(groundTruth: [0, 1, 2, 2], prediction: [0, 1, 2, 2])
        XCTAssertEqual(perfect.pixelAccuracy, 1)
        XCTAssertEqual(perfect.meanIoU, 1)
        XCTAssertEqual(perfect.frequencyWeightedIoU, 1)
        XCTAssertEqual(perfect.meanDice, 1)
        var disjoint = ConfusionMatrix(classCount: 2, ignoreLabel: nil)
        disjoint.add(groundTruth: [0, 0, 1, 1], prediction: [1, 1, 0, 0])
        XCTAssertEqual(disjoint.pixelAccuracy, 0)
        XCTAssertEqual(disjoint.meanIoU, 0)
        XCTAssertEqual(disjoint.meanDice, 0)
        XCTAssertEqual(disjoint.meanClassAccuracy, 0)
    }

    // Reference (threshold 0.5): fg at 1, 2, 3. Candidate: fg at 2, 3, 4.
    // Intersection {2, 3} = 2, union {1, 2, 3, 4} = 4 → IoU 0.5.
    // |diff| = 0, 0.6, 0.1, 0, 0.6, 0 → sum 1.3 over 6 pixels.
    func testBinaryMaskHandComputed() {
        var a = BinaryMaskAccumulator(threshold: 0.5)
        let ref: [Float] = [0.0, 0.9, 0.7, 0.5, 0.1, 0.25]
        let cand: [Float] = [0.0, 0.3, 0.8, 0.5, 0.7, 0.25]
        let iou = a.add(reference: ref, candidate: cand)
        XCTAssertEqual(a.intersection, 2)
        XCTAssertEqual(a.union, 4)
        XCTAssertEqual(iou, 0.5)
        XCTAssertEqual(a.meanAbsoluteDifference!, 1.3 / 6, accuracy: 1e-6)
        XCTAssertEqual(a.maxAbsoluteDifference, 0.6, accuracy: 1e-6)
        // Second frame: perfect agreement with some foreground → IoU 1.
        a.add(reference: [1, 0], candidate: [1, 0])
        XCTAssertEqual(a.perFrameIoU, [0.5, 1])
        XCTAssertEqual(a.meanIoU, 0.75)
        XCTAssertEqual(a.pooledIoU!, 3.0 / 5.0, accuracy: 1e-12)
        XCTAssertEqual(a.minIoU, 0.5)
        XCTAssertEqual(a.meanAbsoluteDifference!, 1.3 / 8, accuracy: 1e-6)
    }

    func testBinaryMaskThresholdsPerSideAndIgnore() {
        // Candidate threshold 0.3: pixel 1 (0.4) is foreground for the candidate only.
        var a = BinaryMaskAccumulator(threshold: 0.5, candidateThreshold: 0.3)
        a.add(reference: [0.6, 0.4, 0.0], candidate: [0.6, 0.4, 0.0])
        XCTAssertEqual(a.perFrameIoU, [0.5])
        XCTAssertEqual(a.meanAbsoluteDifference, 0)
        // Ignored pixels count for neither IoU nor MAPD.
        var b = BinaryMaskAccumulator()
        b.add(reference: [1, 0, 1], candidate: [1, 1, 0], ignore: [0, 1, 1])
        XCTAssertEqual(b.pixels, 1)
        XCTAssertEqual(b.perFrameIoU, [1])
        XCTAssertEqual(b.meanAbsoluteDifference, 0)
    }

    func testBinaryMaskEmptyAndDisjoint() {
        var a = BinaryMaskAccumulator()
        XCTAssertNil(a.meanIoU)
        XCTAssertNil(a.meanAbsoluteDifference)
        a.add(reference: [0, 0.1], candidate: [0.2, 0])   // both empty: agreement
        XCTAssertEqual(a.perFrameIoU, [1])
        a.add(reference: [1, 0], candidate: [0, 1])        // disjoint
        XCTAssertEqual(a.perFrameIoU, [1, 0])
        XCTAssertEqual(a.pooledIoU, 0)
        XCTAssertEqual(a.minIoU, 0)
        XCTAssertEqual(a.meanAbsoluteDifference!, (0.2 + 0.1 + 1 + 1) / 4, accuracy: 1e-6)
    }

    func testBinaryMaskAddDoesNotAllocatePerFrame() {
        var a = BinaryMaskAccumulator(expectedFrames: 8)
        let ref = [Float](repeating: 0.7, count: 4096), cand = [Float](repeating: 0.2, count: 4096)
        let capacity = a.perFrameIoU.capacity
        for _ in 0 ..< 8 { a.add(reference: ref, candidate: cand) }
        XCTAssertEqual(a.perFrameIoU.capacity, capacity, "per-frame IoUs stayed within the reserved storage")
        XCTAssertEqual(a.meanAbsoluteDifference!, 0.5, accuracy: 1e-6)
    }

    // Keypoints: reference (0,0), (3,4), (6,8): bbox 6x8, diagonal 10; α = 0.1 → 1 px.
    // Candidate offsets: 0, 1 (exactly at the limit), 5 → distances 0, 1, 5.
    func testKeypointsHandComputed() {
        var k = KeypointAccumulator(alpha: 0.1)
        let ref = [Keypoint(x: 0, y: 0, score: 1, id: 0), Keypoint(x: 3, y: 4, score: 1, id: 1), Keypoint(x: 6, y: 8, score: 1, id: 2)]
        let cand = [Keypoint(x: 0, y: 0, score: 1, id: 0), Keypoint(x: 3, y: 5, score: 1, id: 1), Keypoint(x: 9, y: 12, score: 1, id: 2)]
        k.add(reference: ref, candidate: cand)
        XCTAssertEqual(k.pairs, 3)
        XCTAssertEqual(k.correct, 2)
        XCTAssertEqual(k.meanDistance!, 2, accuracy: 1e-9)
        XCTAssertEqual(k.pck!, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(k.maxDistance, 5)

        // Fixed reference size (e.g. a 256-px grid): α = 0.01 → 2.56 px; and low-score reference points skipped.
        var g = KeypointAccumulator(alpha: 0.01, referenceSize: .fixed(256), minReferenceScore: 0.5)
        var ref2 = ref
        ref2[0].score = 0.1
        g.add(reference: ref2, candidate: cand)
        XCTAssertEqual(g.pairs, 2)
        XCTAssertEqual(g.correct, 1)
        XCTAssertEqual(g.meanDistance!, 3, accuracy: 1e-9)
    }

    func testKeypointsEmpty() {
        var k = KeypointAccumulator()
        k.add(reference: [], candidate: [])
        XCTAssertEqual(k.frames, 1)
        XCTAssertNil(k.meanDistance)
        XCTAssertNil(k.pck)
    }
}
