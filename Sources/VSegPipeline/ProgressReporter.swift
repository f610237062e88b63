#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VSegCore

/// Draws progress on stderr while a run is going: a bar with frames/total,
/// fps and ETA for files, and a stats line every second for live sources.
/// Only on a terminal; pipes and logs get just the final summary.
public final class ProgressReporter: @unchecked Sendable {
    private let runner: PipelineRunner
    private let totalFrames: Int?
    private let interval: UInt32
    private var thread: WorkerThread?
    private let lock = Lock()
    private var done = false
    private var drewSomething = false

    /// `totalFrames`: the expected number of frames for files (nil: unknown).
    public init(runner: PipelineRunner, totalFrames: Int?) {
        self.runner = runner
        self.totalFrames = totalFrames
        self.interval = runner.isLive ? 1_000_000 : 250_000
    }

    /// True when stderr is a terminal.
    public static var stderrIsTerminal: Bool { isatty(2) == 1 }

    public func start() {
        thread = WorkerThread(name: "vseg-progress") { [self] in
            while !lock.withLock({ done }) {
                usleep(interval)
                if lock.withLock({ done }) { break }
                draw()
            }
        }
    }

    /// Stops drawing and clears the line so the summary starts on a clean line.
    public func finish() {
        lock.withLock { done = true }
        thread?.join()
        if drewSomething { write("\r\u{1B}[2K") }
    }

    private func draw() {
        let snaps = runner.snapshot()
        guard let src = snaps.first else { return }
        let out = snaps.last(where: { $0.name.hasPrefix("sink:") }) ?? snaps.last!
        let line: String
        if runner.isLive {
            let dropped = snaps.reduce(0) { $0 + $1.dropped }
            line = "live: in \(formatFixed(src.recentFps, decimals: 1)) fps, out \(formatFixed(out.recentFps, decimals: 1)) fps, "
                + "latency p50 \(formatFixed(out.latencyP50, decimals: 1)) ms p95 \(formatFixed(out.latencyP95, decimals: 1)) ms "
                + "p99 \(formatFixed(out.latencyP99, decimals: 1)) ms, dropped \(dropped), written \(out.frames)"
        } else {
            let elapsed = Double(runner.elapsedNanos) / 1e9
            let fps = elapsed > 0 ? Double(out.frames) / elapsed : 0
            if let total = totalFrames, total > 0 {
                let frac = min(1, Double(out.frames) / Double(total))
                let width = 30
                let filled = Int(frac * Double(width))
                let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
                let eta = fps > 0 ? Double(max(0, total - out.frames)) / fps : 0
                line = "[\(bar)] \(out.frames)/\(total) frames, \(formatFixed(fps, decimals: 1)) fps, ETA \(clock(eta))"
            } else {
                line = "\(out.frames) frames, \(formatFixed(fps, decimals: 1)) fps, \(clock(elapsed)) elapsed"
            }
        }
        drewSomething = true
        write("\r\u{1B}[2K" + line)
    }

    private func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        let sec = s % 60
        return "\(s / 60):" + (sec < 10 ? "0" : "") + "\(sec)"
    }

    private func write(_ s: String) {
        fputs(s, stderr)
        fflush(stderr)
    }
}
