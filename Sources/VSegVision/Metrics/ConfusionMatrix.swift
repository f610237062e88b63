/// Multi-class segmentation metrics from a confusion matrix, accumulated frame
/// by frame.
///
/// `counts[gt * classCount + pred]` counts pixels whose ground-truth (or
/// reference-run) label is `gt` and whose predicted label is `pred`. Pixels whose
/// ground truth equals `ignoreLabel` (255 as in PASCAL VOC) are skipped.
/// Labels that are neither a class id (`0..<classCount`) nor the ignore label
/// are skipped too and counted in `outOfRangePixels`, so a wrong `classCount`
/// shows up instead of silently skewing the scores. A predicted label outside
/// `0..<classCount` is out of range as well.
///
/// Conventions (those of the PASCAL VOC / Cityscapes evaluation code):
/// - pixel accuracy = Σ diag / Σ counts;
/// - class accuracy(c) = TP / GT pixels of c, defined when c occurs in the
///   ground truth; mean class accuracy averages over those classes;
/// - IoU(c) = TP / (TP + FP + FN), defined when c occurs in the ground truth or
///   in the prediction (union > 0); mIoU averages over those classes — a class
///   absent from both neither helps nor hurts;
/// - frequency-weighted IoU = Σ_c (GT pixels of c / all pixels) × IoU(c);
/// - Dice/F1(c) = 2 TP / (2 TP + FP + FN), same definedness and mean as IoU.
///
/// `add` allocates nothing; the matrix is sized in `init`.
public struct ConfusionMatrix: Sendable, Equatable {
    public let classCount: Int
    /// Ground-truth label to skip (nil: none).
    public let ignoreLabel: UInt8?
    /// Row-major, rows = ground truth, columns = prediction.
    public private(set) var counts: [UInt64]
    /// Pixels skipped because a label was outside `0..<classCount` (and not the ignore label).
    public private(set) var outOfRangePixels: UInt64 = 0
    /// Pixels skipped because the ground truth was `ignoreLabel`.
    public private(set) var ignoredPixels: UInt64 = 0
    /// Frames added.
    public private(set) var frames: Int = 0

    public init(classCount: Int, ignoreLabel: UInt8? = 255) {
        precondition(classCount >= 1 && classCount <= 256, "classCount must be 1...256")
        self.classCount = classCount
        self.ignoreLabel = ignoreLabel
        counts = [UInt64](repeating: 0, count: classCount * classCount)
    }

    /// Adds one frame: `groundTruth` and `prediction` are label maps of the same size.
    public mutating func add(groundTruth: UnsafeBufferPointer<UInt8>, prediction: UnsafeBufferPointer<UInt8>) {
        precondition(groundTruth.count == prediction.count, "label maps differ in size")
        let c = classCount
        let ignore = ignoreLabel.map(Int.init) ?? -1
        var skippedIgnore: UInt64 = 0, skippedRange: UInt64 = 0
        counts.withUnsafeMutableBufferPointer { m in
            for i in 0 ..< groundTruth.count {
                let g = Int(groundTruth[i])
                if g == ignore { skippedIgnore &+= 1; continue }
                let p = Int(prediction[i])
                if g >= c || p >= c { skippedRange &+= 1; continue }
                m[g &* c &+ p] &+= 1
            }
        }
        ignoredPixels &+= skippedIgnore
        outOfRangePixels &+= skippedRange
        frames += 1
    }

    /// Array convenience (no copy).
    public mutating func add(groundTruth: [UInt8], prediction: [UInt8]) {
        groundTruth.withUnsafeBufferPointer { g in prediction.withUnsafeBufferPointer { p in add(groundTruth: g, prediction: p) } }
    }

    /// Merges another matrix of the same shape (e.g. from another input).
    public mutating func merge(_ other: ConfusionMatrix) {
        precondition(other.classCount == classCount, "class counts differ")
        for i in counts.indices { counts[i] &+= other.counts[i] }
        outOfRangePixels &+= other.outOfRangePixels
        ignoredPixels &+= other.ignoredPixels
        frames += other.frames
    }

    public func count(groundTruth g: Int, prediction p: Int) -> UInt64 { counts[g * classCount + p] }

    /// Pixels counted (not ignored, not out of range).
    public var totalPixels: UInt64 { counts.reduce(0, &+) }
    public func truePositives(_ c: Int) -> UInt64 { counts[c * classCount + c] }
    /// Pixels whose ground truth is `c` (row sum).
    public func groundTruthPixels(_ c: Int) -> UInt64 {
        var s: UInt64 = 0
        for p in 0 ..< classCount { s &+= counts[c * classCount + p] }
        return s
    }
    /// Pixels predicted as `c` (column sum).
    public func predictedPixels(_ c: Int) -> UInt64 {
        var s: UInt64 = 0
        for g in 0 ..< classCount { s &+= counts[g * classCount + c] }
        return s
    }

    /// Σ diag / Σ counts; nil when no pixel was counted.
    public var pixelAccuracy: Double? {
        let t = totalPixels
        guard t > 0 else { return nil }
        var d: UInt64 = 0
        for c in 0 ..< classCount { d &+= truePositives(c) }
        return Double(d) / Double(t)
    }

    /// TP / GT pixels; nil when `c` is not in the ground truth.
    public func classAccuracy(_ c: Int) -> Double? {
        let g = groundTruthPixels(c)
        return g > 0 ? Double(truePositives(c)) / Double(g) : nil
    }

    /// TP / (TP + FP + FN); nil when `c` is in neither ground truth nor prediction.
    public func iou(_ c: Int) -> Double? {
        let tp = truePositives(c)
        let union = groundTruthPixels(c) + predictedPixels(c) - tp
        return union > 0 ? Double(tp) / Double(union) : nil
    }

    /// 2 TP / (GT + predicted); nil when `c` is in neither.
    public func dice(_ c: Int) -> Double? {
        let d = groundTruthPixels(c) + predictedPixels(c)
        return d > 0 ? Double(2 * truePositives(c)) / Double(d) : nil
    }

    public var meanClassAccuracy: Double? { Self.mean((0 ..< classCount).map(classAccuracy)) }
    /// Mean over classes present in the ground truth or the prediction.
    public var meanIoU: Double? { Self.mean((0 ..< classCount).map(iou)) }
    public var meanDice: Double? { Self.mean((0 ..< classCount).map(dice)) }

    /// Σ_c freq(c) × IoU(c), freq from the ground truth.
    public var frequencyWeightedIoU: Double? {
        let t = totalPixels
        guard t > 0 else { return nil }
        var s = 0.0
        for c in 0 ..< classCount {
            let g = groundTruthPixels(c)
            if g > 0, let i = iou(c) { s += Double(g) / Double(t) * i }
        }
        return s
    }

    static func mean(_ values: [Double?]) -> Double? {
        let v = values.compactMap { $0 }
        return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
    }
}
