/// Process exit codes, documented in the README. One place so every command agrees.
public enum ExitCode: Int32, Sendable, CaseIterable {
    /// Success.
    case ok = 0
    /// A bug in vseg (an unexpected internal state).
    case internalError = 1
    /// Bad command line or pipeline YAML.
    case usage = 2
    /// The input (file, stream, device) is missing, unreadable, corrupt, or stopped mid-stream.
    case input = 3
    /// The model file is missing, corrupt, or uses something vseg does not support.
    case model = 4
    /// The output cannot be written (directory, extension, encoder, disk).
    case output = 5
    /// Interrupted by SIGINT/SIGTERM; the output was finalized.
    case interrupted = 130
}

/// Every error a user can see conforms: a single line that names the thing that
/// failed and says what to do about it, plus the exit code to leave with.
public protocol UserFacingError: Error, CustomStringConvertible {
    var exitCode: ExitCode { get }
}

/// Errors from the core module.
public enum CoreError: UserFacingError, Equatable {
    /// A value had a shape or size that cannot be represented (overflow, negative, absurd).
    case invalidSize(what: String, detail: String)
    /// A file could not be read.
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidSize(what, detail):
            return "\(what): invalid size (\(detail)); check the input's dimensions"
        case let .unreadableFile(path, reason):
            return "\(path): cannot read (\(reason)); check the path and its permissions"
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .invalidSize: return .input
        case .unreadableFile: return .input
        }
    }
}
