import VSegCore

/// Errors from model descriptors, pre- and post-processing.
public enum VisionError: UserFacingError, Equatable {
    /// A built-in model name whose file is in none of the searched places.
    case modelNotFound(name: String, searched: [String])
    /// A name that is neither a built-in model nor an existing .tflite/.onnx file.
    case unknownModel(name: String, known: [String])
    /// The model's input/output shapes do not fit what its descriptor says.
    case descriptorMismatch(model: String, detail: String)
    /// A descriptor (built-in or sidecar) is inconsistent.
    case invalidDescriptor(model: String, detail: String)
    /// A frame in a pixel format the stage cannot use.
    case unsupportedPixelFormat(stage: String, format: PixelFormat)

    public var description: String {
        switch self {
        case let .modelNotFound(name, searched):
            return "model '\(name)' not found in \(searched.joined(separator: ", ")); run scripts/setup or set VSEG_MODELS"
        case let .unknownModel(name, known):
            return "model '\(name)': no such file and not a built-in model (built-ins: \(known.joined(separator: ", "))); give a .tflite/.onnx path or a built-in name"
        case let .descriptorMismatch(model, detail):
            return "model \(model): \(detail); fix the model's .vseg.yaml sidecar or pick the matching model"
        case let .invalidDescriptor(model, detail):
            return "model \(model): invalid descriptor (\(detail)); fix the model's .vseg.yaml sidecar"
        case let .unsupportedPixelFormat(stage, format):
            return "stage \(stage): frames in \(format.rawValue) are not supported; convert to rgb24 first"
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .modelNotFound, .unknownModel, .descriptorMismatch, .invalidDescriptor: return .model
        case .unsupportedPixelFormat: return .internalError
        }
    }
}
