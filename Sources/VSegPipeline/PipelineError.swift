import VSegCore

/// Errors from building and running a pipeline.
public enum PipelineError: UserFacingError, Equatable {
    /// The pipeline YAML is not valid YAML, has an unknown key, or a value of the wrong type.
    case config(file: String, line: Int?, column: Int?, message: String)
    /// A `--set key.path=value` override cannot be applied.
    case badOverride(String, reason: String)
    /// The command line or pipeline asks for something contradictory or incomplete.
    case usage(String)
    /// A stage failed in a way that is not a user error (wrapped so it still prints one line).
    case stageFailed(stage: String, reason: String)
    /// The model named in the pipeline cannot be used.
    case model(name: String, reason: String)

    public var description: String {
        switch self {
        case let .config(file, line, column, message):
            var at = file
            if let l = line { at += ":\(l)" }
            if let c = column { at += ":\(c)" }
            return "\(at): \(message)"
        case let .badOverride(o, reason):
            return "--set \(o): \(reason); use --set key.path=value with a key from the pipeline YAML"
        case let .usage(m):
            return m
        case let .stageFailed(stage, reason):
            return "stage \(stage) failed: \(reason)"
        case let .model(name, reason):
            return "model \(name): \(reason)"
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .config, .badOverride, .usage: return .usage
        case .stageFailed: return .internalError
        case .model: return .model
        }
    }
}
