import VSegCore

/// Elementwise, pooling, reduction and resize operators.
extension TFLiteGraphBuilder {
    mutating func mapBinary(_ op: TFLiteRawOperator) throws {
        typealias C = TFLiteSchema.Op
        typealias T = TFLiteSchema.OptionsType
        let kind: BinaryKind
        var optionsType: UInt8?
        switch op.code {
        case C.add: kind = .add; optionsType = T.add
        case C.sub: kind = .sub; optionsType = T.sub
        case C.mul: kind = .mul; optionsType = T.mul
        case C.div: kind = .div; optionsType = T.div
        case C.maximum: kind = .max
        case C.minimum: kind = .min
        default: throw unsupported(op)
        }
        var act = Activation.none
        if let optionsType, let o = try options(op, optionsType) {
            act = try activation(op, try o.i8(0))
        }
        emit(.binary(kind, activation: act), op, inputs: [try input(op, 0), try input(op, 1)], outputs: [try output(op)])
    }

    mutating func mapUnary(_ op: TFLiteRawOperator) throws {
        typealias C = TFLiteSchema.Op
        let act: Activation
        switch op.code {
        case C.hardSwish: act = .hardSwish
        case C.relu: act = .relu
        case C.relu6: act = .relu6
        case C.reluN1To1: act = .reluN1To1
        case C.logistic: act = .sigmoid
        case C.tanh: act = .tanh
        case C.leakyRelu:
            let alpha = try options(op, TFLiteSchema.OptionsType.leakyRelu)?.f32(0) ?? 0
            guard alpha.isFinite else { throw invalid(op, "alpha \(alpha) is not finite") }
            act = .leakyRelu(alpha: alpha)
        default: throw unsupported(op)
        }
        emit(.unary(act), op, inputs: [try input(op, 0)], outputs: [try output(op)])
    }

    /// Pool2DOptions: padding 0, stride_w 1, stride_h 2, filter_width 3, filter_height 4, activation 5.
    /// TFLite's average pool divides by the valid (unpadded) pixels only.
    mutating func mapPool(_ op: TFLiteRawOperator) throws {
        guard let o = try options(op, TFLiteSchema.OptionsType.pool2D) else { throw invalid(op, "has no Pool2DOptions") }
        let attrs = PoolAttrs(
            kind: op.code == TFLiteSchema.Op.maxPool2D ? .max : .average,
            kernel: (try window(op, Int(try o.i32(4)), "filter_height"), try window(op, Int(try o.i32(3)), "filter_width")),
            stride: (try window(op, Int(try o.i32(2)), "stride_h"), try window(op, Int(try o.i32(1)), "stride_w")),
            padding: try padding(op, try o.i8(0)), countIncludePad: false,
            activation: try activation(op, try o.i8(5)))
        emit(.pool(attrs), op, inputs: [try input(op, 0)], outputs: [try output(op)])
    }

    /// MEAN: x, axes (constant int) -> y; ReducerOptions.keep_dims (field 0).
    mutating func mapMean(_ op: TFLiteRawOperator) throws {
        let x = try input(op, 0)
        let raw = try constInts(op, try input(op, 1), what: "axes")
        let axes = try axes(op, raw, rank: shape(x).count)
        let keep = try options(op, TFLiteSchema.OptionsType.reducer)?.bool(0) ?? false
        emit(.reduce(.mean, axes: axes, keepDims: keep), op, inputs: [x], outputs: [try output(op)])
    }

    /// RESIZE_BILINEAR (options: align_corners 2, half_pixel_centers 3) and
    /// RESIZE_NEAREST_NEIGHBOR (align_corners 0, half_pixel_centers 1).
    /// Inputs: x, size (int32 [newH, newW]). A constant size becomes
    /// `outputSize`; otherwise the size tensor stays the node's second input.
    ///
    /// Nearest-neighbour follows TFLite's reference kernel: align_corners
    /// rounds `y * (in - 1) / (out - 1)` half away from zero; half_pixel_centers
    /// takes `floor((y + 0.5) * in / out)`; otherwise `floor(y * in / out)`.
    mutating func mapResize(_ op: TFLiteRawOperator) throws {
        let bilinear = op.code == TFLiteSchema.Op.resizeBilinear
        let o = try options(op, bilinear ? TFLiteSchema.OptionsType.resizeBilinear : TFLiteSchema.OptionsType.resizeNearest)
        let align = try o?.bool(bilinear ? 2 : 0) ?? false
        let half = try o?.bool(bilinear ? 3 : 1) ?? false
        guard !(align && half) else { throw invalid(op, "align_corners and half_pixel_centers cannot both be set") }
        var attrs: ResizeAttrs
        if bilinear {
            attrs = ResizeAttrs(mode: .linear, coordinate: align ? .alignCorners : half ? .halfPixel : .asymmetric)
        } else if align {
            attrs = ResizeAttrs(mode: .nearest, coordinate: .alignCorners, nearest: .roundPreferCeil)
        } else {
            attrs = ResizeAttrs(mode: .nearest, coordinate: half ? .tfHalfPixelForNN : .asymmetric, nearest: .floor)
        }
        let x = try input(op, 0), size = try input(op, 1)
        var inputs = [x]
        if let s = tensors[size].data?.asInts {
            guard s.count == 2, s.allSatisfy({ $0 >= 1 && $0 <= ShapeMath.maxElements }) else {
                throw invalid(op, "size \(s) is not a positive [height, width]")
            }
            attrs.outputSize = (s[0], s[1])
        } else {
            inputs.append(size)
        }
        emit(.resize(attrs), op, inputs: inputs, outputs: [try output(op)])
    }
}
