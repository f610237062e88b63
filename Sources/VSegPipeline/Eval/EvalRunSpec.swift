import VSegCore

/// One side of `vseg eval --compare A,B`: how to run the model for that side.
///
/// - `fp32`: the model as given, in float;
/// - `int8`: the model through the INT8 executor (see `Int8EvalHook`);
/// - `model=PATH`: another model file (or built-in name) in float;
/// - `threshold=X`: the given model with foreground threshold X (mask models).
public enum EvalRunSpec: Sendable, Equatable, CustomStringConvertible {
    case fp32
    case int8
    case model(String)
    case threshold(Float)

    /// Parses one spec ("fp32", "int8", "model=PATH", "threshold=0.4").
    public static func parse(_ text: String) throws -> EvalRunSpec {
        let t = text.trimmingSpaces
        switch t.lowercased() {
        case "fp32", "float", "float32": return .fp32
        case "int8": return .int8
        default: break
        }
        let parts = t.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            throw EvalError.badRunSpec(text, reason: "unknown run")
        }
        switch parts[0].lowercased() {
        case "model":
            guard !parts[1].isEmpty else { throw EvalError.badRunSpec(text, reason: "empty model path") }
            return .model(parts[1])
        case "threshold":
            guard let v = Float(parts[1]), v >= 0, v <= 1 else {
                throw EvalError.badRunSpec(text, reason: "threshold must be a number in [0, 1]")
            }
            return .threshold(v)
        default:
            throw EvalError.badRunSpec(text, reason: "unknown key '\(parts[0])'")
        }
    }

    /// Parses "A,B" into exactly two specs. A model path may itself hold no comma.
    public static func parsePair(_ text: String) throws -> (EvalRunSpec, EvalRunSpec) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else {
            throw EvalError.badRunSpec(text, reason: "--compare takes exactly two runs separated by a comma")
        }
        return (try parse(parts[0]), try parse(parts[1]))
    }

    public var description: String {
        switch self {
        case .fp32: return "fp32"
        case .int8: return "int8"
        case .model(let p): return "model=\(p)"
        case .threshold(let t): return "threshold=\(t)"
        }
    }

    /// The segmentation options for this side, starting from the base (`--model`, `--threads`).
    public func options(base: SegmentationOptions) -> SegmentationOptions {
        var o = base
        switch self {
        case .fp32, .int8: break
        case .model(let p): o.name = p
        case .threshold(let t): o.threshold = t
        }
        return o
    }
}
