import ArgumentParser
import VSegCore
import VSegEngine

/// `vseg inspect MODEL`: inputs, outputs, op histogram, parameters, MACs, peak
/// activation memory and unsupported ops.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a .tflite or .onnx model: inputs, outputs, ops, parameters, MACs, peak memory.",
        discussion: """
        Shapes are the engine's internal layout (NHWC for images). Peak memory is the \
        activation arena after buffer reuse, for the given input size. Unsupported ops are \
        listed instead of failing. For models with a dynamic input size, give \
        --input-shape NAME=D0,D1,... in the file's own layout (NCHW for ONNX).
        """)

    @Argument(help: ArgumentHelp("Model file (.tflite or .onnx).", valueName: "model"))
    var model: String

    @Option(name: .customLong("input-shape"), help: ArgumentHelp("Fix an input's shape, file layout (repeatable).", valueName: "name=dims"))
    var inputShapes: [String] = []

    func validate() throws { _ = try parseInputShapes(inputShapes) }

    func run() throws {
        let shapes = try parseInputShapes(inputShapes)
        var summary: ModelSummary
        var modelForPlan: Model? = nil
        if isTFLite(model) {
            summary = try ModelSummary.tflite(path: model)
            if summary.unsupported.isEmpty { modelForPlan = try Model.load(path: model, inputShapes: shapes) }
        } else {
            let m = try Model.load(path: model, inputShapes: shapes)
            modelForPlan = m
            summary = ModelSummary(graph: m.sourceGraph, path: model)
        }
        var extra = ""
        if let m = modelForPlan {
            let s = try Session(model: m, threads: 1)
            summary.peakActivationBytes = s.peakActivationBytes
            if summary.nodesWithUnknownShape > 0 {
                // Count compute on the graph with every shape resolved.
                let resolved = ModelSummary(graph: s.graph, path: model)
                summary.convMACs = resolved.convMACs; summary.macsByOp = resolved.macsByOp
                summary.elementwiseOps = resolved.elementwiseOps; summary.nodesWithUnknownShape = 0
            }
            let r = s.passReport
            extra = "after load-time passes: \(r.nodesOut) nodes (\(r.folded) folded, \(r.bnFolded) BN folded, "
                + "\(r.activationsFused) activations fused, \(r.deadRemoved) dead removed)\n"
                + "activation memory without reuse: \(formatBytes(s.unsharedActivationBytes))\n"
                + "kernels: \(ConvKernels.isaName)\n"
        }
        print(summary.render() + extra, terminator: "")
    }
}

/// "name=1,3,224,224" options to a name -> dims map.
func parseInputShapes(_ specs: [String]) throws -> [String: [Int]]? {
    if specs.isEmpty { return nil }
    var out: [String: [Int]] = [:]
    for spec in specs {
        let parts = spec.split(separator: "=", maxSplits: 1)
        let dims = parts.count == 2 ? parts[1].split(separator: ",").map { Int($0.trimmingCharacters(in: " ")) } : []
        guard parts.count == 2, !dims.isEmpty, dims.allSatisfy({ $0 != nil && $0! > 0 }) else {
            throw ValidationError("--input-shape expects NAME=D0,D1,... with positive dims, got '\(spec)'")
        }
        out[String(parts[0])] = dims.map { $0! }
    }
    return out
}

/// True when the file starts like a TFLite flatbuffer ("TFL3" at byte 4).
func isTFLite(_ path: String) -> Bool {
    guard let f = fopen(path, "rb") else { return path.lowercased().hasSuffix(".tflite") }
    defer { fclose(f) }
    var head = [UInt8](repeating: 0, count: 8)
    return fread(&head, 1, 8, f) == 8 && Array(head[4 ..< 8]) == Array("TFL3".utf8)
}

func formatBytes(_ n: Int) -> String {
    if n >= 1 << 20 { return String(format1: Double(n) / Double(1 << 20)) + " MiB" }
    if n >= 1 << 10 { return String(format1: Double(n) / Double(1 << 10)) + " KiB" }
    return "\(n) B"
}

extension String {
    /// One decimal place without Foundation.
    init(format1 v: Double) {
        let t = (v * 10).rounded()
        self = "\(Int(t) / 10).\(abs(Int(t)) % 10)"
    }
}

#if canImport(Glibc)
import Glibc
#endif
