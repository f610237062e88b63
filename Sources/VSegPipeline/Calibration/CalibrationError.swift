import VSegCore

/// Errors of calibration and of finding a calibration table.
public enum CalibrationError: UserFacingError, Equatable {
    /// None of the inputs gave a frame to calibrate on.
    case noFrames(inputs: [String])
    /// No `<stem>.qtable` for the model in any searched directory; `command` makes one.
    case tableNotFound(model: String, searched: [String], command: String)
    /// An explicit --qtable path that does not exist.
    case explicitTableMissing(path: String, command: String)
    /// The output directory for the table could not be created.
    case cannotCreateDirectory(path: String, reason: String)
    /// `--fp32` named a tensor the model's table does not have.
    case unknownTensor(key: String, model: String, example: String)

    public var description: String {
        switch self {
        case let .noFrames(inputs):
            return "\(inputs.joined(separator: ", ")): no frames to calibrate on; check the inputs, or lower --every"
        case let .tableNotFound(model, searched, command):
            return "\(model): no INT8 calibration table (looked for \(searched.joined(separator: ", "))); make one with `\(command)`"
        case let .explicitTableMissing(path, command):
            return "\(path): no such quantization table; check --qtable or make it with `\(command)`"
        case let .cannotCreateDirectory(path, reason):
            return "\(path): cannot create the directory for the table (\(reason)); choose a writable --out path"
        case let .unknownTensor(key, model, example):
            return "--fp32 \(key): \(model) has no such activation tensor; use a key from the table's tensor lines (e.g. \(example))"
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .noFrames: return .input
        case .unknownTensor: return .usage
        case .tableNotFound, .explicitTableMissing: return .model
        case .cannotCreateDirectory: return .output
        }
    }
}
