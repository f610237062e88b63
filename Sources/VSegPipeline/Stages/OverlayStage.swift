import VSegCore
import VSegMedia
import VSegVision

/// Draws the segmentation result onto the frame, in place.
///
/// - Consumes: `packet.frame` (rgb24 or bgr24) and `packet.segmentation`
///   with its source-resolution maps (from `SegmentationStage`). Packets
///   without a segmentation pass through untouched.
/// - Produces: the same frame, tinted.
/// - Options (`OverlayOptions`, the pipeline's `overlay:` block):
///   `color` [r, g, b] (default [0, 255, 0]), `alpha` 0...1 (default 0.5),
///   `mode`: `auto` (soft for masks, palette for classes), `soft`
///   (per-pixel alpha = probability x alpha: soft edges), `hard` (alpha where
///   the thresholded mask is set), `palette` (class colours);
///   `skip_background` (palette mode leaves class 0 alone, default true);
///   `palette`: voc | cityscapes | generated | [[r, g, b], ...] (default by class count).
///
/// ```yaml
/// overlay:
///   color: [0, 255, 0]
///   alpha: 0.5
///   mode: soft
/// ```
public final class OverlayStage: PipelineStage {
    public let options: OverlayOptions
    public var name: String { "overlay" }
    public var preferredPixelFormat: PixelFormat? { .rgb24 }
    private var palette: [UInt8] = []
    private var paletteClasses = -1
    private let colour: SIMD3<UInt8>

    public init(options: OverlayOptions) throws {
        guard options.color.count == 3 else {
            throw PipelineError.usage("overlay.color must be three numbers [r, g, b], got \(options.color)")
        }
        guard options.alpha >= 0, options.alpha <= 1 else {
            throw PipelineError.usage("overlay.alpha must be between 0 and 1, got \(options.alpha)")
        }
        self.options = options
        colour = SIMD3(options.color[0], options.color[1], options.color[2])
    }

    public func prepare(source: SourceInfo) throws {}

    public func process(_ packet: inout Packet) throws {
        guard let seg = packet.segmentation else { return }
        let frame = packet.frame
        guard frame.format == .rgb24 || frame.format == .bgr24 else {
            throw VisionError.unsupportedPixelFormat(stage: name, format: frame.format)
        }
        guard seg.sourceWidth == frame.width, seg.sourceHeight == frame.height else { return }
        let bgr = frame.format == .bgr24
        let n = frame.width * frame.height
        let px = frame.buffer.data.assumingMemoryBound(to: UInt8.self)
        let alpha = options.alpha
        var mode = options.mode
        if mode == .auto { if case .classes = seg.kind { mode = .palette } else { mode = .soft } }
        switch mode {
        case .soft, .auto:
            seg.sourceProbability.withUnsafeBufferPointer {
                Overlay.blendSoft(pixels: px, count: n, bgr: bgr, probability: $0.baseAddress!, colour: colour, alpha: alpha)
            }
        case .hard:
            seg.sourceLabels.withUnsafeBufferPointer {
                Overlay.blendHard(pixels: px, count: n, bgr: bgr, labels: $0.baseAddress!, colour: colour, alpha: alpha)
            }
        case .palette:
            let classes: Int
            if case .classes(let c) = seg.kind { classes = c } else { classes = 2 }
            if classes != paletteClasses {  // once per class count
                palette = try Palette.resolve(options.palette, classCount: classes, model: "overlay")
                if case .probability = seg.kind, options.palette == nil {
                    palette[3] = options.color[0]; palette[4] = options.color[1]; palette[5] = options.color[2]
                }
                paletteClasses = classes
            }
            seg.sourceLabels.withUnsafeBufferPointer { l in
                palette.withUnsafeBufferPointer { pal in
                    Overlay.blendLabels(pixels: px, count: n, bgr: bgr, labels: l.baseAddress!, palette: pal,
                                        alpha: alpha, skipBackground: options.skipBackground)
                }
            }
        }
    }
}

/// How `OverlayStage` draws.
public enum OverlayMode: String, Codable, Sendable, Equatable, CaseIterable {
    case auto, soft, hard, palette
}

/// The `overlay:` block.
public struct OverlayOptions: Codable, Sendable, Equatable {
    public var color: [UInt8]
    public var alpha: Float
    public var mode: OverlayMode
    public var skipBackground: Bool
    public var palette: OutputSpec.PaletteSpec?

    public init(color: [UInt8] = [0, 255, 0], alpha: Float = 0.5, mode: OverlayMode = .auto,
                skipBackground: Bool = true, palette: OutputSpec.PaletteSpec? = nil) {
        self.color = color; self.alpha = alpha; self.mode = mode; self.skipBackground = skipBackground; self.palette = palette
    }

    enum CodingKeys: String, CodingKey {
        case color, alpha, mode, palette
        case skipBackground = "skip_background"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = OverlayOptions()
        self.init(color: try c.decodeIfPresent([UInt8].self, forKey: .color) ?? d.color,
                  alpha: try c.decodeIfPresent(Float.self, forKey: .alpha) ?? d.alpha,
                  mode: try c.decodeIfPresent(OverlayMode.self, forKey: .mode) ?? d.mode,
                  skipBackground: try c.decodeIfPresent(Bool.self, forKey: .skipBackground) ?? d.skipBackground,
                  palette: try c.decodeIfPresent(OutputSpec.PaletteSpec.self, forKey: .palette))
    }
}
