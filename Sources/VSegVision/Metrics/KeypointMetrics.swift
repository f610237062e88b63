import VSegCore

/// Keypoint agreement: mean Euclidean distance and PCK@α, accumulated frame by
/// frame.
///
/// Keypoints are paired by position in the two arrays (index i of the
/// reference with index i of the candidate; both come from the same model
/// layout). A pair counts when the reference keypoint's score is at least
/// `minReferenceScore` (0: every pair counts), so invisible ground-truth
/// points can be left out.
///
/// PCK@α: a pair is correct when its distance is ≤ α × reference size, where
/// the reference size is, per frame:
/// - `.boundingBoxDiagonal`: the diagonal of the axis-aligned box around the
///   counted reference keypoints (the usual PCK convention for whole-body
///   poses; a degenerate box — one point — makes only exact matches correct);
/// - `.fixed(s)`: a constant, e.g. the model's input grid side (256 for
///   pose_landmark_full, where distances are measured on that grid).
///
/// `add` allocates nothing.
public struct KeypointAccumulator: Sendable {
    public enum ReferenceSize: Sendable, Equatable {
        case boundingBoxDiagonal
        case fixed(Float)
    }

    public let alpha: Float
    public let referenceSize: ReferenceSize
    public let minReferenceScore: Float
    public private(set) var frames = 0
    /// Pairs counted.
    public private(set) var pairs = 0
    /// Pairs within α × reference size.
    public private(set) var correct = 0
    private var sumDistance = 0.0
    public private(set) var maxDistance: Float = 0

    public init(alpha: Float = 0.1, referenceSize: ReferenceSize = .boundingBoxDiagonal, minReferenceScore: Float = 0) {
        precondition(alpha >= 0, "alpha must be >= 0")
        self.alpha = alpha
        self.referenceSize = referenceSize
        self.minReferenceScore = minReferenceScore
    }

    /// Adds one frame. Both arrays hold the same keypoints in the same order.
    public mutating func add(reference: UnsafeBufferPointer<Keypoint>, candidate: UnsafeBufferPointer<Keypoint>) {
        precondition(reference.count == candidate.count, "keypoint counts differ")
        let size: Float
        switch referenceSize {
        case .fixed(let s): size = s
        case .boundingBoxDiagonal:
            var minX = Float.infinity, minY = Float.infinity, maxX = -Float.infinity, maxY = -Float.infinity
            for k in reference where k.score >= minReferenceScore {
                minX = Swift.min(minX, k.x); maxX = Swift.max(maxX, k.x)
                minY = Swift.min(minY, k.y); maxY = Swift.max(maxY, k.y)
            }
            size = maxX >= minX ? ((maxX - minX) * (maxX - minX) + (maxY - minY) * (maxY - minY)).squareRoot() : 0
        }
        let limit = alpha * size
        for i in 0 ..< reference.count where reference[i].score >= minReferenceScore {
            let dx = reference[i].x - candidate[i].x, dy = reference[i].y - candidate[i].y
            let d = (dx * dx + dy * dy).squareRoot()
            sumDistance += Double(d)
            if d > maxDistance { maxDistance = d }
            if d <= limit { correct += 1 }
            pairs += 1
        }
        frames += 1
    }

    /// Array convenience (no copy).
    public mutating func add(reference: [Keypoint], candidate: [Keypoint]) {
        reference.withUnsafeBufferPointer { r in candidate.withUnsafeBufferPointer { add(reference: r, candidate: $0) } }
    }

    /// Mean distance over counted pairs; nil when none.
    public var meanDistance: Double? { pairs > 0 ? sumDistance / Double(pairs) : nil }
    /// Fraction of counted pairs within α × reference size; nil when none.
    public var pck: Double? { pairs > 0 ? Double(correct) / Double(pairs) : nil }
}
