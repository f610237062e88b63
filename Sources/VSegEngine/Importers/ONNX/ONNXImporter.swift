import Foundation
import VSegCore

/// Loads an ONNX model (opsets 11–21, default domain) into the engine IR.
///
/// ## Layout strategy
/// ONNX activations are NCHW; the engine holds rank-4 activations as NHWC.
/// The importer tracks, for every ONNX value, whether it is a rank-4
/// activation *held as NHWC* (its IR tensor's shape is the NHWC permutation
/// of the ONNX shape) or held in the file's plain order.
/// - Graph inputs of rank 4 (float) are held as NHWC; their `GraphIO.toSourceLayout`
///   is [0, 3, 1, 2]. Graph outputs held as NHWC get the same permutation;
///   all other inputs/outputs keep the file's order (nil).
/// - Layout-sensitive ops (Conv, ConvTranspose, pools, Resize, BatchNormalization,
///   Pad, Concat, Softmax, ArgMax, Reduce*, Slice with constant axes, elementwise ops) take
///   NHWC operands and remap their axis attributes; their outputs stay NHWC.
///   A plain rank-4 activation meeting one of them is transposed to NHWC once.
/// - Constant operands of elementwise ops and PRelu slopes are broadcast-aligned
///   to rank 4 and permuted at import ([1,C,1,1] → [1,1,1,C], [C,1,1] → [1,1,C]→[1,1,1,C]).
/// - Ops that depend on memory order (Reshape, Flatten, Transpose, Squeeze, Unsqueeze,
///   Gather, runtime Slice) get a `.transpose([0,3,1,2])` back to NCHW first and continue
///   in plain order. A Transpose of an NHWC-held value is composed with that
///   permutation into one (often identity, then nothing is emitted).
/// - Shape of an NHWC-held value reports the ONNX (NCHW) dims: a constant when the dims
///   are known, otherwise `.shape` followed by a constant gather [0,3,1,2].
///
/// ## Shapes and constant folding
/// Shapes are inferred at import for the given input shape (`inputShapes`, in the
/// file's NCHW order; nil uses the file's own dims, with symbolic dims left as -1).
/// With static dims, shape subgraphs (Shape, Gather, Slice, Cast, Concat, Unsqueeze,
/// Squeeze, Reshape, ConstantOfShape, Add/Sub/Mul/Div, Floor/Ceil on constants) are
/// evaluated here so the executor sees plain constants, and Resize/Reshape get fixed
/// sizes. A model with dynamic H/W is re-planned by importing again with the new
/// input shape. With symbolic dims the same subgraphs are emitted as IR ops.
///
/// ## BatchNormalization
/// Folded into the weights and bias of the Conv/ConvTranspose that produces its
/// input when that output has no other consumer; otherwise emitted as a per-channel
/// `mul` + `add` with [1,1,1,C] constants (the executor's BN pass may fold those).
///
/// ## Resize
/// Exactly one of `ResizeAttrs.outputSize` / `scales` is set: `outputSize` when the file
/// gives sizes (coordinates then map with outputSize / inputSize), `scales` when it gives
/// scales (ONNX maps coordinates with the given scale; the output extent is
/// floor(input * scale), also recorded in the output tensor's shape). Sizes known only at
/// run time arrive as input 1, [outH, outW].
public enum ONNXImporter {
    /// Loads the model at `path`. `inputShapes` maps graph input names to shapes in the
    /// file's own order (NCHW for images); missing entries use the file's dims.
    public static func load(path: String, inputShapes: [String: [Int]]? = nil) throws -> Graph {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError.modelNotFound(path: path)
        }
        return try load(bytes: [UInt8](data), path: path, inputShapes: inputShapes)
    }

    /// Loads a model whose only (or first) graph input gets `inputShape` (file order, NCHW).
    public static func load(path: String, inputShape: [Int]?) throws -> Graph {
        guard let shape = inputShape else { return try load(path: path, inputShapes: nil) }
        return try load(path: path, inputShapes: ["": shape])
    }

    /// Loads a model from memory. `path` names it in errors and anchors external data files.
    public static func load(bytes: [UInt8], path: String, inputShapes: [String: [Int]]? = nil) throws -> Graph {
        let model = try ONNXModelProto(bytes: bytes, path: path)
        let opset = model.defaultOpset
        guard opset >= 7 else {
            throw EngineError.malformedModel(path: path, detail: "opset \(opset) is older than vseg supports (7+); re-export with opset 11 or newer")
        }
        let converter = ONNXConverter(path: path, opset: opset, model: model)
        var graph = try converter.run(inputShapes: inputShapes ?? [:])
        graph.metadata["producer"] = model.producer
        graph.metadata["opset"] = String(opset)
        graph.metadata["ir_version"] = String(model.irVersion)
        if !model.graph.name.isEmpty { graph.metadata["graph"] = model.graph.name }
        return graph
    }
}
