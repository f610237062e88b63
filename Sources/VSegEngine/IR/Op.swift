/// Every operation the engine knows, with its attributes. Axis-valued
/// attributes refer to the internal layout (NHWC for rank-4 activations);
/// importers remap them. Inputs per case are listed in its doc line.
public enum Op: Sendable {
    /// x, weight (OHWI), bias? -> y
    case conv2D(ConvAttrs)
    /// x, weight [1,KH,KW,Cin*mult], bias? -> y
    case depthwiseConv2D(ConvAttrs, multiplier: Int)
    /// x, weight (OHWI), bias? -> y. `attrs.padding` is the padding removed from the full output.
    case transposeConv2D(ConvAttrs, outputPadding: (h: Int, w: Int))
    /// a, b -> y, numpy broadcasting.
    case binary(BinaryKind, activation: Activation)
    /// x -> y
    case unary(Activation)
    /// x, slope -> y (slope broadcasts to x).
    case prelu
    /// x -> y
    case pool(PoolAttrs)
    /// x -> y; reduces `axes` (mean). Global average pooling is mean over H, W.
    case reduce(ReduceKind, axes: [Int], keepDims: Bool)
    /// x, sizes? (int, [outH, outW] or full shape), scales? (float, per axis) -> y.
    /// Importers may instead fill `ResizeAttrs.outputSize`/`scales`.
    case resize(ResizeAttrs)
    /// x, pads (int [rank, 2] as (before, after) per axis), constantValue? -> y
    case pad(PadMode)
    /// x, shape? -> y. `newShape` used when there is no shape input; 0 copies, -1 infers.
    case reshape(newShape: [Int]?)
    /// x -> y; `perm` of the input axes.
    case transpose(perm: [Int])
    /// inputs... -> y
    case concat(axis: Int)
    /// x -> y (NHWC). `dcr`: ONNX's DCR mode / TFLite order; false: CRD.
    case depthToSpace(blockSize: Int, dcr: Bool)
    /// x -> y
    case softmax(axis: Int)
    /// x -> y (int64 indices, or int32 when `outputInt32`)
    case argMax(axis: Int, keepDims: Bool, selectLastIndex: Bool)
    /// x -> y (int64 shape of x, in the file's layout if the importer says so)
    case shape
    /// data, indices -> y
    case gather(axis: Int)
    /// data, starts, ends, axes?, steps? -> y
    case slice
    /// x -> y
    case cast(to: DType)
    /// shape -> y filled with value
    case constantOfShape(value: TensorData)
    /// x -> y (removes `axes`; empty = all size-1 axes)
    case squeeze(axes: [Int])
    /// x -> y
    case unsqueeze(axes: [Int])
    /// x -> y (float16/int8 constant or activation to float32)
    case dequantize
    /// x -> y (float32 to int8/uint8 with the output tensor's QuantParams)
    case quantize
    /// x -> y, a no-op (e.g. DENSIFY after the importer densified the constant, Identity, Dropout).
    case identity
}

public struct ConvAttrs: Sendable, Equatable {
    public var kernel: (h: Int, w: Int)
    public var stride: (h: Int, w: Int)
    public var dilation: (h: Int, w: Int)
    public var padding: Padding
    public var groups: Int
    public var activation: Activation

    public init(kernel: (h: Int, w: Int), stride: (h: Int, w: Int) = (1, 1), dilation: (h: Int, w: Int) = (1, 1),
                padding: Padding = .explicit(top: 0, left: 0, bottom: 0, right: 0), groups: Int = 1,
                activation: Activation = .none) {
        self.kernel = kernel; self.stride = stride; self.dilation = dilation
        self.padding = padding; self.groups = groups; self.activation = activation
    }

    public static func == (a: ConvAttrs, b: ConvAttrs) -> Bool {
        a.kernel == b.kernel && a.stride == b.stride && a.dilation == b.dilation
            && a.padding == b.padding && a.groups == b.groups && a.activation == b.activation
    }
}

/// Spatial padding. `.same`/`.valid` follow TFLite (SAME puts the extra pixel
/// at the bottom/right, like ONNX SAME_UPPER); `.sameLower` is ONNX SAME_LOWER.
/// Shape inference turns these into explicit amounts.
public enum Padding: Sendable, Equatable {
    case valid
    case same
    case sameLower
    case explicit(top: Int, left: Int, bottom: Int, right: Int)
}

public struct PoolAttrs: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case average, max }
    public var kind: Kind
    public var kernel: (h: Int, w: Int)
    public var stride: (h: Int, w: Int)
    public var dilation: (h: Int, w: Int)
    public var padding: Padding
    /// Average pooling: divide by the full window (true) or by the valid pixels only (false; TFLite's behaviour).
    public var countIncludePad: Bool
    public var ceilMode: Bool
    public var activation: Activation

    public init(kind: Kind, kernel: (h: Int, w: Int), stride: (h: Int, w: Int), dilation: (h: Int, w: Int) = (1, 1),
                padding: Padding, countIncludePad: Bool = false, ceilMode: Bool = false, activation: Activation = .none) {
        self.kind = kind; self.kernel = kernel; self.stride = stride; self.dilation = dilation
        self.padding = padding; self.countIncludePad = countIncludePad; self.ceilMode = ceilMode
        self.activation = activation
    }

    public static func == (a: PoolAttrs, b: PoolAttrs) -> Bool {
        a.kind == b.kind && a.kernel == b.kernel && a.stride == b.stride && a.dilation == b.dilation
            && a.padding == b.padding && a.countIncludePad == b.countIncludePad && a.ceilMode == b.ceilMode
            && a.activation == b.activation
    }
}

public enum BinaryKind: String, Sendable, Equatable { case add, sub, mul, div, max, min }

public enum ReduceKind: String, Sendable, Equatable { case mean, max, sum }

/// Elementwise activations, standalone or fused into the op before them.
public enum Activation: Sendable, Equatable {
    case none
    case relu
    case relu6
    case reluN1To1
    case clip(min: Float, max: Float)
    case leakyRelu(alpha: Float)
    case sigmoid
    case tanh
    case hardSwish
    /// y = max(0, min(1, alpha * x + beta)); ONNX defaults alpha 0.2, beta 0.5.
    case hardSigmoid(alpha: Float, beta: Float)
}

public struct ResizeAttrs: Sendable, Equatable {
    public enum Mode: String, Sendable, Equatable { case nearest, linear }
    public enum CoordinateTransform: String, Sendable, Equatable {
        case asymmetric, halfPixel, pytorchHalfPixel, alignCorners, tfHalfPixelForNN
    }
    public enum NearestRounding: String, Sendable, Equatable { case roundPreferFloor, roundPreferCeil, floor, ceil }
    public var mode: Mode
    public var coordinate: CoordinateTransform
    public var nearest: NearestRounding
    /// Fixed output [H, W] when known at import.
    public var outputSize: (h: Int, w: Int)?
    /// Scale factors [H, W] when the file gives scales instead of sizes.
    public var scales: (h: Float, w: Float)?

    public init(mode: Mode, coordinate: CoordinateTransform, nearest: NearestRounding = .roundPreferFloor,
                outputSize: (h: Int, w: Int)? = nil, scales: (h: Float, w: Float)? = nil) {
        self.mode = mode; self.coordinate = coordinate; self.nearest = nearest
        self.outputSize = outputSize; self.scales = scales
    }

    public static func == (a: ResizeAttrs, b: ResizeAttrs) -> Bool {
        a.mode == b.mode && a.coordinate == b.coordinate && a.nearest == b.nearest
            && a.outputSize?.h == b.outputSize?.h && a.outputSize?.w == b.outputSize?.w
            && a.scales?.h == b.scales?.h && a.scales?.w == b.scales?.w
    }
}

extension Activation {
    /// Short name ("Relu6", "HardSwish") for profiles and histograms.
    public var name: String {
        switch self {
        case .none: return "Identity"
        case .relu: return "Relu"
        case .relu6: return "Relu6"
        case .reluN1To1: return "ReluN1To1"
        case .clip: return "Clip"
        case .leakyRelu: return "LeakyRelu"
        case .sigmoid: return "Sigmoid"
        case .tanh: return "Tanh"
        case .hardSwish: return "HardSwish"
        case .hardSigmoid: return "HardSigmoid"
        }
    }
}

public enum PadMode: String, Sendable, Equatable { case constant, reflect, edge }

extension Op {
    /// Short op name for histograms, profiles and error messages.
    public var name: String {
        switch self {
        case .conv2D: return "Conv2D"
        case .depthwiseConv2D: return "DepthwiseConv2D"
        case .transposeConv2D: return "TransposeConv2D"
        case .binary(let k, _): return k.rawValue.prefix(1).uppercased() + k.rawValue.dropFirst()
        case .unary(let a): return a.name
        case .prelu: return "PRelu"
        case .pool(let p): return p.kind == .average ? "AveragePool" : "MaxPool"
        case .reduce(let k, _, _): return "Reduce" + k.rawValue.prefix(1).uppercased() + k.rawValue.dropFirst()
        case .resize: return "Resize"
        case .pad: return "Pad"
        case .reshape: return "Reshape"
        case .transpose: return "Transpose"
        case .concat: return "Concat"
        case .depthToSpace: return "DepthToSpace"
        case .softmax: return "Softmax"
        case .argMax: return "ArgMax"
        case .shape: return "Shape"
        case .gather: return "Gather"
        case .slice: return "Slice"
        case .cast: return "Cast"
        case .constantOfShape: return "ConstantOfShape"
        case .squeeze: return "Squeeze"
        case .unsqueeze: return "Unsqueeze"
        case .dequantize: return "Dequantize"
        case .quantize: return "Quantize"
        case .identity: return "Identity"
        }
    }
}
