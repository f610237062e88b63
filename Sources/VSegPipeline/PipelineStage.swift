import VSegCore
import VSegMedia

/// One processing step between a source and the sinks (inference, overlay,
/// smoothing, metadata). Each stage runs on its own dedicated thread; the runner
/// calls `prepare` once, `process` for every packet in order, then `finish`.
///
/// Stages take a Codable options struct that is exactly what their YAML block
/// decodes to, and document inputs, outputs, options and a YAML example in
/// their header.
public protocol PipelineStage: AnyObject {
    /// Name used in stats, logs and the per-stage timing table.
    var name: String { get }
    /// The pixel format this stage wants its frames in (the source converts once).
    /// Nil: any format.
    var preferredPixelFormat: PixelFormat? { get }
    /// Called once before the first frame with the source's geometry. Allocate here.
    func prepare(source: SourceInfo) throws
    /// Works on one packet in place. Must not allocate per frame in steady state.
    func process(_ packet: inout Packet) throws
    /// Called once after the last packet (also on interrupt).
    func finish() throws
}

extension PipelineStage {
    public var preferredPixelFormat: PixelFormat? { nil }
    public func finish() throws {}
}
