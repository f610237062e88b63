#if canImport(Glibc)
import Glibc
#endif
import VSegCore
import VSegMedia
import VSegVision

/// What `vseg eval` evaluates and how.
public struct EvalOptions: Sendable {
    /// Built-in model name or .tflite/.onnx path (the base of every run).
    public var model: String
    /// Videos, image directories or globs, read in order.
    public var inputs: [String]
    /// Evaluate every K-th frame of each input (1 = all).
    public var every: Int = 1
    /// Stop after this many evaluated frames in total.
    public var maxFrames: Int?
    /// The runs. Compare mode: exactly two, the second scored against the
    /// first. Labels mode: one or two, each scored against the ground truth.
    public var runs: [EvalRunSpec]
    /// Directory of ground-truth label PNGs (labels mode), nil to compare runs.
    public var labelsDirectory: String?
    /// Inference threads per run; nil = one per core.
    public var threads: Int?
    /// Ground-truth label to skip (labels mode); nil = none.
    public var ignoreLabel: UInt8? = 255
    /// Foreground threshold of mask models, unless a run sets its own.
    public var threshold: Float = 0.5
    /// The calibration table of the `int8` run; nil = the one `QuantTableLocator` finds.
    public var qtable: String?

    public init(model: String, inputs: [String], runs: [EvalRunSpec]) {
        self.model = model; self.inputs = inputs; self.runs = runs
    }
}

/// Runs the model variants over the inputs frame by frame and accumulates the
/// metrics (see `ConfusionMatrix`, `BinaryMaskAccumulator`).
///
/// Everything is compared at source resolution — the maps the overlay and the
/// sinks use (`sourceProbability` before any threshold, `sourceLabels`) — so
/// models with different input sizes compare on one grid, and ground-truth
/// labels are the size of the video frames.
///
/// Labels mode: the label for frame N of the (single) input is
/// `DIR/<image name>.png` when the input is an image directory or glob (the
/// N-th image in sorted order, as FFmpeg's glob reads them), else
/// `DIR/%06d.png` with N the 0-based frame index. Labels are gray8 PNGs, one
/// class id per pixel. For mask models 0 is background, the ignore label is
/// skipped and any other value is foreground.
public final class Evaluator {
    public let options: EvalOptions
    private var stages: [PipelineStage] = []
    private var specs: [EvalRunSpec] = []
    private var confusion: [ConfusionMatrix] = []
    private var binary: [BinaryMaskAccumulator] = []
    /// Landmarks of the model (descriptor output of kind `landmarks`), compare mode.
    private var landmarks: LandmarkLayout?
    private var keypoints = KeypointAccumulator(alpha: 0.1, referenceSize: .boundingBoxDiagonal)
    private var landmarkScratch: [[Keypoint]] = []
    private(set) var kind: SegmentationResult.Kind?
    private var frames = 0
    // Labels mode scratch, sized on the first label (one geometry per input).
    var gtLabels: [UInt8] = []
    var gtProbability: [Float] = []
    var gtIgnore: [UInt8] = []
    var imageNames: [String]?

    public init(options: EvalOptions) throws {
        self.options = options
        guard options.every >= 1 else { throw PipelineError.usage("--every must be at least 1, got \(options.every)") }
        if let n = options.maxFrames, n < 1 { throw PipelineError.usage("--frames must be at least 1, got \(n)") }
        guard !options.inputs.isEmpty else { throw PipelineError.usage("no input; pass --input VIDEO|DIR|GLOB") }
        if options.labelsDirectory != nil {
            guard (1...2).contains(options.runs.count) else {
                throw PipelineError.usage("with --labels, --compare takes one or two runs to score against the labels")
            }
            guard options.inputs.count == 1 else {
                throw PipelineError.usage("--labels needs exactly one --input (label names follow that input's frames)")
            }
        } else {
            guard options.runs.count == 2 else { throw PipelineError.usage("--compare takes exactly two runs, e.g. --compare fp32,int8") }
        }
        if let q = options.qtable, !options.runs.contains(.int8) {
            throw PipelineError.usage("--qtable \(q) is only used by an int8 run; add int8 to --compare (e.g. --compare fp32,int8)")
        }
    }

    /// The stage for one run: SegmentationStage for float runs, the INT8 hook for int8.
    static func makeStage(_ spec: EvalRunSpec, base: SegmentationOptions, qtable: String? = nil) throws -> PipelineStage {
        var o = spec.options(base: base)
        if spec == .int8 {
            o.qtable = qtable
            return try Int8EvalHook.makeSegmentationStage(options: o)
        }
        return SegmentationStage(options: o)
    }

    /// Reads every input, runs every stage, returns the report.
    public func run() throws -> EvalReport {
        let base = SegmentationOptions(name: options.model, threads: options.threads, threshold: options.threshold)
        specs = options.runs
        stages = try specs.map { try Self.makeStage($0, base: base, qtable: options.qtable) }
        if let dir = options.labelsDirectory { try checkDirectory(dir) }
        var prepared = false
        inputs: for uri in options.inputs {
            var so = SourceOptions()
            so.pixelFormat = .rgb24
            let source = try openSource(uri: uri, options: so)
            defer { source.close() }
            if !prepared {
                for s in stages { try s.prepare(source: source.info) }
                prepared = true
                if options.labelsDirectory == nil { landmarks = try LandmarkLayout(stages) }
            }
            if options.labelsDirectory != nil { imageNames = Self.imageNames(uri) }
            var index = 0
            while let frame = try source.nextFrame() {
                defer { index += 1; frame.buffer.recycle() }
                if index % options.every != 0 { continue }
                try evaluate(frame, index: index)
                frames += 1
                if let n = options.maxFrames, frames >= n { break inputs }
            }
        }
        for s in stages { try s.finish() }
        guard frames > 0 else { throw EvalError.noFrames(inputs: options.inputs) }
        return report()
    }

    private func evaluate(_ frame: Frame, index: Int) throws {
        var results: [SegmentationResult] = []
        results.reserveCapacity(stages.count)
        for s in stages {
            var p = Packet(frame: frame)
            try s.process(&p)
            guard let r = p.segmentation else {
                throw EvalError.incomparable(detail: "stage \(s.name) produced no segmentation")
            }
            results.append(r)
        }
        try setUp(results)
        if let dir = options.labelsDirectory {
            try loadLabel(dir: dir, frame: frame, index: index)
            for (i, r) in results.enumerated() { accumulateAgainstLabels(i, r) }
        } else {
            let a = results[0], b = results[1]
            if case .probability = a.kind {
                a.sourceProbability.withUnsafeBufferPointer { pa in
                    b.sourceProbability.withUnsafeBufferPointer { pb in _ = binary[0].add(reference: pa, candidate: pb) }
                }
            }
            confusion[0].add(groundTruth: a.sourceLabels, prediction: b.sourceLabels)
            if let l = landmarks {
                if landmarkScratch.isEmpty { landmarkScratch = Array(repeating: [], count: stages.count) }
                for i in 0 ..< 2 { l.read(stages[i], into: &landmarkScratch[i]) }
                keypoints.add(reference: landmarkScratch[0], candidate: landmarkScratch[1])
            }
        }
    }

    /// On the first frame: checks the runs agree on the output kind and sizes the accumulators.
    private func setUp(_ results: [SegmentationResult]) throws {
        if let k = kind {
            guard results.allSatisfy({ $0.kind == k }) else { throw EvalError.incomparable(detail: "output kind changed") }
            return
        }
        let k = results[0].kind
        for (i, r) in results.enumerated() where r.kind != k {
            throw EvalError.incomparable(detail: "\(specs[0]) gives \(Self.describe(k)), \(specs[i]) gives \(Self.describe(r.kind))")
        }
        kind = k
        let comparisons = options.labelsDirectory != nil ? results.count : 1
        let expected = options.maxFrames ?? 4096
        switch k {
        case .probability:
            // The 2-class matrix over thresholded masks: background 0, foreground 1.
            confusion = Array(repeating: ConfusionMatrix(classCount: 2, ignoreLabel: 255), count: comparisons)
            binary = (0 ..< comparisons).map { i in
                let refT = options.labelsDirectory != nil ? Float(0.5) : results[0].threshold
                let candT = options.labelsDirectory != nil ? results[i].threshold : results[1].threshold
                return BinaryMaskAccumulator(threshold: refT, candidateThreshold: candT, expectedFrames: expected)
            }
        case .classes(let c):
            confusion = Array(repeating: ConfusionMatrix(classCount: c, ignoreLabel: options.labelsDirectory != nil ? options.ignoreLabel : nil),
                              count: comparisons)
        }
    }

    private func accumulateAgainstLabels(_ i: Int, _ r: SegmentationResult) {
        switch r.kind {
        case .probability:
            gtProbability.withUnsafeBufferPointer { g in
                r.sourceProbability.withUnsafeBufferPointer { p in
                    gtIgnore.withUnsafeBufferPointer { ig in _ = binary[i].add(reference: g, candidate: p, ignore: ig) }
                }
            }
            // gtLabels holds 0/1/255 for mask models (see loadLabel).
            confusion[i].add(groundTruth: gtLabels, prediction: r.sourceLabels)
        case .classes:
            confusion[i].add(groundTruth: gtLabels, prediction: r.sourceLabels)
        }
    }

    // MARK: - Report

    static func describe(_ k: SegmentationResult.Kind) -> String {
        switch k {
        case .probability: return "a foreground mask"
        case .classes(let c): return "\(c) classes"
        }
    }

    private func classNames() -> [String]? {
        if case .probability = kind { return ["background", "foreground"] }
        return (stages.first as? SegmentationStage)?.decoder?.spec.labels
    }

    private func report() -> EvalReport {
        let names = classNames()
        let isMask: Bool
        if case .probability = kind { isMask = true } else { isMask = false }
        var comparisons: [EvalReport.Comparison] = []
        for i in confusion.indices {
            let reference = options.labelsDirectory != nil ? "labels" : specs[0].description
            let candidate = options.labelsDirectory != nil ? specs[i].description : specs[1].description
            comparisons.append(EvalReport.Comparison(reference: reference, candidate: candidate, kind: isMask ? "mask" : "classes",
                                                     binary: isMask ? EvalReport.BinaryMetrics(binary[i]) : nil,
                                                     classes: EvalReport.ClassMetrics(confusion[i], names: names),
                                                     keypoints: landmarks.map { EvalReport.KeypointMetrics(keypoints, output: $0.output, count: $0.count) }))
        }
        return EvalReport(model: options.model, modelPath: (stages.first as? SegmentationStage)?.modelPath,
                          inputs: options.inputs, every: options.every, frames: frames,
                          mode: options.labelsDirectory != nil ? "labels" : "compare", labels: options.labelsDirectory,
                          comparisons: comparisons,
                          quantTable: stages.lazy.compactMap { ($0 as? SegmentationStage)?.quantTablePath }.first)
    }
}

/// Where a model's landmarks are: the descriptor's `landmarks` output, read as
/// `fields` floats per landmark with x, y first (x, y in input pixels) and, from
/// 4 fields on, a visibility logit 4th (the score). The landmarks the output's
/// labels name are compared (all 39 of pose_landmark_full: 33 body points and 6
/// auxiliary ones); without labels, every record.
struct LandmarkLayout {
    var output: Int
    var count: Int
    var fields: Int

    /// Nil when the model has no landmarks output. Throws when its size cannot
    /// be split into landmarks of 2 to 5 fields.
    init?(_ stages: [PipelineStage]) throws {
        guard let stage = stages.first as? SegmentationStage, let d = stage.descriptor, let s = stage.session,
              let spec = d.outputs.first(where: { $0.kind == .landmarks }), spec.index < s.outputCount else { return nil }
        let total = s.outputShape(spec.index).reduce(1) { $0 * max($1, 1) }
        let named = spec.labels?.count ?? 0
        // The widest record that divides the output and holds every named landmark.
        guard let f = [5, 4, 3, 2].first(where: { total % $0 == 0 && total / $0 >= named }) else {
            throw EvalError.incomparable(detail: "output \(spec.index) (landmarks) has \(total) values, not a whole number of 2 to 5-field landmarks")
        }
        output = spec.index
        fields = f
        count = named > 0 ? named : total / f
    }

    /// The landmarks of the stage's last run (its session's output).
    func read(_ stage: PipelineStage, into out: inout [Keypoint]) {
        guard let s = (stage as? SegmentationStage)?.session else { return }
        let v = s.output(output)
        out.removeAll(keepingCapacity: true)
        for i in 0 ..< count {
            let r = i * fields
            let score: Float = fields >= 4 ? 1 / (1 + expf(-v[r + 3])) : 1
            out.append(Keypoint(x: v[r], y: v[r + 1], score: score, id: i))
        }
    }
}
