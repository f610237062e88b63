/// What a pipeline stage receives and hands on: the frame plus everything the
/// stages before it worked out about it. Stages fill the optional parts.
public struct Packet: @unchecked Sendable {
    public var frame: Frame
    /// Per-pixel result of a segmentation model, at model resolution.
    public var segmentation: SegmentationResult?
    /// Keypoints from a pose/heatmap model, in source pixel coordinates.
    public var keypoints: [Keypoint]
    /// Raw model outputs when a stage wants to keep them (metadata sinks, eval).
    public var tensors: [NamedTensor]
    /// Time each stage spent on this packet, by stage name (ns).
    public var stageNanos: [(String, UInt64)]

    public init(frame: Frame) {
        self.frame = frame
        self.segmentation = nil
        self.keypoints = []
        self.tensors = []
        self.stageNanos = []
    }
}

/// A float tensor that leaves the engine (owned copy, row-major).
public struct NamedTensor: Sendable {
    public var name: String
    public var shape: [Int]
    public var data: [Float]
    public init(name: String, shape: [Int], data: [Float]) { self.name = name; self.shape = shape; self.data = data }
}

/// Segmentation at model resolution. For `.probability`, one float in [0,1] per
/// pixel (foreground). For `.classes`, one label per pixel plus the per-pixel
/// max probability.
public final class SegmentationResult: @unchecked Sendable {
    public enum Kind: Sendable, Equatable { case probability, classes(count: Int) }
    public let kind: Kind
    public let width: Int
    public let height: Int
    /// Foreground probability (`.probability`) or winning-class confidence (`.classes`).
    public var probability: [Float]
    /// Class id per pixel (`.classes` only; empty otherwise).
    public var labels: [UInt8]

    // Source-resolution maps, filled by the segmentation stage (empty until
    // `allocateSourceMaps`): what overlays and sinks draw with.
    public private(set) var sourceWidth: Int = 0
    public private(set) var sourceHeight: Int = 0
    /// Per source pixel: `probability` upsampled bilinearly (letterbox undone) before any threshold.
    public var sourceProbability: [Float] = []
    /// Per source pixel: class id (`.classes`) or 1/0 for probability ≥ `threshold` (`.probability`).
    public var sourceLabels: [UInt8] = []
    /// The threshold `sourceLabels` used for `.probability` results.
    public var threshold: Float = 0.5

    /// Sizes the source-resolution maps (allocates; call once per geometry).
    public func allocateSourceMaps(width: Int, height: Int) {
        sourceWidth = width
        sourceHeight = height
        sourceProbability = [Float](repeating: 0, count: width * height)
        sourceLabels = [UInt8](repeating: 0, count: width * height)
    }

    public init(kind: Kind, width: Int, height: Int) {
        self.kind = kind
        self.width = width
        self.height = height
        self.probability = [Float](repeating: 0, count: width * height)
        if case .classes = kind { labels = [UInt8](repeating: 0, count: width * height) } else { labels = [] }
    }
}

/// A detected keypoint in source pixel coordinates.
public struct Keypoint: Sendable, Equatable {
    public var x: Float
    public var y: Float
    public var score: Float
    public var id: Int
    public init(x: Float, y: Float, score: Float, id: Int) { self.x = x; self.y = y; self.score = score; self.id = id }
}
