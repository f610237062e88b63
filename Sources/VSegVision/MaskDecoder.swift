#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VSegCore

/// Segmentation output tensor → `SegmentationResult`, at model resolution and
/// at source resolution.
///
/// - `mask` outputs: activation (sigmoid for logits) at model resolution into
///   `probability`; then bilinear upsampling to the source, undoing the
///   letterbox, into `sourceProbability`; only then the threshold, into
///   `sourceLabels` (1 = foreground). Thresholding after upsampling gives
///   smooth edges instead of model-pixel staircases.
/// - `classes` outputs: per model pixel the argmax and its confidence
///   (softmax max for logits); at the source, the label is the argmax of the
///   bilinearly interpolated class scores (what the model tensor holds, logits
///   or probabilities). Where the four surrounding model pixels agree, that
///   label is provably the argmax of any convex blend of them, so only edge
///   pixels pay for the C-channel interpolation. Source confidence is the
///   bilinear upsampling of the model-resolution confidence.
///
/// Optional temporal smoothing (masks only): `smoothing` s in [0, 1) blends
/// each frame's model-resolution probability with the previous smoothed one,
/// `p = s * previous + (1 - s) * current`, before upsampling — an exponential
/// moving average against flicker (s = 0: off). Class maps are not smoothed.
///
/// Tables (per-axis source→output indices and weights), the row scratch and
/// the smoothing history are built in `init`; `decode` allocates nothing.
public final class MaskDecoder {
    public let transform: ImageTransform
    public let spec: OutputSpec
    public let outputWidth: Int, outputHeight: Int, classCount: Int
    public var threshold: Float
    /// Weight of the previous frame in the mask EMA, 0 = off.
    public var smoothing: Float
    private let history: UnsafeMutablePointer<Float>
    private var hasHistory = false
    let pixelStride: Int, channelStride: Int
    // Per source column / row: the two output-grid neighbours and the weight of the second.
    public let x0: [Int32], x1: [Int32], wx: [Float]
    public let y0: [Int32], y1: [Int32], wy: [Float]
    private let row: UnsafeMutablePointer<Float>

    /// `outputShape` is the session's shape for this output: [1, H, W, C] (NHWC)
    /// or [1, C, H, W] (NCHW, per `spec.layout`), or [1, H, W].
    public init(transform: ImageTransform, outputShape: [Int], spec: OutputSpec, threshold: Float = 0.5,
                smoothing: Float = 0, model: String = "model") throws {
        self.transform = transform
        self.spec = spec
        self.threshold = threshold
        self.smoothing = min(max(smoothing, 0), 0.99)
        let h: Int, w: Int, c: Int
        switch (outputShape.count, spec.layout) {
        case (4, .nhwc): (h, w, c) = (outputShape[1], outputShape[2], outputShape[3])
        case (4, .nchw): (c, h, w) = (outputShape[1], outputShape[2], outputShape[3])
        case (3, _): (h, w, c) = (outputShape[1], outputShape[2], 1)
        default:
            throw VisionError.descriptorMismatch(model: model, detail: "segmentation output \(spec.index) has shape \(outputShape); expected [1, H, W, C]")
        }
        guard h > 0, w > 0, c > 0, outputShape[0] == 1 else {
            throw VisionError.descriptorMismatch(model: model, detail: "segmentation output \(spec.index) has shape \(outputShape)")
        }
        if spec.kind == .mask && c != 1 {
            throw VisionError.descriptorMismatch(model: model, detail: "output \(spec.index) is declared a mask but has \(c) channels; declare kind: classes")
        }
        if spec.kind == .classes && c > 256 {
            throw VisionError.descriptorMismatch(model: model, detail: "output \(spec.index) has \(c) classes; label maps hold at most 256")
        }
        outputWidth = w; outputHeight = h; classCount = c
        (pixelStride, channelStride) = spec.layout == .nhwc || outputShape.count == 3 ? (c, 1) : (1, h * w)
        (x0, x1, wx) = MaskDecoder.axis(srcCount: transform.sourceWidth, outCount: w, modelCount: transform.modelWidth,
                                        scale: transform.scaleX, offset: transform.offsetX)
        (y0, y1, wy) = MaskDecoder.axis(srcCount: transform.sourceHeight, outCount: h, modelCount: transform.modelHeight,
                                        scale: transform.scaleY, offset: transform.offsetY)
        row = .allocate(capacity: w)
        row.initialize(repeating: 0, count: w)
        history = .allocate(capacity: w * h)
        history.initialize(repeating: 0, count: w * h)
    }

    deinit { row.deallocate(); history.deallocate() }

    /// Forgets the smoothing history (e.g. after a seek or a scene cut).
    public func resetSmoothing() { hasHistory = false }

    /// For each source position: where its centre falls on the output grid
    /// (which spans the model input), as two clamped neighbours and a weight.
    static func axis(srcCount: Int, outCount: Int, modelCount: Int, scale: Double, offset: Double) -> ([Int32], [Int32], [Float]) {
        var a = [Int32](repeating: 0, count: srcCount), b = a
        var t = [Float](repeating: 0, count: srcCount)
        let grid = Double(outCount) / Double(modelCount)
        for i in 0..<srcCount {
            let c = ((Double(i) + 0.5) * scale + offset) * grid - 0.5
            let f = c.rounded(.down)
            a[i] = Int32(min(max(Int(f), 0), outCount - 1))
            b[i] = Int32(min(max(Int(f) + 1, 0), outCount - 1))
            t[i] = Float(c - f)
        }
        return (a, b, t)
    }

    /// A result sized for this decoder (allocates; use a `SegmentationResultPool` on the frame path).
    public func makeResult() -> SegmentationResult {
        let r = SegmentationResult(kind: spec.kind == .classes ? .classes(count: classCount) : .probability,
                                   width: outputWidth, height: outputHeight)
        r.allocateSourceMaps(width: transform.sourceWidth, height: transform.sourceHeight)
        r.threshold = threshold
        return r
    }

    /// Whether `result` has the sizes this decoder writes.
    public func fits(_ result: SegmentationResult) -> Bool {
        result.width == outputWidth && result.height == outputHeight
            && result.sourceWidth == transform.sourceWidth && result.sourceHeight == transform.sourceHeight
            && result.kind == (spec.kind == .classes ? .classes(count: classCount) : .probability)
    }

    /// Decodes one output tensor (`outputWidth * outputHeight * classCount` floats) into `result`.
    public func decode(_ tensor: UnsafeBufferPointer<Float>, into result: SegmentationResult) {
        precondition(tensor.count >= outputWidth * outputHeight * classCount && fits(result), "MaskDecoder: size mismatch")
        result.threshold = threshold
        let t = tensor.baseAddress!
        let n = outputWidth * outputHeight
        result.probability.withUnsafeMutableBufferPointer { prob in
            if spec.kind == .classes {
                result.labels.withUnsafeMutableBufferPointer { lab in
                    modelClasses(t, n: n, prob: prob.baseAddress!, labels: lab.baseAddress!)
                }
            } else {
                switch spec.activation {
                case .sigmoid: for i in 0..<n { prob[i] = 1 / (1 + expf(-t[i &* pixelStride])) }
                case .none, .softmax: for i in 0..<n { prob[i] = t[i &* pixelStride] }
                }
                if smoothing > 0 {
                    let s = smoothing
                    if hasHistory { for i in 0..<n { prob[i] = s * history[i] + (1 - s) * prob[i] } }
                    history.update(from: prob.baseAddress!, count: n)
                    hasHistory = true
                }
            }
            result.sourceProbability.withUnsafeMutableBufferPointer { sp in
                upsample(UnsafePointer(prob.baseAddress!), into: sp.baseAddress!)
            }
        }
        result.sourceLabels.withUnsafeMutableBufferPointer { sl in
            if spec.kind == .classes {
                result.labels.withUnsafeBufferPointer { lab in sourceClasses(t, labels: lab.baseAddress!, into: sl.baseAddress!) }
            } else {
                let thr = threshold
                result.sourceProbability.withUnsafeBufferPointer { sp in
                    for i in 0..<sp.count { sl[i] = sp[i] >= thr ? 1 : 0 }
                }
            }
        }
    }

    private func modelClasses(_ t: UnsafePointer<Float>, n: Int, prob: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<UInt8>) {
        let c = classCount, cs = channelStride
        for i in 0..<n {
            let p = t + i &* pixelStride
            var best = p[0], arg = 0
            for k in 1..<max(c, 1) where p[k &* cs] > best { best = p[k &* cs]; arg = k }
            labels[i] = UInt8(truncatingIfNeeded: arg)
            switch spec.activation {
            case .softmax:
                var sum: Float = 0
                // Classes more than 24 below the best add < 4e-11 each: skip their exp.
                for k in 0..<c {
                    let d = p[k &* cs] - best
                    if d > -24 { sum += expf(d) }
                }
                prob[i] = 1 / sum
            case .sigmoid: prob[i] = 1 / (1 + expf(-best))
            case .none: prob[i] = best
            }
        }
    }

    /// Bilinear upsampling of a model-grid plane to the source grid.
    private func upsample(_ plane: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let w = outputWidth, srcW = transform.sourceWidth
        x0.withUnsafeBufferPointer { xa in x1.withUnsafeBufferPointer { xb in wx.withUnsafeBufferPointer { xt in
            for y in 0..<transform.sourceHeight {
                let ra = plane + Int(y0[y]) &* w, rb = plane + Int(y1[y]) &* w
                let ty = wy[y]
                for i in 0..<w { row[i] = ra[i] + ty * (rb[i] - ra[i]) }
                let o = out + y &* srcW
                for x in 0..<srcW {
                    let a = row[Int(xa[x])], b = row[Int(xb[x])]
                    o[x] = a + xt[x] * (b - a)
                }
            }
        }}}
    }

    private func sourceClasses(_ t: UnsafePointer<Float>, labels: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) {
        let w = outputWidth, srcW = transform.sourceWidth, cs = channelStride, ps = pixelStride
        for y in 0..<transform.sourceHeight {
            let ya = Int(y0[y]), yb = Int(y1[y])
            let ty = wy[y]
            for x in 0..<srcW {
                let xa = Int(x0[x]), xb = Int(x1[x])
                let l00 = labels[ya &* w &+ xa], l01 = labels[ya &* w &+ xb]
                let l10 = labels[yb &* w &+ xa], l11 = labels[yb &* w &+ xb]
                if l00 == l01 && l00 == l10 && l00 == l11 {
                    out[y &* srcW &+ x] = l00
                    continue
                }
                let tx = wx[x]
                let w00 = (1 - tx) * (1 - ty), w01 = tx * (1 - ty), w10 = (1 - tx) * ty, w11 = tx * ty
                let p00 = t + (ya &* w &+ xa) &* ps, p01 = t + (ya &* w &+ xb) &* ps
                let p10 = t + (yb &* w &+ xa) &* ps, p11 = t + (yb &* w &+ xb) &* ps
                var best = -Float.infinity, arg = 0
                for k in 0..<classCount {
                    let o = k &* cs
                    let v = w00 * p00[o] + w01 * p01[o] + w10 * p10[o] + w11 * p11[o]
                    if v > best { best = v; arg = k }
                }
                out[y &* srcW &+ x] = UInt8(truncatingIfNeeded: arg)
            }
        }
    }
}

/// Recycles `SegmentationResult`s: a result is reused once no packet holds it
/// any more, so the steady state allocates none (the pool grows to the number
/// of packets in flight, then stops).
public final class SegmentationResultPool {
    private var results: [SegmentationResult] = []
    private let make: () -> SegmentationResult

    public init(capacity: Int = 8, make: @escaping () -> SegmentationResult) {
        self.make = make
        results.reserveCapacity(capacity)
    }

    /// A result nobody else references, or a new one.
    public func take() -> SegmentationResult {
        for i in results.indices where isKnownUniquelyReferenced(&results[i]) { return results[i] }
        let r = make()
        results.append(r)
        return r
    }

    /// How many results the pool has made so far.
    public var count: Int { results.count }
}
