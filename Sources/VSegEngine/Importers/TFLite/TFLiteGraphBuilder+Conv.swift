import VSegCore

/// Convolution family: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and
/// MediaPipe's custom Convolution2DTransposeBias.
extension TFLiteGraphBuilder {
    /// The rank-4 weight shape with every dimension positive.
    private func weightShape(_ op: TFLiteRawOperator, _ w: Int) throws -> [Int] {
        let s = shape(w)
        guard s.count == 4, s.allSatisfy({ $0 >= 1 }) else { throw invalid(op, "weights have shape \(s), expected rank 4") }
        _ = try window(op, s[1], "kernel height")
        _ = try window(op, s[2], "kernel width")
        return s
    }

    private func checkBias(_ op: TFLiteRawOperator, _ bias: Int, channels: Int) throws {
        guard bias >= 0 else { return }
        let s = shape(bias)
        guard s.count == 1, s[0] == channels || s[0] == -1 else {
            throw invalid(op, "bias has shape \(s), expected [\(channels)]")
        }
    }

    mutating func mapConv2D(_ op: TFLiteRawOperator) throws {
        let x = try input(op, 0), w = try input(op, 1), bias = optionalInput(op, 2)
        let o = try options(op, TFLiteSchema.OptionsType.conv2D)
        let ws = try weightShape(op, w)
        let inC = shape(x).count == 4 ? shape(x)[3] : -1
        var groups = 1
        if inC > 0 {
            guard inC % ws[3] == 0 else { throw invalid(op, "input has \(inC) channels, weights expect \(ws[3]) per group") }
            groups = inC / ws[3]
            guard ws[0] % groups == 0 else { throw invalid(op, "\(ws[0]) output channels do not split into \(groups) groups") }
        }
        try checkBias(op, bias, channels: ws[0])
        let attrs = ConvAttrs(
            kernel: (ws[1], ws[2]),
            stride: (try window(op, Int(try o?.i32(2) ?? 0), "stride_h"), try window(op, Int(try o?.i32(1) ?? 0), "stride_w")),
            dilation: (try window(op, Int(try o?.i32(5, default: 1) ?? 1), "dilation_h"),
                       try window(op, Int(try o?.i32(4, default: 1) ?? 1), "dilation_w")),
            padding: try padding(op, try o?.i8(0) ?? 0), groups: groups,
            activation: try activation(op, try o?.i8(3) ?? 0))
        emit(.conv2D(attrs), op, inputs: [x, w, bias], outputs: [try output(op)])
    }

    mutating func mapDepthwiseConv2D(_ op: TFLiteRawOperator) throws {
        let x = try input(op, 0), w = try input(op, 1), bias = optionalInput(op, 2)
        let o = try options(op, TFLiteSchema.OptionsType.depthwiseConv2D)
        let ws = try weightShape(op, w)
        guard ws[0] == 1 else { throw invalid(op, "depthwise weights have shape \(ws), expected [1, KH, KW, C*m]") }
        let inC = shape(x).count == 4 ? shape(x)[3] : -1
        // The channel counts decide the multiplier; the option is only a fallback (some converters leave it 0).
        var multiplier: Int
        if inC > 0 {
            guard ws[3] % inC == 0 else { throw invalid(op, "\(ws[3]) output channels are not a multiple of \(inC) input channels") }
            multiplier = ws[3] / inC
        } else {
            multiplier = try window(op, Int(try o?.i32(3) ?? 1), "depth_multiplier")
            guard ws[3] % multiplier == 0 else { throw invalid(op, "depth_multiplier \(multiplier) does not divide \(ws[3])") }
        }
        try checkBias(op, bias, channels: ws[3])
        let attrs = ConvAttrs(
            kernel: (ws[1], ws[2]),
            stride: (try window(op, Int(try o?.i32(2) ?? 0), "stride_h"), try window(op, Int(try o?.i32(1) ?? 0), "stride_w")),
            dilation: (try window(op, Int(try o?.i32(6, default: 1) ?? 1), "dilation_h"),
                       try window(op, Int(try o?.i32(5, default: 1) ?? 1), "dilation_w")),
            padding: try padding(op, try o?.i8(0) ?? 0), groups: ws[3] / multiplier,
            activation: try activation(op, try o?.i8(4) ?? 0))
        emit(.depthwiseConv2D(attrs, multiplier: multiplier), op, inputs: [x, w, bias], outputs: [try output(op)])
    }

    /// Static spatial size of `x`, which transposed convolutions need to turn
    /// SAME/VALID into explicit amounts.
    private func spatial(_ op: TFLiteRawOperator, _ x: Int) throws -> (h: Int, w: Int) {
        let s = shape(x)
        guard s.count == 4, s[1] >= 1, s[2] >= 1 else {
            throw invalid(op, "input shape \(s) must have a static height and width for a transposed convolution")
        }
        return (s[1], s[2])
    }

    /// TFLite TRANSPOSE_CONV. Inputs: output_shape, weights (OHWI), input, bias?.
    /// TFLite pads as the forward conv that maps the output back to the input
    /// would: `before = total / 2` where total is that conv's SAME/VALID
    /// padding for the given output size. The rest of the full transposed
    /// output `(in - 1) * s + k` is cut at the bottom/right, or added as
    /// output padding when the requested output is larger.
    mutating func mapTransposeConv(_ op: TFLiteRawOperator) throws {
        let outShapeT = try input(op, 0), w = try input(op, 1), x = try input(op, 2), bias = optionalInput(op, 3)
        let o = try options(op, TFLiteSchema.OptionsType.transposeConv)
        let ws = try weightShape(op, w)
        let outShape = try constInts(op, outShapeT, what: "output_shape")
        guard outShape.count == 4, outShape.allSatisfy({ $0 >= 1 && $0 <= ShapeMath.maxElements }), outShape[3] == ws[0] else {
            throw invalid(op, "output_shape \(outShape) does not fit weights \(ws)")
        }
        let inHW = try spatial(op, x)
        if shape(x)[3] > 0, shape(x)[3] != ws[3] { throw invalid(op, "input has \(shape(x)[3]) channels, weights expect \(ws[3])") }
        try checkBias(op, bias, channels: ws[0])
        let pad = try padding(op, try o?.i8(0) ?? 0)
        let sh = try window(op, Int(try o?.i32(2) ?? 0), "stride_h"), sw = try window(op, Int(try o?.i32(1) ?? 0), "stride_w")

        func axis(out: Int, inp: Int, k: Int, s: Int) -> (before: Int, after: Int, extra: Int) {
            let computed = pad == .same ? (out + s - 1) / s : (out - k + s) / s
            let total = max((computed - 1) * s + k - out, 0)
            let before = total / 2
            let full = (inp - 1) * s + k
            let after = full - out - before
            return after >= 0 ? (before, after, 0) : (before, 0, -after)
        }
        let ph = axis(out: outShape[1], inp: inHW.h, k: ws[1], s: sh)
        let pw = axis(out: outShape[2], inp: inHW.w, k: ws[2], s: sw)
        let attrs = ConvAttrs(kernel: (ws[1], ws[2]), stride: (sh, sw),
                              padding: .explicit(top: ph.before, left: pw.before, bottom: ph.after, right: pw.after),
                              activation: try activation(op, try o?.i8(3) ?? 0))
        emit(.transposeConv2D(attrs, outputPadding: (ph.extra, pw.extra)), op, inputs: [x, w, bias],
             outputs: [try output(op)])
    }

    /// MediaPipe's Convolution2DTransposeBias. Inputs: input, weights (OHWI),
    /// bias. custom_options is a raw little-endian struct of int32
    /// {padding (1 = SAME, 2 = VALID), stride_w, stride_h}.
    ///
    /// MediaPipe's kernel (transpose_conv_bias.cc) pads SAME by
    /// `P = max(0, k - (in - 1) % s - 1)` per axis: the output is the full
    /// transposed output `(in - 1) * s + k` minus P, with `P / 2` removed at
    /// the top/left and the rest at the bottom/right. VALID removes nothing.
    /// (For k == s and in divisible by s this is the usual `in * s` output.)
    mutating func mapConvolution2DTransposeBias(_ op: TFLiteRawOperator) throws {
        let x = try input(op, 0), w = try input(op, 1), bias = try input(op, 2)
        let ws = try weightShape(op, w)
        let params = try Self.transposeConvBiasParams(op.customOptions)
        guard let params else { throw invalid(op, "custom_options hold \(op.customOptions.count) bytes, expected 12") }
        let pad: Padding
        switch params.padding {
        case 1: pad = .same
        case 2: pad = .valid
        default: throw invalid(op, "custom padding \(params.padding) is neither SAME (1) nor VALID (2)")
        }
        let sh = try window(op, params.strideH, "stride_h"), sw = try window(op, params.strideW, "stride_w")
        let inHW = try spatial(op, x)
        if shape(x)[3] > 0, shape(x)[3] != ws[3] { throw invalid(op, "input has \(shape(x)[3]) channels, weights expect \(ws[3])") }
        try checkBias(op, bias, channels: ws[0])

        func removed(inp: Int, k: Int, s: Int) -> Int { pad == .same ? max(0, k - (inp - 1) % s - 1) : 0 }
        let rh = removed(inp: inHW.h, k: ws[1], s: sh), rw = removed(inp: inHW.w, k: ws[2], s: sw)
        let outH = (inHW.h - 1) * sh + ws[1] - rh, outW = (inHW.w - 1) * sw + ws[2] - rw
        let y = try output(op)
        let ys = shape(y)
        if ys.count == 4, ys[1] > 0, ys[2] > 0, ys[1] != outH || ys[2] != outW {
            throw invalid(op, "output shape \(ys) disagrees with the \(outH)x\(outW) this op produces")
        }
        let attrs = ConvAttrs(kernel: (ws[1], ws[2]), stride: (sh, sw),
                              padding: .explicit(top: rh / 2, left: rw / 2, bottom: rh - rh / 2, right: rw - rw / 2))
        emit(.transposeConv2D(attrs, outputPadding: (0, 0)), op, inputs: [x, w, bias], outputs: [y])
    }

    /// Decodes the 12-byte options struct; nil when it is too short.
    static func transposeConvBiasParams(_ b: [UInt8]) throws -> (padding: Int, strideW: Int, strideH: Int)? {
        guard b.count >= 12 else { return nil }
        func i32(_ o: Int) -> Int {
            Int(Int32(bitPattern: UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24))
        }
        return (i32(0), i32(4), i32(8))
    }
}
