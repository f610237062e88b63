import VSegCore

/// Errors from loading, planning and running models.
public enum EngineError: UserFacingError {
    /// The model file does not exist or cannot be read.
    case modelNotFound(path: String)
    /// The file is not a model of the format its name/magic claims, or is damaged.
    case malformedModel(path: String, detail: String)
    /// An operator the engine does not implement (name, index in the graph).
    case unsupportedOp(path: String, op: String, index: Int)
    /// An operator's attributes or input shapes are outside what vseg supports or are inconsistent.
    case invalidOp(node: String, detail: String)
    /// A shape could not be resolved or would be absurdly large.
    case invalidShape(tensor: String, detail: String)
    /// The caller gave an input of the wrong shape/size.
    case inputMismatch(detail: String)
    /// A quantization table line that does not fit the model's graph (a hand
    /// edit, or a table from a vseg whose passes named tensors differently).
    case tableMismatch(tensor: String, detail: String)

    public var description: String {
        switch self {
        case let .modelNotFound(path):
            return "\(path): model not found; give a .tflite/.onnx path or a built-in name (run scripts/setup to fetch the default models)"
        case let .malformedModel(path, detail):
            return "\(path): not a valid model (\(detail)); re-download or re-export it"
        case let .unsupportedOp(path, op, index):
            return "\(path): unsupported operator \(op) at node \(index); run `vseg inspect` to list unsupported ops"
        case let .invalidOp(node, detail):
            return "node \(node): \(detail); check the model's export settings"
        case let .invalidShape(tensor, detail):
            return "tensor \(tensor): \(detail); check the input size the model expects"
        case let .inputMismatch(detail):
            return "model input: \(detail)"
        case let .tableMismatch(tensor, detail):
            return "quantization table, tensor \(tensor): \(detail); re-run vseg calibrate for this model (or fix the line)"
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .inputMismatch: return .input
        default: return .model
        }
    }
}
