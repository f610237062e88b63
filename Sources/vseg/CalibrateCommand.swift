#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import VSegCore
import VSegEngine
import VSegPipeline

/// `vseg calibrate`: post-training INT8 calibration of a model on sample frames.
struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure activation ranges on sample frames and write the INT8 quantization table.",
        discussion: """
        Runs the model in float on every K-th frame of each input (preprocessed \
        exactly like `vseg run`), up to N frames in total, records the range of every \
        activation and writes one uint8 scale/zero point per tensor to a text table \
        (default calibration/<model file stem>.qtable, where --precision int8 looks). \
        The table records the model's sha256, the method and the frames used.

        Methods: minmax (exact range), percentile (clip both tails at --percentile, \
        default 99.99), entropy (TensorRT-style KL threshold search on 2048-bin \
        histograms, each side of zero separately). --sensitivity quantizes one layer \
        at a time and ranks the layers by output error pooled over the frames \
        (--sensitivity-output I: on model output I only); --keep-fp32 N marks the N \
        worst fp32 in the table, --fp32 KEY marks a tensor by name. --trim-fp32 E \
        then turns kept layers back to INT8, most time saved per unit of error first, \
        while the whole table's relative output error stays at most E.

        Channel equalization (--equalize S, default 0.5; off disables it): a ReLU/ReLU6 \
        conv output read only by convs has each channel scaled up toward the tensor's \
        range (its producer's weights multiplied, its readers' divided; the `equalize` \
        lines), so narrow channels get more of the 256 uint8 levels. S (0 to 1) \
        limits the factor where a dense conv reads the tensor, whose int8 weights \
        lose that much precision; depthwise readers always get the full factor.

        Bias correction (unless --no-bias-correction): each INT8 conv in turn has its \
        mean output error per channel (INT8 minus float, on all the frames) subtracted \
        from its bias: the table's `bias` lines. See calibration/README.md for the \
        table format.

        Exit codes: 2 bad command line, 3 input unreadable or no frames, 4 model \
        missing or unsupported, 5 table cannot be written.

        Examples:
          vseg calibrate --model selfie --input samples/carphone_pristine.mp4
          vseg calibrate --model models/fcn.onnx --input frames/ --every 1 --frames 200 --method entropy
          vseg calibrate --model selfie -i a.mp4 -i b.mp4 --sensitivity --keep-fp32 3 --out /tmp/selfie.qtable
        """)

    @Option(help: ArgumentHelp("Built-in model name or .tflite/.onnx path.", valueName: "name|path"))
    var model: String

    @Option(name: [.short, .long], help: ArgumentHelp("Video, image directory, glob or stream (repeatable).", valueName: "uri"))
    var input: [String] = []

    @Option(help: ArgumentHelp("Use every K-th frame of each input.", valueName: "k"))
    var every: Int = 10

    @Option(help: ArgumentHelp("Stop after N frames in total.", valueName: "n"))
    var frames: Int = 100

    @Option(help: ArgumentHelp("Range method: minmax, percentile or entropy.", valueName: "method"))
    var method: String = "percentile"

    @Option(help: ArgumentHelp("Percentile kept by --method percentile, in (50, 100].", valueName: "p"))
    var percentile: Double?

    @Option(help: ArgumentHelp("Table path (default: calibration/<model file stem>.qtable).", valueName: "path"))
    var out: String?

    @Flag(help: "Rank layers by the output error of quantizing each one alone.")
    var sensitivity = false

    @Option(name: .customLong("keep-fp32"), help: ArgumentHelp("Mark the N most sensitive layers fp32 (implies --sensitivity).", valueName: "n"))
    var keepFP32: Int = 0

    @Option(name: .customLong("sensitivity-output"), help: ArgumentHelp("Rank layers by their error on this model output only (0-based index; repeatable; default: all outputs).", valueName: "i"))
    var sensitivityOutput: [Int] = []

    @Option(name: .customLong("trim-fp32"), help: ArgumentHelp("After --keep-fp32, turn kept layers back to INT8, most time saved per unit of error first, while the whole table's relative output error stays at most E (e.g. 0.01).", valueName: "e"))
    var trimFP32: Double?

    @Option(help: ArgumentHelp("Keep the node producing this tensor FP32 (a key from the table; repeatable).", valueName: "key"))
    var fp32: [String] = []

    @Flag(inversion: .prefixedNo, help: "Fold each INT8 conv's mean per-channel output error on the frames into its bias.")
    var biasCorrection = true

    @Option(help: ArgumentHelp("Channel equalization strength for tensors read by dense convs, 0 to 1; 'off' disables it.", valueName: "s"))
    var equalize: String = "\(ChannelEqualization.defaultStrength)"

    @Option(help: ArgumentHelp("Inference threads (default: one per core).", valueName: "n"))
    var threads: Int?

    @Flag(name: [.short, .long], help: "Print only errors.")
    var quiet = false

    func validate() throws {
        if input.isEmpty { throw ValidationError("--input is required (a video, image directory, glob or stream)") }
        if input.contains(where: \.isEmpty) { throw ValidationError("--input must not be empty") }
        if every < 1 { throw ValidationError("--every must be at least 1, got \(every)") }
        if frames < 1 { throw ValidationError("--frames must be at least 1, got \(frames)") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1, got \(t)") }
        if keepFP32 < 0 { throw ValidationError("--keep-fp32 must be 0 or more, got \(keepFP32)") }
        if let t = trimFP32 {
            if !(t >= 0 && t.isFinite) { throw ValidationError("--trim-fp32 must be an error budget of 0 or more, got \(t)") }
            if keepFP32 == 0 { throw ValidationError("--trim-fp32 trims the layers --keep-fp32 N keeps; add --keep-fp32 N") }
        }
        if let o = out, o.isEmpty { throw ValidationError("--out must not be empty") }
        _ = try parsedMethod()
        _ = try parsedEqualize()
    }

    func parsedEqualize() throws -> Float? {
        if equalize == "off" { return nil }
        guard let v = Float(equalize), v >= 0, v <= 1 else {
            throw ValidationError("--equalize must be a strength from 0 to 1 or 'off', got '\(equalize)'")
        }
        return v
    }

    func parsedMethod() throws -> CalibrationMethod {
        switch method {
        case "minmax", "entropy":
            if percentile != nil { throw ValidationError("--percentile only applies to --method percentile") }
            return method == "minmax" ? .minmax : .entropy
        case "percentile":
            let p = percentile ?? CalibrationMethod.defaultPercentile
            guard p > 50, p <= 100 else { throw ValidationError("--percentile must be in (50, 100], got \(p)") }
            return .percentile(p)
        default:
            throw ValidationError("--method must be one of \(CalibrationMethod.names.joined(separator: ", ")); got '\(method)'")
        }
    }

    func run() throws {
        var o = CalibrationOptions(model: model, inputs: input)
        o.every = every
        o.maxFrames = frames
        o.method = try parsedMethod()
        o.out = out
        o.sensitivity = sensitivity
        o.keepFP32 = keepFP32
        o.fp32 = fp32
        o.sensitivityOutputs = sensitivityOutput
        o.trimFP32 = trimFP32
        o.threads = threads
        o.biasCorrection = biasCorrection
        o.equalization = try parsedEqualize()
        let quiet = self.quiet
        let r = try CalibrationJob.run(o) { if !quiet { fputs("info: \($0)\n", stderr) } }
        if quiet { return }
        let fp32 = r.table.entries.filter(\.keepFP32).count
        print("wrote \(r.tablePath): \(r.table.entries.count) tensors, \(r.frames) frames (every \(every)), method \(r.table.method), "
              + "\(EvalTable.f(r.seconds, 1)) s" + (fp32 > 0 ? ", \(fp32) kept fp32" : ""))
        let equalized = r.table.entries.compactMap(\.equalization)
        if !equalized.isEmpty {
            let scaled = equalized.reduce(0) { n, f in n + f.filter { $0 > 1 }.count }
            let channels = equalized.reduce(0) { $0 + $1.count }
            print("equalization: \(equalized.count) tensors, \(scaled) of their \(channels) channels scaled up")
        }
        if !r.biasCorrection.isEmpty {
            let convs = r.biasCorrection.filter { $0.correctedChannels > 0 }.count
            print("bias correction: \(convs) of \(r.biasCorrection.count) INT8 convs corrected")
        }
        if !r.sensitivityFailures.isEmpty {
            print("sensitivity skipped \(r.sensitivityFailures.count) layers whose INT8 session failed to build (first: \(r.sensitivityFailures[0].key): \(r.sensitivityFailures[0].reason))")
        }
        if let t = r.trim {
            let pct = t.fp32MACsBefore > 0 ? 100 * Double(t.fp32MACsBefore - t.fp32MACsAfter) / Double(t.fp32MACsBefore) : 0
            print("trim: \(t.trimmed.count) of \(r.keptFP32.count + t.trimmed.count) kept layers back in INT8 (\(EvalTable.f(pct, 0))% of their MACs), "
                  + "error \(EvalTable.f(t.baseScore, 6)) -> \(EvalTable.f(t.finalScore, 6)) (limit \(EvalTable.f(t.limit, 6)))")
        }
        if !r.sensitivity.isEmpty {
            print("most sensitive layers (relative L2 output error over the frames when quantized alone):")
            for s in r.sensitivity.prefix(max(5, r.keptFP32.count)) {
                print("  " + EvalTable.pad(s.key, 40) + EvalTable.f(s.error, 6) + (r.keptFP32.contains(s.key) ? "  fp32" : ""))
            }
        }
    }
}
