/// Int8 weights with one symmetric scale per output channel: `real = scale[c] * q`.
public struct PerChannelInt8Weights: Sendable, Equatable {
    /// Same layout as the float weights they came from.
    public var values: [Int8]
    /// One per output channel.
    public var scales: [Float]
}

/// Symmetric per-output-channel weight quantization (issue 4, part 1).
public enum WeightQuantization {
    /// Dense conv / GEMM weights, OHWI `[outC, kH, kW, inC]`: output channel `c`
    /// owns the contiguous block `c * perChannel ..< (c + 1) * perChannel`.
    public static func quantizeOHWI(_ weights: UnsafeBufferPointer<Float>, outChannels: Int) -> PerChannelInt8Weights {
        precondition(outChannels > 0 && weights.count % outChannels == 0, "weights are not [outC, ...]")
        let per = weights.count / outChannels
        return quantize(weights, channels: outChannels, perChannel: per) { c, i in c * per + i }
    }

    /// Depthwise weights `[kH, kW, C]`: the channel is the innermost axis.
    public static func quantizeDepthwise(_ weights: UnsafeBufferPointer<Float>, channels: Int) -> PerChannelInt8Weights {
        precondition(channels > 0 && weights.count % channels == 0, "weights are not [kH, kW, C]")
        let taps = weights.count / channels
        return quantize(weights, channels: channels, perChannel: taps) { c, i in i * channels + c }
    }

    /// scale = max|w| / 127 (1 for an all-zero channel); q = clamp(rne(w / scale), -127, 127).
    static func quantize(_ w: UnsafeBufferPointer<Float>, channels: Int, perChannel: Int,
                         index: (Int, Int) -> Int) -> PerChannelInt8Weights {
        var values = [Int8](repeating: 0, count: w.count)
        var scales = [Float](repeating: 1, count: channels)
        for c in 0..<channels {
            var maxAbs: Float = 0
            for i in 0..<perChannel { maxAbs = max(maxAbs, abs(w[index(c, i)])) }
            let scale = maxAbs > 0 ? maxAbs / 127 : 1
            scales[c] = scale
            for i in 0..<perChannel {
                let q = (w[index(c, i)] / scale).rounded(.toNearestOrEven)
                values[index(c, i)] = Int8(min(max(q, -127), 127))
            }
        }
        return PerChannelInt8Weights(values: values, scales: scales)
    }
}
