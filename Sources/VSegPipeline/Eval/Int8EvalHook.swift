import VSegCore

/// The one place `vseg eval` asks for an INT8 segmentation stage: a
/// `SegmentationStage` with `precision: int8`, so the INT8 run fills
/// `packet.segmentation` exactly like the float run (same pre/post-processing,
/// source-resolution maps). The table is `options.qtable`, else the one
/// `QuantTableLocator` finds for the model; a missing table or one made for
/// another model file fails in `prepare` with the `vseg calibrate` command.
public enum Int8EvalHook {
    public static func makeSegmentationStage(options: SegmentationOptions) throws -> PipelineStage {
        var o = options
        o.precision = .int8
        return SegmentationStage(options: o)
    }
}
