#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import VSegCore
import VSegPipeline

/// `vseg eval`: segmentation metrics between two runs, or against ground-truth labels.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Compare two runs of a model (e.g. fp32 vs int8) or score them against ground-truth label PNGs.",
        discussion: """
        A run is fp32, int8, model=PATH (another model in float) or threshold=X (the \
        mask threshold). Without --labels, the second run is scored against the first. \
        int8 runs the model through the INT8 executor with its calibration table \
        (--qtable, else <model file stem>.qtable in $VSEG_CALIBRATION_DIR, ./calibration \
        or the checkout's calibration/; make one with vseg calibrate). \
        With --labels DIR, each run given to --compare (default fp32) is scored against \
        gray8 label PNGs: DIR/<image name>.png for image inputs, else DIR/%06d.png by \
        0-based frame index; for mask models 0 is background and any other value but \
        the ignore label is foreground.

        Maps are compared at the input's resolution. Mask models report foreground IoU \
        (per frame, mean over frames, pooled) and the mean absolute probability \
        difference, plus background/foreground class scores; class models report pixel \
        accuracy, mean class accuracy, per-class IoU, mIoU (over classes present in \
        either map), frequency-weighted IoU and Dice. A model whose descriptor has a \
        landmarks output (pose_landmark_full) also reports, when two runs are \
        compared, the landmarks' mean and max distance in the model's input pixels \
        and PCK@0.1 (share within 0.1 x the diagonal of the reference pose's box).

        Examples:
          vseg eval --model selfie --input samples/carphone_pristine.mp4 --compare fp32,int8
          vseg eval --model pose --input samples/carphone_pristine.mp4 --compare fp32,int8
          vseg eval --model selfie --input samples/bikes.mp4 --every 5 --compare fp32,threshold=0.4 --json -
          vseg eval --model models/fcn.onnx --input frames/ --labels gt/ --json report.json
        """)

    @Option(help: ArgumentHelp("Built-in model name or .tflite/.onnx path.", valueName: "name|path"))
    var model: String

    @Option(name: [.short, .long], help: ArgumentHelp("Video, image directory or glob (repeatable).", valueName: "uri"))
    var input: [String] = []

    @Option(help: ArgumentHelp("Evaluate every K-th frame of each input.", valueName: "k"))
    var every: Int = 1

    @Option(help: ArgumentHelp("Stop after N evaluated frames in total.", valueName: "n"))
    var frames: Int?

    @Option(help: ArgumentHelp("Two runs, reference first: fp32, int8, model=PATH, threshold=X. With --labels: one or two runs.", valueName: "a,b"))
    var compare: String?

    @Option(help: ArgumentHelp("Directory of ground-truth label PNGs (gray8, one class id per pixel).", valueName: "dir"))
    var labels: String?

    @Option(name: .customLong("ignore-label"), help: ArgumentHelp("Ground-truth label to skip, or none.", valueName: "n|none"))
    var ignoreLabel: String = "255"

    @Option(help: ArgumentHelp("Foreground threshold of mask models (runs may override with threshold=X).", valueName: "x"))
    var threshold: Float = 0.5

    @Option(help: ArgumentHelp("Write the report as JSON to PATH, or to stdout with '-' (instead of the table).", valueName: "path|-"))
    var json: String?

    @Option(help: ArgumentHelp("Inference threads per run (default: one per core).", valueName: "n"))
    var threads: Int?

    @Option(help: ArgumentHelp("Calibration table of the int8 run.", valueName: "path"))
    var qtable: String?

    func validate() throws {
        if input.isEmpty { throw ValidationError("--input is required (a video, image directory or glob)") }
        if every < 1 { throw ValidationError("--every must be at least 1, got \(every)") }
        if let n = frames, n < 1 { throw ValidationError("--frames must be at least 1, got \(n)") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1, got \(t)") }
        if !(threshold >= 0 && threshold <= 1) { throw ValidationError("--threshold must be in [0, 1], got \(threshold)") }
        if labels == nil && compare == nil { throw ValidationError("--compare A,B is required without --labels (e.g. --compare fp32,int8)") }
        _ = try parsedIgnoreLabel()
        if let j = json, j.isEmpty { throw ValidationError("--json needs a path or '-'") }
        if let q = qtable {
            if q.isEmpty { throw ValidationError("--qtable must not be empty") }
            if !(compare ?? "").lowercased().contains("int8") {
                throw ValidationError("--qtable is only used by an int8 run; add int8 to --compare (e.g. --compare fp32,int8)")
            }
        }
    }

    func parsedIgnoreLabel() throws -> UInt8? {
        if ignoreLabel.lowercased() == "none" { return nil }
        guard let v = UInt8(ignoreLabel) else { throw ValidationError("--ignore-label must be 0...255 or none, got \(ignoreLabel)") }
        return v
    }

    func runs() throws -> [EvalRunSpec] {
        guard let c = compare else { return [.fp32] }
        if labels != nil {
            return try c.split(separator: ",", omittingEmptySubsequences: false).map { try EvalRunSpec.parse(String($0)) }
        }
        let (a, b) = try EvalRunSpec.parsePair(c)
        return [a, b]
    }

    func run() throws {
        var o = EvalOptions(model: model, inputs: input, runs: try runs())
        o.every = every
        o.maxFrames = frames
        o.labelsDirectory = labels
        o.threads = threads
        o.ignoreLabel = try parsedIgnoreLabel()
        o.threshold = threshold
        o.qtable = qtable
        let report = try Evaluator(options: o).run()
        if let j = json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try enc.encode(report)
            if j == "-" {
                print(String(decoding: data, as: UTF8.self))
                return
            }
            do { try data.write(to: URL(fileURLWithPath: j)) } catch {
                throw EvalOutputError.cannotWrite(path: j, reason: "\(error.localizedDescription)")
            }
        }
        print(EvalTable.render(report), terminator: "")
    }
}

/// Errors writing the eval report.
enum EvalOutputError: UserFacingError {
    /// The --json file could not be written.
    case cannotWrite(path: String, reason: String)
    var description: String {
        switch self {
        case let .cannotWrite(path, reason): return "\(path): cannot write the eval report (\(reason)); choose a writable --json path"
        }
    }
    var exitCode: VSegCore.ExitCode { .output }
}

/// The human-readable report.
enum EvalTable {
    static func f(_ v: Double?, _ digits: Int = 4) -> String {
        guard let v else { return "-" }
        return String(format: "%.\(digits)f", v)
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s.padding(toLength: n, withPad: " ", startingAt: 0) }
    static func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? " " + s : String(repeating: " ", count: n - s.count) + s }

    static func render(_ r: EvalReport) -> String {
        var out = "model: \(r.model)" + (r.modelPath.map { $0 == r.model ? "" : " (\($0))" } ?? "") + "\n"
        out += "inputs: \(r.inputs.joined(separator: ", "))  every \(r.every)  frames \(r.frames)\n"
        if let t = r.quantTable { out += "int8 table: \(t)\n" }
        for c in r.comparisons {
            out += "\n\(c.candidate) vs \(c.reference)" + (c.reference == "labels" ? " (\(r.labels ?? ""))" : "") + " [\(c.kind)]\n"
            if let b = c.binary {
                out += "  foreground IoU (thresholds \(b.referenceThreshold) / \(b.candidateThreshold)): mean \(f(b.meanIoU))  pooled \(f(b.pooledIoU))  min \(f(b.minIoU))\n"
                out += "  mean abs probability difference: \(f(b.meanAbsDifference, 6))  max \(f(Double(b.maxAbsDifference), 6))\n"
            }
            if let k = c.keypoints {
                out += "  landmarks (output \(k.output), \(k.count) per frame, \(k.unit)): mean distance \(f(k.meanDistance, 3))  max \(f(Double(k.maxDistance), 3))  PCK@\(k.pckAlpha) \(f(k.pck))\n"
            }
            let m = c.classes
            out += "  pixel accuracy \(f(m.pixelAccuracy))  mean class accuracy \(f(m.meanClassAccuracy))  mIoU \(f(m.meanIoU))  fwIoU \(f(m.frequencyWeightedIoU))  mean Dice \(f(m.meanDice))\n"
            if m.ignoredPixels > 0 || m.outOfRangePixels > 0 {
                out += "  pixels \(m.pixels)  ignored \(m.ignoredPixels)  out of range \(m.outOfRangePixels)\n"
            }
            out += "  " + pad("class", 22) + lpad("IoU", 8) + lpad("acc", 8) + lpad("Dice", 8) + lpad("ref px", 12) + lpad("cand px", 12) + "\n"
            for p in m.perClass where p.referencePixels > 0 || p.candidatePixels > 0 {
                out += "  " + pad("\(p.id)" + (p.name.map { " \($0)" } ?? ""), 22) + lpad(f(p.iou), 8) + lpad(f(p.accuracy), 8)
                    + lpad(f(p.dice), 8) + lpad("\(p.referencePixels)", 12) + lpad("\(p.candidatePixels)", 12) + "\n"
            }
        }
        return out
    }
}
