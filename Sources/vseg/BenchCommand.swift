import ArgumentParser
import Foundation
import VSegCore
import VSegEngine
import VSegPipeline

/// `vseg bench`: latency statistics and a per-layer profile.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time a model: median, p90 and min latency, and optionally a per-layer profile.",
        discussion: """
        Inputs are filled with seeded values in [0, 1). Each timed run is one `Session.run()` \
        (no pre/post-processing). --profile times every node separately (adds a little \
        overhead) and prints the layers sorted by time. --json prints one JSON object instead \
        of the tables.

        --precision int8 times the INT8 session built from the model's calibration table \
        (--qtable, else found like vseg run finds it) and prints what the quantization \
        did: nodes run INT8 and FP32, Quantize/Dequantize nodes added, and every \
        convolution kept in FP32 with the reason.
        """)

    @Option(help: ArgumentHelp("Model file (.tflite or .onnx).", valueName: "path"))
    var model: String

    @Option(help: ArgumentHelp("Worker threads (default: one per core).", valueName: "n"))
    var threads: Int?

    @Option(help: ArgumentHelp("Timed runs.", valueName: "n"))
    var runs: Int = 50

    @Option(help: ArgumentHelp("Untimed runs before timing.", valueName: "n"))
    var warmup: Int = 5

    @Option(name: .customLong("input-shape"), help: ArgumentHelp("Fix an input's shape, file layout (repeatable).", valueName: "name=dims"))
    var inputShapes: [String] = []

    @Flag(help: "Time every layer and print a profile sorted by time.")
    var profile = false

    @Flag(help: "Print the results as JSON.")
    var json = false

    @OptionGroup var precision: PrecisionOptions

    func validate() throws {
        try precision.validateStandalone()
        if runs < 1 { throw ValidationError("--runs must be at least 1, got \(runs)") }
        if warmup < 0 { throw ValidationError("--warmup must be 0 or more, got \(warmup)") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1, got \(t)") }
        _ = try parseInputShapes(inputShapes)
    }

    struct Report: Codable {
        struct Layer: Codable { var name: String; var op: String; var meanMicroseconds: Double; var percent: Double }
        var model: String
        var threads: Int
        var isa: String
        var runs: Int
        var warmup: Int
        var inputShapes: [[Int]]
        var medianMs: Double
        var p90Ms: Double
        var minMs: Double
        var meanMs: Double
        var peakActivationBytes: Int
        var layers: [Layer]?
        /// "fp32" or "int8".
        var precision: String
        /// The calibration table of an INT8 run.
        var qtable: String?
        /// What the INT8 pass did (INT8 runs only).
        var quantization: Quantization?
    }

    struct Quantization: Codable {
        var int8Nodes: Int
        var fp32Nodes: Int
        var quantizeNodes: Int
        var dequantizeNodes: Int
        /// Convolutions left in FP32, each with its reason.
        var fp32Convs: [String]

        init(_ r: QuantizationPass.Report) {
            int8Nodes = r.int8Nodes; fp32Nodes = r.fp32Nodes
            quantizeNodes = r.quantizeNodes; dequantizeNodes = r.dequantizeNodes
            fp32Convs = r.fp32Convs
        }
    }

    func run() throws {
        let m = try Model.load(path: model, inputShapes: try parseInputShapes(inputShapes))
        let (s, table) = try precision.session(m, modelPath: model, threads: threads ?? 0, profile: profile)
        var seed: UInt64 = 0x2545F4914F6CDD1D
        for i in 0 ..< s.inputCount {
            let b = s.input(i)
            for j in 0 ..< b.count {
                seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
                b[j] = Float(seed >> 40) / Float(1 << 24)
            }
        }
        for _ in 0 ..< warmup { try s.run() }
        var times: [Double] = []
        times.reserveCapacity(runs)
        let timed = s
        for _ in 0 ..< runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try timed.run()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        let sorted = times.sorted()
        let q = { (f: Double) -> Double in sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * f).rounded()))] }
        var layers: [Report.Layer]? = nil
        if profile {
            // Layer times accumulate over warmup and timed runs; per-call means are reported.
            let prof = s.layerProfile
            let total = prof.reduce(0.0) { $0 + $1.meanMicroseconds }
            layers = prof.map { Report.Layer(name: $0.name, op: $0.op, meanMicroseconds: $0.meanMicroseconds,
                                             percent: total > 0 ? 100 * $0.meanMicroseconds / total : 0) }
                .sorted { $0.meanMicroseconds > $1.meanMicroseconds }
        }
        let report = Report(model: model, threads: timed.threadCount, isa: ConvKernels.isaName, runs: runs, warmup: warmup,
                            inputShapes: (0 ..< timed.inputCount).map(timed.inputShape),
                            medianMs: q(0.5), p90Ms: q(0.9), minMs: sorted[0], meanMs: times.reduce(0, +) / Double(times.count),
                            peakActivationBytes: timed.peakActivationBytes, layers: layers,
                            precision: (precision.parsed ?? .fp32).rawValue, qtable: table,
                            quantization: timed.quantizationReport.map(Quantization.init))
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(report), as: UTF8.self))
            return
        }
        print("model: \(model)")
        print("precision: \(report.precision)" + (table.map { "  table: \($0)" } ?? ""))
        if let q = report.quantization {
            print("int8: \(q.int8Nodes) nodes INT8, \(q.fp32Nodes) FP32, \(q.quantizeNodes) quantize, \(q.dequantizeNodes) dequantize")
            print("convs kept FP32: " + (q.fp32Convs.isEmpty ? "none" : "\(q.fp32Convs.count)"))
            for c in q.fp32Convs { print("  \(c)") }
        }
        print("threads: \(report.threads)  kernels: \(report.isa)  runs: \(runs)  warmup: \(warmup)")
        print("input: " + report.inputShapes.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" }.joined(separator: " "))
        print(String(format: "latency ms: median %.3f  p90 %.3f  min %.3f  mean %.3f", report.medianMs, report.p90Ms, report.minMs, report.meanMs))
        print("peak activation memory: \(formatBytes(report.peakActivationBytes))")
        if let layers {
            print("\nper-layer profile (mean per run, sorted by time):")
            print("  " + "us".padding(toLength: 10, withPad: " ", startingAt: 0) + "%".padding(toLength: 8, withPad: " ", startingAt: 0)
                  + "op".padding(toLength: 26, withPad: " ", startingAt: 0) + "name")
            for l in layers {
                print("  " + String(format: "%-10.1f%-8.1f", l.meanMicroseconds, l.percent)
                      + l.op.padding(toLength: 26, withPad: " ", startingAt: 0) + l.name)
            }
        }
    }
}
