import VSegVision

/// What `vseg eval` reports, and what `--json` prints. Metrics that are
/// undefined (a class in neither map, no counted pixel) are left out of the
/// JSON rather than written as NaN.
public struct EvalReport: Codable, Sendable {
    /// `--model` as given, and the file it resolved to.
    public var model: String
    public var modelPath: String?
    public var inputs: [String]
    /// Every K-th frame of each input was evaluated.
    public var every: Int
    /// Frames evaluated (over all inputs).
    public var frames: Int
    /// "compare" (run B against run A) or "labels" (each run against ground truth).
    public var mode: String
    /// The labels directory in "labels" mode.
    public var labels: String?
    public var comparisons: [Comparison]
    /// The calibration table the `int8` run was built with (nil without an int8 run).
    public var quantTable: String?

    public struct Comparison: Codable, Sendable {
        /// Run spec taken as truth ("fp32") or "labels".
        public var reference: String
        /// Run spec being scored.
        public var candidate: String
        /// "mask" (foreground probability) or "classes".
        public var kind: String
        /// Foreground agreement (mask models).
        public var binary: BinaryMetrics?
        /// Per-class scores (class models; mask models as background/foreground).
        public var classes: ClassMetrics
        /// Landmark agreement (models whose descriptor has a `landmarks` output;
        /// compare mode only).
        public var keypoints: KeypointMetrics?
    }

    public struct KeypointMetrics: Codable, Sendable {
        /// The model output the landmarks come from.
        public var output: Int
        /// Landmarks compared per frame (the named ones: 33 body landmarks of pose_landmark_full).
        public var count: Int
        /// Distances are in the model's input pixels (256x256 for pose_landmark_full).
        public var unit: String
        /// Mean over frames and landmarks of the x/y distance.
        public var meanDistance: Double?
        public var maxDistance: Float
        /// PCK: share of landmarks within `pckAlpha` x the diagonal of the
        /// reference's landmark bounding box in that frame.
        public var pckAlpha: Float
        public var pck: Double?
    }

    public struct BinaryMetrics: Codable, Sendable {
        public var referenceThreshold: Float
        public var candidateThreshold: Float
        /// Mean over frames of the per-frame foreground IoU.
        public var meanIoU: Double?
        /// Σ intersection / Σ union over all frames.
        public var pooledIoU: Double?
        public var minIoU: Double?
        /// Mean absolute probability difference over all counted pixels.
        public var meanAbsDifference: Double?
        public var maxAbsDifference: Float
        public var pixels: UInt64
        public var perFrameIoU: [Double]
    }

    public struct ClassMetrics: Codable, Sendable {
        public var classCount: Int
        public var ignoreLabel: Int?
        /// Pixels counted, ignored (ground truth = ignore label), and skipped as out of range.
        public var pixels: UInt64
        public var ignoredPixels: UInt64
        public var outOfRangePixels: UInt64
        public var pixelAccuracy: Double?
        public var meanClassAccuracy: Double?
        /// Mean over classes present in the reference or the candidate.
        public var meanIoU: Double?
        public var frequencyWeightedIoU: Double?
        public var meanDice: Double?
        public var perClass: [PerClass]
    }

    public struct PerClass: Codable, Sendable {
        public var id: Int
        public var name: String?
        public var referencePixels: UInt64
        public var candidatePixels: UInt64
        public var iou: Double?
        public var accuracy: Double?
        public var dice: Double?
    }
}

extension EvalReport.ClassMetrics {
    public init(_ m: ConfusionMatrix, names: [String]?) {
        classCount = m.classCount
        ignoreLabel = m.ignoreLabel.map(Int.init)
        pixels = m.totalPixels
        ignoredPixels = m.ignoredPixels
        outOfRangePixels = m.outOfRangePixels
        pixelAccuracy = m.pixelAccuracy
        meanClassAccuracy = m.meanClassAccuracy
        meanIoU = m.meanIoU
        frequencyWeightedIoU = m.frequencyWeightedIoU
        meanDice = m.meanDice
        perClass = (0 ..< m.classCount).map { c in
            EvalReport.PerClass(id: c, name: names.flatMap { c < $0.count ? $0[c] : nil },
                                referencePixels: m.groundTruthPixels(c), candidatePixels: m.predictedPixels(c),
                                iou: m.iou(c), accuracy: m.classAccuracy(c), dice: m.dice(c))
        }
    }
}

extension EvalReport.KeypointMetrics {
    public init(_ a: KeypointAccumulator, output: Int, count: Int) {
        self.output = output
        self.count = count
        unit = "input pixels"
        meanDistance = a.meanDistance
        maxDistance = a.maxDistance
        pckAlpha = a.alpha
        pck = a.pck
    }
}

extension EvalReport.BinaryMetrics {
    public init(_ a: BinaryMaskAccumulator) {
        referenceThreshold = a.referenceThreshold
        candidateThreshold = a.candidateThreshold
        meanIoU = a.meanIoU
        pooledIoU = a.pooledIoU
        minIoU = a.frames > 0 ? a.minIoU : nil
        meanAbsDifference = a.meanAbsoluteDifference
        maxAbsDifference = a.maxAbsoluteDifference
        pixels = a.pixels
        perFrameIoU = a.perFrameIoU
    }
}
