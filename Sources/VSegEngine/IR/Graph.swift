/// The model IR shared by importers, passes, the planner and the executor.
///
/// Layout: rank-4 activations are NHWC inside the engine, whatever the source
/// format. TFLite is NHWC already; the ONNX importer converts NCHW at import
/// (permuting weights and remapping axis attributes) and records, per graph
/// input/output, the permutation back to the file's own layout in `GraphIO`.
/// Tensors of other ranks keep the file's order.
///
/// Weight layouts (constants):
/// - conv2D:           [Cout, KH, KW, Cin/groups]    (OHWI)
/// - depthwiseConv2D:  [1, KH, KW, Cin*multiplier]   (TFLite's layout)
/// - transposeConv2D:  [Cout, KH, KW, Cin]           (OHWI)
/// Bias is [Cout] float32 when present.
public struct Graph: Sendable {
    public var tensors: [TensorInfo]
    public var nodes: [Node]
    public var inputs: [GraphIO]
    public var outputs: [GraphIO]
    public var format: SourceFormat
    /// Free-form facts from the file (producer, opset, description) for `vseg inspect`.
    public var metadata: [String: String]

    public init(tensors: [TensorInfo] = [], nodes: [Node] = [], inputs: [GraphIO] = [], outputs: [GraphIO] = [],
                format: SourceFormat, metadata: [String: String] = [:]) {
        self.tensors = tensors; self.nodes = nodes; self.inputs = inputs; self.outputs = outputs
        self.format = format; self.metadata = metadata
    }

    /// Appends a tensor and returns its index.
    @discardableResult
    public mutating func addTensor(_ t: TensorInfo) -> Int {
        tensors.append(t)
        return tensors.count - 1
    }

    /// Appends a constant float tensor and returns its index.
    @discardableResult
    public mutating func addConstant(name: String, shape: [Int], data: TensorData) -> Int {
        addTensor(TensorInfo(name: name, shape: shape, dtype: data.dtype, data: data))
    }
}

public enum SourceFormat: String, Sendable { case tflite, onnx, builtin }

/// One graph input or output.
public struct GraphIO: Sendable, Equatable {
    /// Index into `Graph.tensors`.
    public var tensor: Int
    /// Name as the model file spells it.
    public var name: String
    /// Permutation that takes the internal layout to the file's layout
    /// (e.g. [0, 3, 1, 2] for an ONNX NCHW tensor held as NHWC). Nil: same order.
    public var toSourceLayout: [Int]?
    public init(tensor: Int, name: String, toSourceLayout: [Int]? = nil) {
        self.tensor = tensor; self.name = name; self.toSourceLayout = toSourceLayout
    }
}

/// A tensor: activation, graph input or constant.
public struct TensorInfo: Sendable {
    public var name: String
    /// Dimensions in the internal layout; -1 marks a dimension unknown until
    /// the input size is fixed (dynamic H/W, batch).
    public var shape: [Int]
    public var dtype: DType
    /// Constant contents, nil for activations.
    public var data: TensorData?
    /// Quantization parameters from the file or from calibration.
    public var quant: QuantParams?

    public init(name: String, shape: [Int], dtype: DType, data: TensorData? = nil, quant: QuantParams? = nil) {
        self.name = name; self.shape = shape; self.dtype = dtype; self.data = data; self.quant = quant
    }

    public var isConstant: Bool { data != nil }
}

/// One operation. `inputs` index `Graph.tensors`; an optional input that is
/// absent is -1 (e.g. a conv without bias).
public struct Node: Sendable {
    public var op: Op
    public var inputs: [Int]
    public var outputs: [Int]
    /// Name for error messages and the per-layer profile ("conv2d_12" if the file has none).
    public var name: String
    public init(op: Op, inputs: [Int], outputs: [Int], name: String) {
        self.op = op; self.inputs = inputs; self.outputs = outputs; self.name = name
    }
}
