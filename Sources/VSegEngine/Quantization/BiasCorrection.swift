/// One conv the correction pass visited.
public struct BiasCorrectionStep: Sendable, Equatable {
    /// The conv's output tensor (its QuantTable key).
    public var key: String
    public var channels: Int
    /// Channels with enough unclamped samples to be corrected.
    public var correctedChannels: Int
    /// Mean |INT8 - FP32| of the output before this conv's correction, over the
    /// unclamped elements (in the tensor's float units).
    public var meanErrorBefore: Double
    /// Mean signed INT8 - FP32 error before the correction, averaged over channels.
    public var meanBiasBefore: Double
}

/// Empirical bias correction: the per-channel mean of INT8 - FP32 at each INT8
/// conv's output, measured on the calibration frames, is subtracted from that
/// conv's bias (stored as the table's `bias` lines).
///
/// Why: rounding weights to int8 and activations to uint8 is unbiased per
/// element but not per channel. A channel whose rounded weights sum a little
/// high shifts every output of that channel the same way, and the next layers
/// add their own shifts on top. Zero-mean noise mostly averages out in a
/// segmentation head; a shift does not: it moves the mask's logits across the
/// 0.5 threshold everywhere at once. Removing the mean error per channel is the
/// bias-correction step of Nagel et al. 2019 (data-free quantization) and of
/// Finkelstein et al. 2019, done empirically on the user's frames.
///
/// How:
/// - Convs are corrected one at a time in graph order, each measured with every
///   earlier correction in place, so a correction absorbs what the layers above
///   it still leave (sequential, not all-at-once: downstream means depend on
///   upstream fixes).
/// - Clamps (ReLU, ReLU6) are fused into the convs, so the pre-activation error is
///   only visible where both the FP32 and the INT8 value are strictly inside the
///   clamp and inside the uint8 range; only those elements count. A channel with
///   fewer than `minimumCount` such elements keeps its bias.
/// - Each measurement runs the FP32 and the INT8 session only up to that conv.
/// - Deterministic: the same table, frames and thread count give the same values
///   (sums are accumulated per channel in Double in element order).
public enum BiasCorrection {
    /// Fills `biasCorrection` of every INT8 conv's entry in `table` (existing values
    /// are the starting point and are refined). `inputs[s][i]`: sample s, graph
    /// input i (`Calibrator.retainedInputs`). `progress(done, total)` after each conv.
    @discardableResult
    public static func apply(model: Model, table: inout QuantTable, inputs: [[[Float]]], threads: Int = 0,
                             minimumCount: Int = 16, progress: ((Int, Int) -> Void)? = nil) throws -> [BiasCorrectionStep] {
        guard !inputs.isEmpty else { return [] }
        var tq = table.tensorQuantization
        // Equalized tensors are compared in their scaled units.
        let reference = try Session(model: model, threads: threads, precision: .fp32Equalized(tq))
        let keys = Session.tensorKeys(reference.graph)
        let (qgraph, _) = try QuantizationPass.run(reference.graph, table: tq)

        struct Target { var key: String; var channels: Int; var lo: Float; var hi: Float; var scale: Float? }
        var targets: [Target] = []
        for node in qgraph.nodes where Session.runsInt8(node, qgraph) {
            let attrs: ConvAttrs
            switch node.op {
            case let .conv2D(a), let .depthwiseConv2D(a, _), let .transposeConv2D(a, _): attrs = a
            default: continue
            }
            let out = node.outputs[0]
            guard out < keys.count, let range = attrs.activation.clampRange, tq[keys[out]] != nil else { continue }
            let info = qgraph.tensors[out]
            var lo = range.lo, hi = range.hi
            var scale: Float?
            if info.dtype == .uint8, let q = info.quant, q.scale.count == 1, let zp = q.zeroPoint.first {
                // The uint8 range clamps too: saturated elements say nothing about the bias.
                lo = Swift.max(lo, q.scale[0] * Float(0 - Int32(zp)))
                hi = Swift.min(hi, q.scale[0] * Float(255 - Int32(zp)))
                scale = q.scale[0]
            }
            targets.append(Target(key: keys[out], channels: info.shape.last ?? 1, lo: lo, hi: hi, scale: scale))
        }

        var steps: [BiasCorrectionStep] = []
        var expected: [Float] = []
        for (n, t) in targets.enumerated() {
            defer { progress?(n + 1, targets.count) }
            let session = try Session(model: model, threads: threads, precision: .int8(tq))
            var sum = [Double](repeating: 0, count: t.channels)
            var count = [Int](repeating: 0, count: t.channels)
            var absSum = 0.0
            // Strictly inside the clamp: half a quantization step from a uint8 bound.
            let margin = (t.scale ?? 0) * 0.5
            let only: Set<String> = [t.key]
            for sample in inputs {
                reference.setInputs(sample)
                expected.removeAll(keepingCapacity: true)
                reference.runObserving(only: only) { _, v in expected.append(contentsOf: v) }
                session.setInputs(sample)
                var seen = false
                session.runObserving(only: only) { _, v in
                    seen = true
                    precondition(v.count == expected.count && v.count % t.channels == 0, "\(t.key): INT8 and FP32 sizes differ")
                    var c = 0
                    for i in 0 ..< v.count {
                        let f = expected[i], q = v[i]
                        if f > t.lo && f < t.hi && q > t.lo + margin && q < t.hi - margin {
                            let e = Double(q) - Double(f)
                            sum[c] += e
                            absSum += Swift.abs(e)
                            count[c] += 1
                        }
                        c += 1
                        if c == t.channels { c = 0 }
                    }
                }
                precondition(seen && !expected.isEmpty, "\(t.key) was not observed in both sessions")
            }
            var correction = tq[t.key]!.biasCorrection ?? [Float](repeating: 0, count: t.channels)
            var corrected = 0, biasSum = 0.0
            for c in 0 ..< t.channels where count[c] >= minimumCount {
                let mean = sum[c] / Double(count[c])
                correction[c] -= Float(mean)
                biasSum += mean
                corrected += 1
            }
            let total = count.reduce(0, +)
            steps.append(BiasCorrectionStep(key: t.key, channels: t.channels, correctedChannels: corrected,
                                            meanErrorBefore: total > 0 ? absSum / Double(total) : 0,
                                            meanBiasBefore: corrected > 0 ? biasSum / Double(corrected) : 0))
            if corrected > 0 { tq[t.key]!.biasCorrection = correction }
        }
        for i in table.entries.indices {
            if let b = tq[table.entries[i].key]?.biasCorrection { table.entries[i].biasCorrection = b }
        }
        return steps
    }
}
