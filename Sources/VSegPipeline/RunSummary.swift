import VSegCore

/// What a run did, for the one-line summary and the exit code.
public struct RunSummary: @unchecked Sendable {
    /// Frames the source produced.
    public var framesIn: Int
    /// Frames each sink wrote, in sink order.
    public var framesWritten: [Int]
    /// Frames the flow limiters dropped (always 0 for file sources).
    public var dropped: Int
    public var wallSeconds: Double
    /// Stopped by `stop()` (SIGINT/SIGTERM).
    public var interrupted: Bool
    /// The first error anywhere in the graph; later ones are consequences.
    public var error: Error?
    /// Where `error` happened ("source", a stage name, "sink:<path>").
    public var errorStage: String
    /// Source, stages, sinks, in graph order.
    public var stages: [StageSnapshot]
    /// The source was live (flow-limited).
    public var isLive: Bool

    public init(framesIn: Int, framesWritten: [Int], dropped: Int, wallSeconds: Double, interrupted: Bool,
                error: Error?, errorStage: String, stages: [StageSnapshot], isLive: Bool = false) {
        self.framesIn = framesIn; self.framesWritten = framesWritten; self.dropped = dropped
        self.wallSeconds = wallSeconds; self.interrupted = interrupted
        self.error = error; self.errorStage = errorStage; self.stages = stages
        self.isLive = isLive
    }

    /// The end of the graph: the first sink, else the last stage, else the source.
    public var output: StageSnapshot? { stages.last(where: { $0.name.hasPrefix("sink:") }) ?? stages.last }

    /// Error code first, then interruption, then success.
    public var exitCode: ExitCode {
        if let e = error { return (e as? UserFacingError)?.exitCode ?? .internalError }
        return interrupted ? .interrupted : .ok
    }

    /// The one line printed at the end of `vseg run`, e.g.
    /// `done: 250 frames in, 250 written, 0 dropped, 412.5 fps, 0.61 s; latency p50 2.0 ms, p95 3.1 ms, p99 4.0 ms`.
    public var line: String {
        let state = error != nil ? "failed" : (interrupted ? "interrupted" : "done")
        let written = framesWritten.isEmpty ? "0" : framesWritten.map(String.init).joined(separator: "/")
        let out = output
        let fps = formatFixed(throughput, decimals: 1)
        var s = "\(state): \(framesIn) frames in, \(written) written, \(dropped) dropped, \(fps) fps, \(formatFixed(wallSeconds, decimals: 2)) s"
        if let o = out, o.frames > 0 {
            s += "; latency p50 \(formatFixed(o.latencyP50, decimals: 1)) ms, p95 \(formatFixed(o.latencyP95, decimals: 1)) ms, p99 \(formatFixed(o.latencyP99, decimals: 1)) ms"
        }
        return s
    }

    /// Output frame rate. Files: frames written per second from the first to
    /// the last frame (the pipeline's throughput). Live sources: the rate over
    /// the latest frames, so a reconnect gap does not hide the stream's rate.
    public var throughput: Double {
        guard let o = output else { return 0 }
        if isLive && o.recentFps > 0 { return o.recentFps }
        if o.fps > 0 { return o.fps }
        return wallSeconds > 0 ? Double(o.frames) / wallSeconds : 0
    }
}
