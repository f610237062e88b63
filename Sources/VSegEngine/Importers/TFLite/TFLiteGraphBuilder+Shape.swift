import VSegCore

/// Layout operators (PAD, RESHAPE, CONCATENATION, DEPTH_TO_SPACE, SOFTMAX)
/// and the constant-only ones folded at import (DEQUANTIZE, DENSIFY).
extension TFLiteGraphBuilder {
    /// PAD: x, paddings ([rank, 2] int) -> y. PADV2 adds a constant value input.
    mutating func mapPad(_ op: TFLiteRawOperator) throws {
        let x = try input(op, 0), pads = try input(op, 1)
        if let p = tensors[pads].data?.asInts {
            let rank = shape(x).count
            guard p.count == 2 * rank, p.allSatisfy({ $0 >= 0 && $0 <= ShapeMath.maxElements }) else {
                throw invalid(op, "paddings \(p) do not fit an input of rank \(rank)")
            }
        }
        var inputs = [x, pads]
        if op.code == TFLiteSchema.Op.padV2 { inputs.append(try input(op, 2)) }
        emit(.pad(.constant), op, inputs: inputs, outputs: [try output(op)])
    }

    /// RESHAPE: x, shape? -> y. The new shape comes from a constant shape
    /// input, else ReshapeOptions.new_shape, else the output tensor's static
    /// shape. TFLite has no "0 copies the input dimension" rule, so a 0 in the
    /// shape falls back to the output tensor's shape.
    mutating func mapReshape(_ op: TFLiteRawOperator) throws {
        let x = try input(op, 0), y = try output(op)
        let shapeInput = optionalInput(op, 1)
        var newShape: [Int]?
        if shapeInput >= 0 {
            guard let s = tensors[shapeInput].data?.asInts else {
                emit(.reshape(newShape: nil), op, inputs: [x, shapeInput], outputs: [y])
                return
            }
            newShape = s
        } else if let o = try options(op, TFLiteSchema.OptionsType.reshape),
                  let v = try o.vector(0, elementSize: 4, what: "ReshapeOptions.new_shape") {
            guard v.count <= TFLiteModelReader.maxRank else { throw invalid(op, "new_shape has rank \(v.count)") }
            newShape = v.ints()
        }
        if newShape?.contains(0) ?? true {
            newShape = shape(y)
        }
        let s = newShape ?? []
        guard s.filter({ $0 == -1 }).count <= 1, s.allSatisfy({ $0 >= -1 }),
              ShapeMath.elementCount(s.map { max($0, 1) }) != nil else {
            throw invalid(op, "new shape \(s) is invalid")
        }
        emit(.reshape(newShape: s), op, inputs: [x], outputs: [y])
    }

    /// CONCATENATION: ConcatenationOptions axis 0, fused activation 1. The
    /// activation becomes a separate node after the concat.
    mutating func mapConcatenation(_ op: TFLiteRawOperator) throws {
        let y = try output(op)
        let xs = op.inputs
        guard !xs.isEmpty, xs.allSatisfy({ $0 >= 0 }) else { throw invalid(op, "has a missing input") }
        let o = try options(op, TFLiteSchema.OptionsType.concatenation)
        let rank = shape(y).count
        let axis = try axes(op, [Int(try o?.i32(0) ?? 0)], rank: rank)[0]
        emit(.concat(axis: axis), op, inputs: xs, output: y, thenActivation: try activation(op, try o?.i8(1) ?? 0))
    }

    mutating func mapDepthToSpace(_ op: TFLiteRawOperator) throws {
        let block = try window(op, Int(try options(op, TFLiteSchema.OptionsType.depthToSpace)?.i32(0) ?? 0), "block_size")
        emit(.depthToSpace(blockSize: block, dcr: true), op, inputs: [try input(op, 0)], outputs: [try output(op)])
    }

    /// SOFTMAX over the last axis of `beta * x`. A beta other than 1 becomes a
    /// multiply by a scalar constant before the softmax.
    mutating func mapSoftmax(_ op: TFLiteRawOperator) throws {
        var x = try input(op, 0)
        let y = try output(op)
        let rank = shape(x).count
        guard rank >= 1 else { throw invalid(op, "input is a scalar") }
        let beta = try options(op, TFLiteSchema.OptionsType.softmax)?.f32(0) ?? 1
        guard beta.isFinite else { throw invalid(op, "beta \(beta) is not finite") }
        if beta != 1 {
            let b = tensors.count
            tensors.append(TensorInfo(name: tensors[y].name + "/beta", shape: [1], dtype: .float32, data: .float32([beta])))
            var scaled = tensors[x]
            scaled.name = tensors[y].name + "/scaled_logits"
            scaled.data = nil
            let m = tensors.count
            tensors.append(scaled)
            emit(.binary(.mul, activation: .none), op, inputs: [x, b], outputs: [m], suffix: "_beta")
            x = m
        }
        emit(.softmax(axis: rank - 1), op, inputs: [x], outputs: [y])
    }

    /// DEQUANTIZE. A constant input is folded into a float32 constant on the
    /// output tensor; an activation input becomes a `.dequantize` node.
    mutating func mapDequantize(_ op: TFLiteRawOperator) throws {
        let x = try input(op, 0), y = try output(op)
        guard let data = tensors[x].data else {
            emit(.dequantize, op, inputs: [x], outputs: [y])
            return
        }
        let floats: [Float]
        switch data {
        case .float16(let h):
            floats = Float16Widening.widen(h)
        case .int8, .uint8, .int32:
            guard let q = tensors[x].quant else { throw invalid(op, "integer constant has no quantization parameters") }
            floats = try dequantize(op, data.asFloats, shape: shape(x), quant: q)
        case .float32(let f):
            floats = f
        default:
            throw invalid(op, "cannot dequantize a \(data.dtype) constant")
        }
        try fold(op, from: x, to: y, data: .float32(floats))
    }

    /// DENSIFY: the sparse constant was densified when read; its dense data moves to the output.
    mutating func mapDensify(_ op: TFLiteRawOperator) throws {
        let x = try input(op, 0), y = try output(op)
        guard let data = tensors[x].data else { throw invalid(op, "input is not a constant") }
        try fold(op, from: x, to: y, data: data)
    }

    private mutating func fold(_ op: TFLiteRawOperator, from x: Int, to y: Int, data: TensorData) throws {
        let xs = shape(x), ys = shape(y)
        guard ys.count == xs.count, zip(xs, ys).allSatisfy({ $0 == $1 || $1 == -1 }) else {
            throw invalid(op, "output shape \(ys) differs from input shape \(xs)")
        }
        let what = "folding " + nodeName(op)
        try budget.charge(data.count * data.dtype.byteSize, for: what)
        tensors[y].shape = xs
        tensors[y].dtype = data.dtype
        tensors[y].data = data
        folded[op.name, default: 0] += 1
    }

    /// real = scale * (q - zeroPoint), per tensor or per channel along `quant.axis`.
    private func dequantize(_ op: TFLiteRawOperator, _ q: [Float], shape: [Int], quant: QuantParams) throws -> [Float] {
        let channels = quant.scale.count
        if channels == 1 {
            let s = quant.scale[0], z = Float(quant.zeroPoint[0])
            return q.map { s * ($0 - z) }
        }
        guard quant.axis >= 0, quant.axis < shape.count, shape[quant.axis] == channels else {
            throw invalid(op, "\(channels) per-channel scales do not match axis \(quant.axis) of \(shape)")
        }
        let inner = shape[(quant.axis + 1)...].reduce(1, *)
        var out = [Float](repeating: 0, count: q.count)
        for i in 0..<q.count {
            let c = (i / inner) % channels
            out[i] = quant.scale[c] * (q[i] - Float(quant.zeroPoint[c]))
        }
        return out
    }
}
