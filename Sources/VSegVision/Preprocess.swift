import VSegCore

/// Decoded RGB24/BGR24 frame → model input tensor (float32, NHWC or NCHW), in
/// one pass over the output: resize (bilinear, or area for downscales of 2x or
/// more), normalize and lay out, with stretch or letterbox.
///
/// Everything that depends only on the geometry (per-axis tap indices and
/// weights, the normalization constants, a one-row scratch) is built in
/// `init`; `run` allocates nothing. Per output row it blends the needed source
/// rows into a float row (contiguous, vectorizes), then gathers the horizontal
/// taps, normalizes and stores. `PreprocessReference` is the plain twin.
public final class Preprocessor {
    public let transform: ImageTransform
    public let layout: TensorLayout
    public let xTaps: AxisTaps
    public let yTaps: AxisTaps
    /// Per model channel: value = pixel * scale + offset.
    public let scale: SIMD4<Float>
    public let offset: SIMD4<Float>
    /// Whether the model wants BGR.
    public let modelBGR: Bool
    private let row: UnsafeMutablePointer<Float>

    /// Number of floats `run` writes.
    public var outputCount: Int { transform.modelWidth * transform.modelHeight * 3 }

    public init(sourceWidth: Int, sourceHeight: Int, modelWidth: Int, modelHeight: Int,
                input: InputSpec, model: String = "model") throws {
        transform = ImageTransform(sourceWidth: sourceWidth, sourceHeight: sourceHeight,
                                   modelWidth: modelWidth, modelHeight: modelHeight, policy: input.resize)
        layout = input.layout
        modelBGR = input.channels == .bgr
        let n = try input.normalization(model: model)
        scale = SIMD4(n.scale[0], n.scale[1], n.scale[2], 0)
        offset = SIMD4(n.offset[0], n.offset[1], n.offset[2], 0)
        xTaps = AxisTaps(outCount: modelWidth, srcCount: sourceWidth, scale: transform.scaleX, offset: transform.offsetX)
        yTaps = AxisTaps(outCount: modelHeight, srcCount: sourceHeight, scale: transform.scaleY, offset: transform.offsetY)
        // +4 floats so the SIMD4 gather of the last pixel stays in bounds.
        row = .allocate(capacity: sourceWidth * 3 + 4)
        row.initialize(repeating: 0, count: sourceWidth * 3 + 4)
    }

    deinit { row.deallocate() }

    /// Fills `output` (at least `outputCount` floats) from a packed 8-bit RGB or
    /// BGR image of the source size; `rowBytes` is the source stride.
    public func run(source: UnsafePointer<UInt8>, rowBytes: Int, sourceIsBGR: Bool = false,
                    output: UnsafeMutablePointer<Float>) {
        let srcW = transform.sourceWidth, outW = transform.modelWidth, outH = transform.modelHeight
        let rowLen = srcW * 3
        let plane = outW * outH
        // Which model channel each source channel (r, g, b order in memory) goes to.
        let swap = sourceIsBGR != modelBGR
        let kx = xTaps.taps, ky = yTaps.taps
        let sc = swap ? SIMD4(scale[2], scale[1], scale[0], 0) : scale
        let of = swap ? SIMD4(offset[2], offset[1], offset[0], 0) : offset
        xTaps.index.withUnsafeBufferPointer { xi in
        xTaps.weight.withUnsafeBufferPointer { xw in
        yTaps.index.withUnsafeBufferPointer { yi in
        yTaps.weight.withUnsafeBufferPointer { yw in
            for y in 0..<outH {
                let rowInside = yTaps.inside[y]
                if rowInside {
                    // Vertical pass: blend the ky source rows into `row`.
                    let w0 = yw[y * ky]
                    let s0 = source + Int(yi[y * ky]) * rowBytes
                    for i in 0..<rowLen { row[i] = w0 * Float(s0[i]) }
                    for k in 1..<max(ky, 1) {
                        let w = yw[y * ky + k]
                        if w == 0 { continue }
                        let s = source + Int(yi[y * ky + k]) * rowBytes
                        for i in 0..<rowLen { row[i] += w * Float(s[i]) }
                    }
                }
                for x in 0..<outW {
                    var v: SIMD4<Float>
                    if rowInside && xTaps.inside[x] {
                        var acc = SIMD4<Float>(repeating: 0)
                        for k in 0..<kx {
                            let p = row + Int(xi[x * kx + k]) &* 3
                            acc += xw[x * kx + k] * SIMD4(p[0], p[1], p[2], 0)
                        }
                        v = acc * sc + of
                        if swap { v = SIMD4(v[2], v[1], v[0], 0) }
                    } else {
                        v = offset  // black, already in model channel order
                    }
                    switch layout {
                    case .nhwc:
                        let o = output + (y &* outW &+ x) &* 3
                        o[0] = v[0]; o[1] = v[1]; o[2] = v[2]
                    case .nchw:
                        let o = output + (y &* outW &+ x)
                        o[0] = v[0]; o[plane] = v[1]; o[2 &* plane] = v[2]
                    }
                }
            }
        }}}}
    }

    /// Fills `output` from an RGB24 or BGR24 pixel buffer of the source size.
    public func run(_ buffer: PixelBuffer, output: UnsafeMutablePointer<Float>) throws {
        guard buffer.format == .rgb24 || buffer.format == .bgr24 else {
            throw VisionError.unsupportedPixelFormat(stage: "preprocess", format: buffer.format)
        }
        precondition(buffer.width == transform.sourceWidth && buffer.height == transform.sourceHeight,
                     "Preprocessor: frame size changed without a new Preprocessor")
        run(source: UnsafePointer(buffer.data.assumingMemoryBound(to: UInt8.self)), rowBytes: buffer.rowBytes,
            sourceIsBGR: buffer.format == .bgr24, output: output)
    }
}
