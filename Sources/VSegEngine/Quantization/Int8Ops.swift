import VSegCore

/// How the quantization pass picks the uint8 parameters of an INT8 node's output.
enum Int8OutputRule: Equatable {
    /// From the calibration table entry of the output tensor.
    case calibrated
    /// Exactly the parameters of activation input `k` (byte-moving ops: MaxPool,
    /// Pad, nearest Resize, DepthToSpace, Transpose, Reshape...). The table's
    /// range for the output is ignored.
    case sameAsInput(Int)
}

/// One INT8 implementation of an IR op (issue 4). The quantized graph keeps the
/// FP32 graph's `Op` cases; a node runs its INT8 definition when its first input
/// is a uint8 activation (see `QuantizationPass`).
///
/// At prepare (`PrepareContext`):
/// - activation inputs/outputs have dtype `.uint8` and per-tensor `QuantParams`
///   in `inputQuant[k]` / `outputQuant[k]` (`c.activationQuant(input:)`);
/// - constant inputs (weights, bias, a constant operand of Add/Mul, PRelu
///   slopes) are still the FP32 graph's float32 constants in `c.constants`,
///   and the op quantizes them itself.
/// `run` must not allocate. Every definition has a plain reference path
/// (`c.reference`) that tests compare against bit for bit.
protocol Int8OpDefinition {
    /// Whether `c.node` (metas and constants of the FP32 graph, dtypes float32)
    /// can run in INT8. When false the node stays FP32 with dequantize/quantize around it.
    static func supports(_ c: InferContext) -> Bool
    /// How the pass picks the output parameters.
    static func outputRule(_ op: Op) -> Int8OutputRule
    static func prepare(_ c: PrepareContext) throws -> PreparedOp
}

/// The table from IR ops to INT8 implementations; nil means "FP32 only".
enum Int8OpRegistry {
    static func definition(for op: Op) -> Int8OpDefinition.Type? {
        switch op {
        case .conv2D, .depthwiseConv2D, .transposeConv2D: return Int8ConvOp.self
        case .reshape, .squeeze, .unsqueeze, .identity: return Int8AliasOp.self
        default: return Int8ElementwiseOps.definition(for: op)
        }
    }
}

/// Reshape/Squeeze/Unsqueeze/Identity on uint8: the planner aliases the buffer,
/// otherwise a byte copy; the output keeps the input's parameters.
enum Int8AliasOp: Int8OpDefinition {
    static func supports(_ c: InferContext) -> Bool { true }
    static func outputRule(_ op: Op) -> Int8OutputRule { .sameAsInput(0) }
    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        CopyOp(src: c.inPtr[0]!, dst: c.outPtr[0], bytes: c.outputs[0].byteCount)
    }
}

extension PrepareContext {
    /// Per-tensor uint8 parameters of activation input `k`.
    func activationQuant(input k: Int) throws -> ActivationQuant {
        try Self.activationQuant(k < inputQuant.count ? inputQuant[k] : nil, what: "input \(k)", self)
    }

    /// Per-tensor uint8 parameters of output `k`.
    func activationQuant(output k: Int) throws -> ActivationQuant {
        try Self.activationQuant(k < outputQuant.count ? outputQuant[k] : nil, what: "output \(k)", self)
    }

    private static func activationQuant(_ q: QuantParams?, what: String, _ c: PrepareContext) throws -> ActivationQuant {
        guard let q, q.scale.count == 1, let s = q.scale.first, s > 0, s.isFinite,
              let zp = q.zeroPoint.first, (0...255).contains(zp) else {
            throw c.fail("INT8 \(c.node.op.name) needs per-tensor uint8 parameters for \(what)")
        }
        return ActivationQuant(scale: s, zeroPoint: Int32(zp))
    }

    func u8In(_ i: Int) -> UnsafeMutablePointer<UInt8> { inPtr[i]!.assumingMemoryBound(to: UInt8.self) }
    func u8Out(_ i: Int) -> UnsafeMutablePointer<UInt8> { outPtr[i].assumingMemoryBound(to: UInt8.self) }
}

extension ActivationQuant {
    /// As graph `QuantParams` (per tensor).
    var params: QuantParams { QuantParams(scale: [scale], zeroPoint: [Int64(zeroPoint)]) }
}
