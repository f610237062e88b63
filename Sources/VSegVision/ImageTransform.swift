/// The geometric map between a source frame and a model input, per axis:
/// `model = source * scale + offset`, in continuous pixel coordinates where
/// pixel `i` covers `[i, i + 1)`. Stretch fills the model input; letterbox
/// keeps the aspect ratio and centres the image, leaving padding bands.
///
/// Pre-processing samples through it, post-processing maps model outputs back
/// through its inverse, so masks land on the source pixels they came from.
public struct ImageTransform: Sendable, Equatable {
    public let sourceWidth: Int, sourceHeight: Int
    public let modelWidth: Int, modelHeight: Int
    public let scaleX: Double, scaleY: Double
    public let offsetX: Double, offsetY: Double

    public init(sourceWidth: Int, sourceHeight: Int, modelWidth: Int, modelHeight: Int, policy: ResizePolicy) {
        precondition(sourceWidth > 0 && sourceHeight > 0 && modelWidth > 0 && modelHeight > 0, "ImageTransform: empty image")
        self.sourceWidth = sourceWidth; self.sourceHeight = sourceHeight
        self.modelWidth = modelWidth; self.modelHeight = modelHeight
        let sx = Double(modelWidth) / Double(sourceWidth), sy = Double(modelHeight) / Double(sourceHeight)
        switch policy {
        case .stretch:
            scaleX = sx; scaleY = sy; offsetX = 0; offsetY = 0
        case .letterbox:
            let s = min(sx, sy)
            scaleX = s; scaleY = s
            offsetX = (Double(modelWidth) - Double(sourceWidth) * s) / 2
            offsetY = (Double(modelHeight) - Double(sourceHeight) * s) / 2
        }
    }

    /// Source coordinates of a model-input point.
    public func toSource(x: Double, y: Double) -> (x: Double, y: Double) {
        ((x - offsetX) / scaleX, (y - offsetY) / scaleY)
    }

    /// Model-input coordinates of a source point.
    public func toModel(x: Double, y: Double) -> (x: Double, y: Double) {
        (x * scaleX + offsetX, y * scaleY + offsetY)
    }

    /// The part of the model input the image covers: `[x0, x1) x [y0, y1)` in model pixels.
    public var contentRect: (x0: Double, y0: Double, x1: Double, y1: Double) {
        (offsetX, offsetY, offsetX + Double(sourceWidth) * scaleX, offsetY + Double(sourceHeight) * scaleY)
    }
}

/// Sampling taps along one axis: for each output position, `taps` source
/// indices and weights (weights sum to 1; unused taps have weight 0 and a
/// valid index), plus whether the position lies inside the image at all
/// (letterbox padding does not).
public struct AxisTaps: Sendable, Equatable {
    public let count: Int
    public let taps: Int
    public let index: [Int32]
    public let weight: [Float]
    public let inside: [Bool]

    /// Downscales by this factor or more use area averaging instead of bilinear.
    public static let areaThreshold = 2.0

    /// Taps to sample `outCount` positions from `srcCount` source pixels where
    /// `out = src * scale + offset`. Bilinear with half-pixel centres and edge
    /// clamping (OpenCV INTER_LINEAR / TF half_pixel_centers), or, when the
    /// downscale factor is `areaThreshold` or more, exact area coverage (INTER_AREA).
    public init(outCount: Int, srcCount: Int, scale: Double, offset: Double) {
        count = outCount
        var inside = [Bool](repeating: false, count: outCount)
        var lists: [[(Int, Double)]] = []
        lists.reserveCapacity(outCount)
        let src = Double(srcCount)
        let area = 1 / scale >= AxisTaps.areaThreshold
        for p in 0..<outCount {
            let centre = (Double(p) + 0.5 - offset) / scale
            inside[p] = centre >= 0 && centre < src
            var taps: [(Int, Double)] = []
            if area {
                let a = max(0, (Double(p) - offset) / scale), b = min(src, (Double(p) + 1 - offset) / scale)
                if b > a {
                    var i = Int(a.rounded(.down))
                    while Double(i) < b && i < srcCount {
                        let overlap = min(b, Double(i + 1)) - max(a, Double(i))
                        if overlap > 0 { taps.append((i, overlap / (b - a))) }
                        i += 1
                    }
                }
            }
            if taps.isEmpty {
                let c = centre - 0.5
                let i0 = Int(c.rounded(.down))
                let t = c - Double(i0)
                let lo = min(max(i0, 0), srcCount - 1), hi = min(max(i0 + 1, 0), srcCount - 1)
                taps = [(lo, 1 - t), (hi, t)]
            }
            lists.append(taps)
        }
        let k = lists.map(\.count).max() ?? 1
        var index = [Int32](repeating: 0, count: outCount * k)
        var weight = [Float](repeating: 0, count: outCount * k)
        for p in 0..<outCount {
            let l = lists[p]
            for j in 0..<k {
                index[p * k + j] = Int32(j < l.count ? l[j].0 : l[l.count - 1].0)
                weight[p * k + j] = j < l.count ? Float(l[j].1) : 0
            }
        }
        taps = k; self.index = index; self.weight = weight; self.inside = inside
    }
}
