import VSegCore

/// Errors from `vseg eval`.
public enum EvalError: UserFacingError, Equatable {
    /// A `--compare` run spec that is not fp32, int8, model=PATH or threshold=X.
    case badRunSpec(String, reason: String)
    /// A ground-truth label image for a frame is missing.
    case labelMissing(frame: Int, tried: [String])
    /// A ground-truth label image does not match the frame it belongs to.
    case labelMismatch(path: String, detail: String)
    /// The two runs produce different kinds of output (mask vs classes, or class counts).
    case incomparable(detail: String)
    /// No frame was evaluated.
    case noFrames(inputs: [String])

    public var description: String {
        switch self {
        case let .badRunSpec(spec, reason):
            return "--compare run '\(spec)': \(reason); use fp32, int8, model=PATH or threshold=X (e.g. --compare fp32,threshold=0.4)"
        case let .labelMissing(frame, tried):
            return "no ground-truth label for frame \(frame) (tried \(tried.joined(separator: ", "))); name labels DIR/%06d.png by frame index or like the input images"
        case let .labelMismatch(path, detail):
            return "label \(path): \(detail); labels must be gray8 PNGs of the frame's size, one class id per pixel"
        case let .incomparable(detail):
            return "the two runs cannot be compared (\(detail)); compare variants of the same model family"
        case let .noFrames(inputs):
            return "no frame evaluated from \(inputs.joined(separator: ", ")); check --input, --every and --frames"
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .badRunSpec: return .usage
        case .incomparable: return .model
        case .labelMissing, .labelMismatch, .noFrames: return .input
        }
    }
}
