#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VSegCore
import VSegEngine

/// What `vseg calibrate` does.
public struct CalibrationOptions: Sendable {
    /// Built-in model name or .tflite/.onnx path.
    public var model: String
    /// Videos, image directories, globs or streams, read in order.
    public var inputs: [String]
    /// Use every K-th frame of each input.
    public var every: Int = 10
    /// Stop after this many frames in total.
    public var maxFrames: Int = 100
    public var method: CalibrationMethod = .percentile(CalibrationMethod.defaultPercentile)
    /// Where to write the table; nil = `calibration/<model stem>.qtable`.
    public var out: String?
    /// Rank the layers by how much INT8 alone hurts the outputs.
    public var sensitivity = false
    /// Mark this many of the worst layers fp32 (implies `sensitivity`).
    public var keepFP32 = 0
    /// Tensor keys whose producers stay FP32 (marked before bias correction, so the
    /// corrections fit that configuration).
    public var fp32: [String] = []
    /// Samples the sensitivity pass runs (evenly spaced over the calibration frames).
    public var sensitivityFrames = 8
    /// Graph outputs (0-based) the sensitivity score is measured on; empty = all.
    public var sensitivityOutputs: [Int] = []
    /// After `keepFP32`, turn kept layers back to INT8 while the whole table's
    /// pooled relative output error stays at most this (`Sensitivity.trimFP32`);
    /// nil = off.
    public var trimFP32: Double?
    /// Measure each INT8 conv's mean output error per channel on all calibration
    /// frames and fold it into its bias (`BiasCorrection`, the table's `bias` lines).
    public var biasCorrection = true
    /// Channel equalization strength for tensors read by dense convs (0...1), nil =
    /// off (`ChannelEqualization`, the table's `equalize` lines).
    public var equalization: Float? = ChannelEqualization.defaultStrength
    /// Memory for the retained frames' model inputs (bias correction and
    /// sensitivity); beyond it an evenly spread subset is used.
    public var retainBytes = 1 << 30
    /// Inference threads; nil = one per core.
    public var threads: Int?

    public init(model: String, inputs: [String]) {
        self.model = model; self.inputs = inputs
    }
}

/// The outcome, for the summary.
public struct CalibrationResult: Sendable {
    public var table: QuantTable
    public var tablePath: String
    public var modelPath: String
    public var frames: Int
    public var seconds: Double
    /// Worst first; empty without sensitivity.
    public var sensitivity: [LayerSensitivity]
    public var keptFP32: [String]
    /// Layers the sensitivity pass could not build an INT8 session for, with the reason.
    public var sensitivityFailures: [(key: String, reason: String)]
    /// The convs bias correction visited, in graph order; empty when it was off.
    public var biasCorrection: [BiasCorrectionStep] = []
    /// What `--trim-fp32` did (nil when off).
    public var trim: Sensitivity.TrimReport?
}

/// Samples frames, collects statistics, optionally ranks layer sensitivity,
/// writes the table.
public enum CalibrationJob {
    public static func run(_ o: CalibrationOptions, log: ((String) -> Void)? = nil) throws -> CalibrationResult {
        guard o.keepFP32 >= 0 else { throw PipelineError.usage("--keep-fp32 must be 0 or more, got \(o.keepFP32)") }
        let t0 = now()
        let sampler = try CalibrationFrameSampler(model: o.model, inputs: o.inputs, every: o.every, maxFrames: o.maxFrames)
        let analyze = o.sensitivity || o.keepFP32 > 0
        if !o.sensitivityOutputs.isEmpty && !analyze {
            throw PipelineError.usage("--sensitivity-output only applies to the sensitivity pass; add --sensitivity or --keep-fp32 N")
        }
        let outputCount = sampler.model.graph.outputs.count
        if let bad = o.sensitivityOutputs.first(where: { $0 < 0 || $0 >= outputCount }) {
            throw PipelineError.usage("--sensitivity-output \(bad): \(Self.fileName(sampler.modelPath)) has outputs 0 to \(outputCount - 1); pick one of those")
        }
        // Sensitivity samples are spread over the frames and bias correction measures on the
        // retained ones: all frames while their inputs fit in `retainBytes`, else an evenly
        // spread subset of them (Calibrator halves it when full).
        let g = sampler.model.graph
        let inputBytes = max(1, g.inputs.reduce(0) { n, io in n + g.tensors[io.tensor].shape.reduce(1) { $0 * max($1, 1) } * 4 })
        let retain = analyze || o.biasCorrection ? min(o.maxFrames, max(16, o.retainBytes / inputBytes)) : 0
        let calibrator = try Calibrator(model: sampler.model, threads: o.threads ?? 0, retainSamples: retain,
                                        retainOutputs: false)
        let observed = Set(calibrator.session.observedTensorNames)
        for key in o.fp32 where !observed.contains(key) {
            throw CalibrationError.unknownTensor(key: key, model: Self.fileName(sampler.modelPath),
                                                 example: calibrator.session.observedTensorNames.last ?? "-")
        }
        let frames = try sampler.run(into: { calibrator.session.input(0) }) { _, _ in calibrator.addSample() }
        let digest = try QuantTable.sha256(file: sampler.modelPath)
        var table = calibrator.table(method: o.method, modelFile: Self.fileName(sampler.modelPath),
                                     modelSHA256: digest, inputs: o.inputs, every: o.every,
                                     equalization: o.equalization)
        var ranked: [LayerSensitivity] = []
        var failed: [(key: String, reason: String)] = []
        var kept: [String] = []
        var trim: Sensitivity.TrimReport?
        if analyze {
            let all = calibrator.retainedInputs
            let n = min(max(1, o.sensitivityFrames), all.count)
            let inputs = (0 ..< n).map { all[$0 * all.count / n] }
            let reference = try inputs.map { try Self.outputs(of: calibrator.session, for: $0) }
            log?("sensitivity: quantizing one layer at a time on \(n) of the \(all.count) frames")
            let report = try Sensitivity.analyze(model: sampler.model, table: table, inputs: inputs, reference: reference,
                                                 threads: o.threads ?? 0,
                                                 outputs: o.sensitivityOutputs.isEmpty ? nil : o.sensitivityOutputs)
            ranked = report.ranked
            failed = report.failed
            kept = Sensitivity.keepWorstFP32(ranked, o.keepFP32, in: &table)
            if let budget = o.trimFP32, !kept.isEmpty {
                log?("trim: trying the \(kept.count) FP32 layers back in INT8 (2 passes)")
                trim = try Sensitivity.trimFP32(model: sampler.model, table: &table, inputs: inputs, reference: reference,
                                                threads: o.threads ?? 0,
                                                outputs: o.sensitivityOutputs.isEmpty ? nil : o.sensitivityOutputs,
                                                budget: budget)
                kept.removeAll { trim!.trimmed.contains($0) }
            }
        }
        table.markFP32(o.fp32)
        var corrections: [BiasCorrectionStep] = []
        if o.biasCorrection {
            log?("bias correction: measuring each INT8 conv's mean error on \(calibrator.retainedInputs.count) frames")
            var quarter = 0
            corrections = try BiasCorrection.apply(model: sampler.model, table: &table, inputs: calibrator.retainedInputs,
                                                   threads: o.threads ?? 0) { done, total in
                if done * 4 / total > quarter {
                    quarter = done * 4 / total
                    if quarter < 4 { log?("bias correction: \(done) of \(total) convs") }
                }
            }
        }
        let out = o.out ?? QuantTableLocator.defaultOutput(modelPath: sampler.modelPath)
        try makeParent(of: out)
        try table.write(path: out)
        return CalibrationResult(table: table, tablePath: out, modelPath: sampler.modelPath, frames: frames,
                                 seconds: Double(now() - t0) / 1e9, sensitivity: ranked, keptFP32: kept,
                                 sensitivityFailures: failed, biasCorrection: corrections, trim: trim)
    }

    /// The session's outputs for one sample (one array per graph input).
    static func outputs(of s: Session, for sample: [[Float]]) throws -> [[Float]] {
        s.setInputs(sample)
        try s.run()
        return (0 ..< s.outputCount).map { Array(s.output($0)) }
    }

    static func fileName(_ path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }

    /// Creates the table's directory (one level, like `calibration/`) when missing.
    static func makeParent(of path: String) throws {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        let dir = String(path[..<slash])
        var st = stat()
        if stat(dir, &st) == 0 { return }
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw CalibrationError.cannotCreateDirectory(path: dir, reason: String(cString: strerror(errno)))
        }
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
