/// How much quantizing one tensor alone hurts the model's outputs.
public struct LayerSensitivity: Sendable, Equatable {
    /// The tensor's `Session.tensorKey` (its QuantTable key).
    public var key: String
    /// Nodes that ran INT8 in the isolated session (the tensor's producer, plus
    /// any same-as-input ops it drags along).
    public var int8Nodes: Int
    /// Mean over outputs of the pooled relative L2 error
    /// sqrt(sum over samples ||y_int8 - y_fp32||^2 / sum over samples ||y_fp32||^2).
    public var error: Double
}

/// What `Sensitivity.analyze` found.
public struct SensitivityReport: Sendable {
    /// Worst first (ties by key).
    public var ranked: [LayerSensitivity] = []
    /// Candidates whose isolated INT8 session could not be built, with the reason
    /// (an INT8 op that refuses the node at prepare time).
    public var failed: [(key: String, reason: String)] = []
}

/// Per-layer sensitivity analysis: for each tensor of the table, a session
/// where every other entry is `fp32` runs the samples, and its outputs are
/// compared with the FP32 ones. Tensors whose producer cannot run INT8 on its
/// own (graph inputs, ops that need a uint8 input from an INT8 neighbour) are
/// skipped: they would measure nothing.
///
/// The error of one output is its relative L2 norm pooled over the samples,
/// `sqrt(sum_s ||q_s - f_s||^2) / max(sqrt(sum_s ||f_s||^2), 1e-12)`; a layer's
/// score is the mean over outputs (or over the ones the caller names: the
/// landmarks of a pose net rather than its auxiliary mask). Pooled, not a mean of per-sample ratios: a
/// frame where the reference is nearly zero (an empty mask) would otherwise
/// turn a tiny absolute error into a huge ratio and decide the ranking alone.
/// Results are sorted worst first (ties by key, so the order is deterministic).
public enum Sensitivity {
    /// `inputs[s][i]`: sample s, graph input i; `reference[s][o]`: its FP32 output o
    /// (`Calibrator.retainedInputs` / `retainedOutputs`). `progress(done, total)` after each layer.
    /// `outputs`: the graph outputs (indices) the score averages over; nil = all.
    public static func analyze(model: Model, table: QuantTable, inputs: [[[Float]]], reference: [[[Float]]], threads: Int = 0,
                               outputs: [Int]? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> SensitivityReport {
        precondition(inputs.count == reference.count, "one reference output set per sample")
        guard !inputs.isEmpty else { return SensitivityReport() }
        let base = table.tensorQuantization
        // Which entries make a producer run INT8 in isolation: decided on the
        // calibration graph by the quantization pass alone (no weight packing).
        let calib = try Session(model: model, threads: 1, precision: .fp32Calibration)
        var candidates: [(key: String, table: [String: TensorQuantization], int8Nodes: Int)] = []
        for e in table.entries where !e.keepFP32 {
            var isolated = base
            for k in isolated.keys { isolated[k]!.keepFP32 = k != e.key }
            let (_, report) = try QuantizationPass.run(calib.graph, table: isolated)
            if report.int8Nodes > 0 { candidates.append((e.key, isolated, report.int8Nodes)) }
        }
        var report = SensitivityReport()
        for (n, c) in candidates.enumerated() {
            defer { progress?(n + 1, candidates.count) }
            let s: Session
            do { s = try Session(model: model, threads: threads, precision: .int8(c.table)) } catch {
                report.failed.append((c.key, "\(error)"))
                continue
            }
            report.ranked.append(LayerSensitivity(key: c.key, int8Nodes: c.int8Nodes,
                                                  error: try pooledScore(s, inputs: inputs, reference: reference, outputs: outputs)))
        }
        report.ranked.sort { $0.error != $1.error ? $0.error > $1.error : $0.key < $1.key }
        return report
    }

    /// What `trimFP32` did.
    public struct TrimReport: Sendable {
        /// Score of the table as it came in (every kept layer FP32).
        public var baseScore = 0.0
        /// Highest score the trimmed table may reach: max(baseScore, budget).
        public var limit = 0.0
        /// Score of the table as it leaves.
        public var finalScore = 0.0
        /// Keys turned back to INT8, in the order accepted.
        public var trimmed: [String] = []
        /// Multiply-accumulates per run of the layers kept FP32, before and after.
        public var fp32MACsBefore = 0
        public var fp32MACsAfter = 0
    }

    /// Turns layers that `table` keeps FP32 (after `keepWorstFP32`) back to INT8
    /// while the score of the whole table (the pooled relative L2 of `analyze`, on
    /// the same samples and outputs, with every INT8 layer at once) stays at most
    /// `budget`. Two passes: first each kept layer is tried alone on top of the
    /// table, giving its extra error in this configuration; then the layers are
    /// taken in order of multiply-accumulates saved per unit of extra error (a
    /// knapsack-style greedy), each kept INT8 if the table's score stays within
    /// the budget. Single-layer sensitivity ranks layers one at a time against an
    /// all-FP32 model and cannot see that two layers' errors add up or cancel;
    /// this measures the configuration that will run and spends the FP32 time
    /// where it buys the most accuracy.
    public static func trimFP32(model: Model, table: inout QuantTable, inputs: [[[Float]]], reference: [[[Float]]],
                                threads: Int = 0, outputs: [Int]? = nil, budget: Double,
                                progress: ((Int, Int) -> Void)? = nil) throws -> TrimReport {
        precondition(inputs.count == reference.count, "one reference output set per sample")
        var report = TrimReport()
        guard !inputs.isEmpty else { return report }
        let calib = try Session(model: model, threads: 1, precision: .fp32Calibration)
        let cost = macs(calib.graph)
        let kept: [String] = table.entries.filter(\.keepFP32).map(\.key)
        func score(_ t: [String: TensorQuantization]) throws -> Double {
            let s = try Session(model: model, threads: threads, precision: .int8(t))
            return try pooledScore(s, inputs: inputs, reference: reference, outputs: outputs)
        }
        var current = table.tensorQuantization
        report.baseScore = try score(current)
        report.limit = Swift.max(report.baseScore, budget)
        report.finalScore = report.baseScore
        report.fp32MACsBefore = kept.reduce(0) { $0 + (cost[$1] ?? 0) }
        // Pass 1: each layer alone on top of the table.
        var gain: [String: Double] = [:]
        for (n, key) in kept.enumerated() {
            defer { progress?(n + 1, 2 * kept.count) }
            var candidate = current
            candidate[key]!.keepFP32 = false
            guard let e = try? score(candidate), e <= report.limit else { continue }
            let extra = Swift.max(e - report.baseScore, 1e-9)
            gain[key] = Double(cost[key] ?? 0) / extra
        }
        // Pass 2: most MACs per unit of error first, cumulative.
        let order = gain.keys.sorted { (a: String, b: String) -> Bool in
            let ga = gain[a]!, gb = gain[b]!
            return ga != gb ? ga > gb : a < b
        }
        for (n, key) in order.enumerated() {
            defer { progress?(kept.count + n + 1, kept.count + order.count) }
            var candidate = current
            candidate[key]!.keepFP32 = false
            guard let e = try? score(candidate), e <= report.limit else { continue }
            current = candidate
            report.finalScore = e
            report.trimmed.append(key)
        }
        let trimmed = Set(report.trimmed)
        for i in table.entries.indices where trimmed.contains(table.entries[i].key) { table.entries[i].keepFP32 = false }
        report.fp32MACsAfter = kept.filter { !trimmed.contains($0) }.reduce(0) { $0 + (cost[$1] ?? 0) }
        return report
    }

    /// Mean over the outputs of the relative L2 error pooled over the samples.
    static func pooledScore(_ s: Session, inputs: [[[Float]]], reference: [[[Float]]], outputs: [Int]?) throws -> Double {
        var err = [Double](repeating: 0, count: s.outputCount), ref = err
        for (sample, ins) in inputs.enumerated() {
            s.setInputs(ins)
            try s.run()
            for o in 0 ..< s.outputCount {
                let (e, r) = squaredError(s.output(o), reference[sample][o])
                err[o] += e
                ref[o] += r
            }
        }
        let scores = (outputs ?? Array(err.indices)).filter { err.indices.contains($0) }.map {
            err[$0].squareRoot() / Swift.max(ref[$0].squareRoot(), 1e-12)
        }
        return scores.isEmpty ? 0 : scores.reduce(0, +) / Double(scores.count)
    }

    /// Multiply-accumulates per run of the node producing each tensor key (convs:
    /// output elements x taps x input channels per group, a transposed conv's
    /// taps divided by its stride; other ops: output elements).
    static func macs(_ g: Graph) -> [String: Int] {
        let keys = Session.tensorKeys(g)
        var out: [String: Int] = [:]
        for node in g.nodes {
            guard let t = node.outputs.first, t >= 0 else { continue }
            let elements = g.tensors[t].shape.reduce(1) { $0 * Swift.max($1, 1) }
            var per = 1
            switch node.op {
            case let .conv2D(a):
                let w = node.inputs.count > 1 && node.inputs[1] >= 0 ? g.tensors[node.inputs[1]].shape : []
                per = a.kernel.h * a.kernel.w * (w.last ?? 1)
            case let .transposeConv2D(a, _):
                // Each output pixel gathers about (kH / sH) x (kW / sW) taps per input channel.
                let w = node.inputs.count > 1 && node.inputs[1] >= 0 ? g.tensors[node.inputs[1]].shape : []
                let th = (a.kernel.h + a.stride.h - 1) / Swift.max(a.stride.h, 1)
                let tw = (a.kernel.w + a.stride.w - 1) / Swift.max(a.stride.w, 1)
                per = th * tw * (w.last ?? 1)
            case let .depthwiseConv2D(a, _):
                per = a.kernel.h * a.kernel.w
            default: break
            }
            out[keys[t]] = elements * per
        }
        return out
    }

    /// `||a - b|| / max(||b||, 1e-12)`, accumulated in Double.
    public static func relativeL2(_ a: UnsafeBufferPointer<Float>, _ b: [Float]) -> Double {
        let (d, n) = squaredError(a, b)
        return d.squareRoot() / Swift.max(n.squareRoot(), 1e-12)
    }

    /// (||a - b||^2, ||b||^2), accumulated in Double.
    public static func squaredError(_ a: UnsafeBufferPointer<Float>, _ b: [Float]) -> (Double, Double) {
        precondition(a.count == b.count, "output sizes differ")
        var d = 0.0, n = 0.0
        for i in 0 ..< a.count {
            let r = Double(b[i])
            let e = Double(a[i]) - r
            d += e * e
            n += r * r
        }
        return (d, n)
    }

    /// The keys of the `n` worst layers.
    public static func worst(_ results: [LayerSensitivity], _ n: Int) -> [String] {
        results.prefix(Swift.max(0, n)).map(\.key)
    }

    /// Marks the `n` worst layers `fp32` in `table`; returns their keys.
    @discardableResult
    public static func keepWorstFP32(_ results: [LayerSensitivity], _ n: Int, in table: inout QuantTable) -> [String] {
        let keys = worst(results, n)
        table.markFP32(keys)
        return keys
    }
}
