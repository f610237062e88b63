/// Agreement of two foreground-probability maps (or a probability map and a
/// binary ground truth), accumulated frame by frame.
///
/// Per frame:
/// - foreground IoU = |A ∩ B| / |A ∪ B| where A = {reference ≥ referenceThreshold}
///   and B = {candidate ≥ candidateThreshold}. When both masks are empty the
///   frame's IoU is 1 (the two agree perfectly that there is no foreground);
/// - absolute probability difference |reference − candidate| per pixel.
///
/// Over frames:
/// - `meanIoU`: mean of the per-frame IoUs (each frame weighs the same);
/// - `pooledIoU`: Σ intersections / Σ unions (each pixel weighs the same);
/// - `meanAbsoluteDifference` (MAPD): Σ |difference| / Σ pixels;
/// - `maxAbsoluteDifference`.
///
/// Pixels where `ignore` is nonzero are skipped (unlabelled ground truth).
/// `add` allocates nothing while `perFrameIoU` stays within the capacity
/// reserved in `init` (`expectedFrames`).
public struct BinaryMaskAccumulator: Sendable {
    public let referenceThreshold: Float
    public let candidateThreshold: Float
    public private(set) var frames = 0
    public private(set) var perFrameIoU: [Double]
    public private(set) var intersection: UInt64 = 0
    public private(set) var union: UInt64 = 0
    public private(set) var pixels: UInt64 = 0
    private var sumIoU = 0.0
    private var sumAbs = 0.0
    public private(set) var maxAbsoluteDifference: Float = 0
    public private(set) var minIoU: Double = 1

    public init(threshold: Float = 0.5, candidateThreshold: Float? = nil, expectedFrames: Int = 0) {
        referenceThreshold = threshold
        self.candidateThreshold = candidateThreshold ?? threshold
        perFrameIoU = []
        perFrameIoU.reserveCapacity(max(0, expectedFrames))
    }

    /// Adds one frame. Both maps hold one probability in [0, 1] per pixel.
    /// Returns the frame's IoU.
    @discardableResult
    public mutating func add(reference: UnsafeBufferPointer<Float>, candidate: UnsafeBufferPointer<Float>,
                             ignore: UnsafeBufferPointer<UInt8>? = nil) -> Double {
        precondition(reference.count == candidate.count, "probability maps differ in size")
        if let ig = ignore { precondition(ig.count == reference.count, "ignore mask differs in size") }
        let ta = referenceThreshold, tb = candidateThreshold
        var inter: UInt64 = 0, uni: UInt64 = 0, n: UInt64 = 0
        var abs = 0.0, mx: Float = maxAbsoluteDifference
        // Per-row partial sums in Float keep the loop cheap; rows are folded in Double.
        let rowLength = 1024
        var start = 0
        while start < reference.count {
            let end = min(start + rowLength, reference.count)
            var rowAbs: Float = 0
            for i in start ..< end {
                if let ig = ignore, ig[i] != 0 { continue }
                let a = reference[i], b = candidate[i]
                let fa = a >= ta, fb = b >= tb
                if fa && fb { inter &+= 1 }
                if fa || fb { uni &+= 1 }
                let d = (a - b).magnitude
                rowAbs += d
                if d > mx { mx = d }
                n &+= 1
            }
            abs += Double(rowAbs)
            start = end
        }
        let frameIoU = uni > 0 ? Double(inter) / Double(uni) : 1
        intersection &+= inter
        union &+= uni
        pixels &+= n
        sumAbs += abs
        maxAbsoluteDifference = mx
        sumIoU += frameIoU
        minIoU = Swift.min(minIoU, frameIoU)
        perFrameIoU.append(frameIoU)
        frames += 1
        return frameIoU
    }

    /// Array convenience (no copy).
    @discardableResult
    public mutating func add(reference: [Float], candidate: [Float], ignore: [UInt8]? = nil) -> Double {
        reference.withUnsafeBufferPointer { r in
            candidate.withUnsafeBufferPointer { c in
                if let ignore { return ignore.withUnsafeBufferPointer { add(reference: r, candidate: c, ignore: $0) } }
                return add(reference: r, candidate: c, ignore: nil)
            }
        }
    }

    /// Mean of per-frame IoUs; nil before the first frame.
    public var meanIoU: Double? { frames > 0 ? sumIoU / Double(frames) : nil }
    /// Σ intersection / Σ union over all frames (1 when no frame had foreground).
    public var pooledIoU: Double? { frames > 0 ? (union > 0 ? Double(intersection) / Double(union) : 1) : nil }
    /// MAPD over all counted pixels; nil when none was counted.
    public var meanAbsoluteDifference: Double? { pixels > 0 ? sumAbs / Double(pixels) : nil }
}
