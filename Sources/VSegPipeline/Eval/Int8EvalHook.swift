import VSegCore

/// The one place `vseg eval` asks for an INT8 segmentation stage.
///
/// Wiring INT8 in: once the INT8 executor exists (quantized session loaded from
/// the model's `calibration/*.qtable`), build and return a stage here that runs
/// `options.name` through it and fills `packet.segmentation` exactly like
/// `SegmentationStage` (source-resolution `sourceProbability`/`sourceLabels`).
/// Nothing else in eval needs to change.
public enum Int8EvalHook {
    public static func makeSegmentationStage(options: SegmentationOptions) throws -> PipelineStage {
        throw EvalError.int8Unavailable(model: options.name)
    }
}
