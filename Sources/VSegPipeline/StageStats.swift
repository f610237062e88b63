import VSegCore

/// Counters for one stage (or the source, or a sink), written by that stage's
/// thread and read by the reporter. Latencies go into a fixed ring of the most
/// recent samples, so recording never allocates.
public final class StageStats: @unchecked Sendable {
    public let name: String
    private let lock = Lock()
    private var processed = 0
    private var firstNanos: UInt64 = 0
    private var lastNanos: UInt64 = 0
    private var busyNanos: UInt64 = 0
    private var samples: [UInt64]
    private var sampleCount = 0
    private var sampleNext = 0
    /// Completion times of the most recent items, for the current rate.
    private var stamps: [UInt64]
    private var stampCount = 0
    private var stampNext = 0
    /// The queue in front of this stage (nil for the source).
    weak var inputQueueDepth: QueueGauge?

    public init(name: String, window: Int = 4096) {
        self.name = name
        samples = [UInt64](repeating: 0, count: window)
        stamps = [UInt64](repeating: 0, count: 64)
    }

    /// Records one item finished at `now`, `latency` ns after capture, having
    /// spent `busy` ns in this stage.
    public func record(now: UInt64, latency: UInt64, busy: UInt64) {
        lock.withLock {
            if processed == 0 { firstNanos = now }
            processed += 1
            lastNanos = now
            busyNanos &+= busy
            samples[sampleNext] = latency
            sampleNext = (sampleNext + 1) % samples.count
            if sampleCount < samples.count { sampleCount += 1 }
            stamps[stampNext] = now
            stampNext = (stampNext + 1) % stamps.count
            if stampCount < stamps.count { stampCount += 1 }
        }
    }

    /// A consistent copy of the counters (allocates; call from the reporter, not per frame).
    public func snapshot(now: UInt64 = Clock.nanos()) -> StageSnapshot {
        let (n, first, last, busy, window, oldestRecent, recentCount) = lock.withLock {
            (processed, firstNanos, lastNanos, busyNanos, Array(samples.prefix(sampleCount)),
             stamps[stampCount < stamps.count ? 0 : stampNext], stampCount)
        }
        let sorted = window.sorted()
        func pct(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let i = min(sorted.count - 1, Int((p * Double(sorted.count - 1)).rounded()))
            return Double(sorted[i]) / 1e6
        }
        // Rate over the span between the first and the latest item; with one item there is no rate yet.
        let span = Double(last &- first) / 1e9
        let fps = n > 1 && span > 0 ? Double(n - 1) / span : 0
        // Current rate over the last (up to) 64 items: what a live stream delivers now, gaps excluded.
        let recentSpan = Double(last &- oldestRecent) / 1e9
        let recentFps = recentCount > 1 && recentSpan > 0 ? Double(recentCount - 1) / recentSpan : 0
        return StageSnapshot(name: name, frames: n, fps: fps, recentFps: recentFps,
                             latencyP50: pct(0.50), latencyP95: pct(0.95), latencyP99: pct(0.99),
                             busyMillisPerFrame: n > 0 ? Double(busy) / 1e6 / Double(n) : 0,
                             queueDepth: inputQueueDepth?.currentDepth ?? 0,
                             maxQueueDepth: inputQueueDepth?.deepest ?? 0,
                             dropped: inputQueueDepth?.drops ?? 0)
    }
}

/// Read-only view of a queue for the stats reporter.
public protocol QueueGauge: AnyObject {
    var currentDepth: Int { get }
    var deepest: Int { get }
    var drops: Int { get }
}

extension BoundedQueue: QueueGauge {
    public var currentDepth: Int { depth }
    public var deepest: Int { maxDepthSeen }
    public var drops: Int { dropCount }
}

/// Stats of one stage at one moment. Latencies are milliseconds from capture
/// (`Frame.captureNanos`) to the end of this stage.
public struct StageSnapshot: Sendable, Equatable {
    public var name: String
    public var frames: Int
    /// Average rate from the first to the latest item.
    public var fps: Double
    /// Rate over the latest 64 items (a live stream's current rate).
    public var recentFps: Double
    public var latencyP50: Double
    public var latencyP95: Double
    public var latencyP99: Double
    /// Mean time spent inside this stage per frame (ms).
    public var busyMillisPerFrame: Double
    public var queueDepth: Int
    public var maxQueueDepth: Int
    /// Frames dropped by the flow limiter in front of this stage.
    public var dropped: Int

    /// One line for logs and the per-stage table.
    public var line: String {
        func f(_ v: Double, _ d: Int = 1) -> String { formatFixed(v, decimals: d) }
        return "\(name): \(frames) frames, \(f(fps)) fps, latency p50 \(f(latencyP50)) ms p95 \(f(latencyP95)) ms p99 \(f(latencyP99)) ms, "
            + "busy \(f(busyMillisPerFrame, 2)) ms/frame, queue \(queueDepth) (max \(maxQueueDepth)), dropped \(dropped)"
    }
}

/// printf-free fixed-point formatting (keeps Foundation out of hot modules).
func formatFixed(_ v: Double, decimals: Int) -> String {
    guard v.isFinite else { return "-" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let r = (abs(v) * scale).rounded()
    let whole = Int(r / scale)
    var frac = String(Int(r - Double(whole) * scale))
    while frac.count < decimals { frac = "0" + frac }
    let sign = v < 0 && r != 0 ? "-" : ""
    return decimals == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(frac)"
}
