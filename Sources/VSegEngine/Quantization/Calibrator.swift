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
/// `retainSamples` > 0 the first that many samples' inputs are kept (for
/// `Sensitivity` and `BiasCorrection`), and the FP32 outputs of the first
/// `retainOutputs` of them (default: as many) for `Sensitivity`.
public final class Calibrator {
    public let session: Session
    public private(set) var statistics = CalibrationStatistics()
    public private(set) var sampleCount = 0
    /// Inputs of the retained samples, one array per graph input.
    public private(set) var retainedInputs: [[[Float]]] = []
    /// FP32 outputs of the retained samples, one array per graph output.
    public private(set) var retainedOutputs: [[[Float]]] = []
    public let retainSamples: Int
    public let retainOutputs: Int

    public init(model: Model, threads: Int = 0, retainSamples: Int = 0, retainOutputs: Int? = nil) throws {
        session = try Session(model: model, threads: threads, precision: .fp32Calibration)
        self.retainSamples = retainSamples
        self.retainOutputs = Swift.min(retainOutputs ?? retainSamples, retainSamples)
    }

    /// Runs the model on the current contents of `session.input(_:)` and adds
    /// every observed tensor to the statistics.
    public func addSample() {
        if retainedInputs.count < retainSamples {
            retainedInputs.append((0 ..< session.inputCount).map { Array(session.input($0)) })
        }
        session.runObserving { name, values in statistics.add(tensor: name, values: values) }
        statistics.endBatch()
        if retainedOutputs.count < retainOutputs {
            retainedOutputs.append((0 ..< session.outputCount).map { Array(session.output($0)) })
        }
        sampleCount += 1
    }

    /// The table for these statistics: one entry per observed tensor, in graph order.
    public func table(method: CalibrationMethod, modelFile: String, modelSHA256: String, inputs: [String] = [],
                      every: Int = 1) -> QuantTable {
        let entries = statistics.ranges(method).map { QuantTableEntry(key: $0.name, min: $0.min, max: $0.max) }
        return QuantTable(modelFile: modelFile, modelSHA256: modelSHA256, method: method, inputs: inputs, every: every,
                          frames: sampleCount, entries: entries)
    }
}
