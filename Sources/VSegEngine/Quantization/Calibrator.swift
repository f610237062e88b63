/// Collects the range statistics of every float activation over a set of
/// samples and turns them into a `QuantTable`.
///
/// ```swift
/// let c = try Calibrator(model: model, threads: 2)
/// for frame in frames {
///     fill(c.session.input(0), frame)
///     c.addSample()
/// }
/// let table = c.table(method: .percentile(99.99), modelFile: "m.tflite", modelSHA256: digest)
/// ```
///
/// The session runs `.fp32Calibration`, so every tensor the INT8 graph will
/// quantize exists and is observed under its `Session.tensorKey`. With
/// `retainSamples` > 0 the inputs of up to that many samples are kept (for
/// `Sensitivity` and `BiasCorrection`), with their FP32 outputs unless
/// `retainOutputs` is false. When more samples arrive than fit, every other
/// retained one is dropped and from then on only every 2nd (4th, ...) sample is
/// kept: the retained samples stay spread evenly over everything calibrated on,
/// memory stays bounded, and which ones are kept depends only on the count.
public final class Calibrator {
    public let session: Session
    public private(set) var statistics = CalibrationStatistics()
    /// Per-channel ranges of the tensors `ChannelEqualization` could rescale.
    public private(set) var channelRanges: [String: ChannelRange] = [:]
    public private(set) var sampleCount = 0
    /// Inputs of the retained samples, one array per graph input.
    public private(set) var retainedInputs: [[[Float]]] = []
    /// FP32 outputs of the retained samples, one array per graph output (empty
    /// when `retainOutputs` is false).
    public private(set) var retainedOutputs: [[[Float]]] = []
    /// Indices (0-based, in `addSample` order) of the retained samples.
    public private(set) var retainedIndices: [Int] = []
    public let retainSamples: Int
    public let retainOutputs: Bool
    /// Only samples whose index is a multiple of this are retained.
    private var retainStride = 1

    public init(model: Model, threads: Int = 0, retainSamples: Int = 0, retainOutputs: Bool = true) throws {
        session = try Session(model: model, threads: threads, precision: .fp32Calibration)
        for (key, channels) in ChannelEqualization.candidates(session.graph) {
            channelRanges[key] = ChannelRange(channels: channels)
        }
        self.retainSamples = retainSamples
        self.retainOutputs = retainOutputs
    }

    /// Runs the model on the current contents of `session.input(_:)` and adds
    /// every observed tensor to the statistics.
    public func addSample() {
        var retain = retainSamples > 0 && sampleCount % retainStride == 0
        if retain && retainedInputs.count == retainSamples {
            if retainSamples == 1 {
                retain = false
            } else {
                // Full: keep every other one and halve the rate from here on.
                let keep = stride(from: 0, to: retainedInputs.count, by: 2)
                retainedInputs = keep.map { retainedInputs[$0] }
                if retainOutputs { retainedOutputs = keep.map { retainedOutputs[$0] } }
                retainedIndices = keep.map { retainedIndices[$0] }
                retainStride *= 2
                retain = sampleCount % retainStride == 0
            }
        }
        if retain {
            retainedInputs.append((0 ..< session.inputCount).map { Array(session.input($0)) })
            retainedIndices.append(sampleCount)
        }
        session.runObserving { name, values in
            statistics.add(tensor: name, values: values)
            channelRanges[name]?.add(values)
        }
        statistics.endBatch()
        if retain && retainOutputs {
            retainedOutputs.append((0 ..< session.outputCount).map { Array(session.output($0)) })
        }
        sampleCount += 1
    }

    /// The table for these statistics: one entry per observed tensor, in graph
    /// order. With `equalization` (the strength, 0...1), the tensors
    /// `ChannelEqualization` can rescale get `equalize` factors from their
    /// per-channel ranges.
    public func table(method: CalibrationMethod, modelFile: String, modelSHA256: String, inputs: [String] = [],
                      every: Int = 1, equalization: Float? = nil) -> QuantTable {
        let entries = statistics.ranges(method).map { QuantTableEntry(key: $0.name, min: $0.min, max: $0.max) }
        var t = QuantTable(modelFile: modelFile, modelSHA256: modelSHA256, method: method, inputs: inputs, every: every,
                           frames: sampleCount, entries: entries)
        if let strength = equalization {
            ChannelEqualization.plan(session.graph, table: &t, ranges: channelRanges, strength: strength)
        }
        return t
    }
}
