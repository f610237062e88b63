import VSegCore
import VSegMedia

/// How the runner sizes and drains its queues.
public struct RunnerOptions: Sendable {
    /// Stop after this many source frames (nil: until the source ends).
    public var maxFrames: Int?
    /// Queue depth between threads for file sources (backpressure, no drops).
    public var fileQueueCapacity: Int
    /// Queue depth in front of each sink for live sources: enough to absorb
    /// the bursts a network source delivers after a stall or a reconnect
    /// (about half a second at 30 fps) without letting latency grow beyond
    /// that. Stage queues of a live pipeline always hold one frame (flow limiting).
    public var liveSinkQueueCapacity: Int
    /// Overrides `SourceInfo.isLive` (nil: trust the source).
    public var forceLive: Bool?

    public init(maxFrames: Int? = nil, fileQueueCapacity: Int = 4, liveSinkQueueCapacity: Int = 16, forceLive: Bool? = nil) {
        self.maxFrames = maxFrames
        self.fileQueueCapacity = fileQueueCapacity
        self.liveSinkQueueCapacity = liveSinkQueueCapacity
        self.forceLive = forceLive
    }
}

/// Runs one source → stages → sinks graph, each on its own thread, joined by
/// bounded queues.
///
/// - File sources: every queue blocks when full, so nothing is ever dropped.
/// - Live sources: each stage's input is a flow limiter (one slot, the oldest
///   frame is dropped and counted) so latency never builds up; sinks get a
///   short dropping queue.
///
/// Shutdown (`stop()`, end of input, or an error anywhere): the source stops,
/// queues drain, every stage's `finish()` runs, every sink's `finish()` runs,
/// and `run()` returns a `RunSummary`. The runner recycles each frame's
/// `PixelBuffer` after the last sink has written it (or when it is dropped),
/// so sources can draw from a `PixelBufferPool`; a stage that replaces
/// `packet.frame.buffer` recycles the buffer it replaced.
public final class PipelineRunner: @unchecked Sendable {
    public let source: FrameSource
    public let stages: [PipelineStage]
    public let sinks: [FrameSink]
    public let options: RunnerOptions
    public let isLive: Bool

    private let lock = Lock()
    private var stopRequested = false
    private var interruptedBySignal = false
    private var firstError: Error?
    private var firstErrorWhere = ""
    private var framesIn = 0

    private let sourceStats: StageStats
    private let stageStats: [StageStats]
    private let sinkStats: [StageStats]
    private var stageQueues: [BoundedQueue<Packet>] = []
    private var sinkQueues: [BoundedQueue<Packet>] = []
    private let fanout: FanoutRelease
    private var startNanos: UInt64 = 0
    private var running = false

    public init(source: FrameSource, stages: [PipelineStage], sinks: [FrameSink], options: RunnerOptions = RunnerOptions()) {
        self.source = source
        self.stages = stages
        self.sinks = sinks
        self.options = options
        self.isLive = options.forceLive ?? source.info.isLive
        sourceStats = StageStats(name: "source")
        stageStats = stages.map { StageStats(name: $0.name) }
        sinkStats = sinks.map { StageStats(name: "sink:" + $0.destination) }
        fanout = FanoutRelease(consumers: max(1, sinks.count))
    }

    /// Asks the pipeline to wind down: the source is interrupted, what is in
    /// flight drains through the stages and sinks. Safe from any thread.
    /// `interrupted: true` marks the run as stopped by the user (exit 130).
    public func stop(interrupted: Bool = true) {
        let first: Bool = lock.withLock {
            if interrupted { interruptedBySignal = true }
            defer { stopRequested = true }
            return !stopRequested
        }
        if first { source.interrupt() }
    }

    /// True once `stop()` was called or an error stopped the run.
    public var isStopping: Bool { lock.withLock { stopRequested } }

    /// Frames the source has produced so far.
    public var framesFromSource: Int { lock.withLock { framesIn } }

    /// Stats for the source, every stage and every sink (allocates; call at most a few times a second).
    public func snapshot() -> [StageSnapshot] {
        let now = Clock.nanos()
        return [sourceStats.snapshot(now: now)] + stageStats.map { $0.snapshot(now: now) } + sinkStats.map { $0.snapshot(now: now) }
    }

    /// Nanoseconds since `run()` started (0 before).
    public var elapsedNanos: UInt64 { startNanos == 0 ? 0 : Clock.nanos() &- startNanos }

    /// Runs the graph to completion on dedicated threads and blocks until the
    /// sinks are finalized. Call once.
    public func run() -> RunSummary {
        precondition(!running, "PipelineRunner.run() called twice")
        running = true
        startNanos = Clock.nanos()

        // Prepare every stage before the first frame, so a bad model fails
        // fast; sinks are still finalized so the outputs are well-formed.
        for stage in stages {
            do { try stage.prepare(source: source.info) } catch {
                record(error, at: stage.name)
                break
            }
        }
        if isStopping {
            source.close()
            for (i, sink) in sinks.enumerated() {
                do { try sink.finish() } catch { record(error, at: sinkStats[i].name) }
            }
            return summary()
        }

        buildQueues()
        var threads: [WorkerThread] = []
        for (i, sink) in sinks.enumerated() {
            threads.append(WorkerThread(name: "vseg-sink\(i)") { [self] in sinkLoop(sink, queue: sinkQueues[i], stats: sinkStats[i]) })
        }
        for (i, stage) in stages.enumerated() {
            threads.append(WorkerThread(name: "vseg-st\(i)") { [self] in stageLoop(stage, index: i) })
        }
        threads.append(WorkerThread(name: "vseg-source") { [self] in sourceLoop() })
        for t in threads { t.join() }
        return summary()
    }

    // MARK: - Threads

    private func buildQueues() {
        let release: (Packet) -> Void = { [fanout] p in fanout.release(p.frame.buffer) }
        // Stage queues: release everything on drop (no sink has it yet).
        let dropAll: (Packet) -> Void = { p in p.frame.buffer.recycle() }
        stageQueues = stages.map { _ in
            isLive ? BoundedQueue(capacity: 1, policy: .dropOldest, onDrop: dropAll)
                   : BoundedQueue(capacity: options.fileQueueCapacity, policy: .block)
        }
        sinkQueues = sinks.map { _ in
            isLive ? BoundedQueue(capacity: options.liveSinkQueueCapacity, policy: .dropOldest, onDrop: release)
                   : BoundedQueue(capacity: options.fileQueueCapacity, policy: .block)
        }
        for (i, s) in stageStats.enumerated() { s.inputQueueDepth = stageQueues[i] }
        for (i, s) in sinkStats.enumerated() { s.inputQueueDepth = sinkQueues[i] }
    }

    /// Hands a packet to the next stage, or fans it out to every sink.
    private func forward(_ packet: Packet, fromStage index: Int) {
        let next = index + 1
        if next < stageQueues.count {
            if !stageQueues[next].push(packet) { packet.frame.buffer.recycle() }
            return
        }
        if sinkQueues.isEmpty { packet.frame.buffer.recycle(); return }
        fanout.retain(packet.frame.buffer)
        for q in sinkQueues where !q.push(packet) { fanout.release(packet.frame.buffer) }
    }

    private func closeDownstream(ofStage index: Int) {
        let next = index + 1
        if next < stageQueues.count { stageQueues[next].close() } else { for q in sinkQueues { q.close() } }
    }

    private func sourceLoop() {
        defer {
            source.close()
            closeDownstream(ofStage: -1)
        }
        while !isStopping {
            if let cap = options.maxFrames, framesFromSource >= cap { break }
            let t0 = Clock.nanos()
            let frame: Frame?
            do { frame = try source.nextFrame() } catch {
                // A stop request makes some sources throw instead of returning nil.
                if !isStopping { record(error, at: "source") }
                return
            }
            guard let frame else { return }
            let t1 = Clock.nanos()
            lock.withLock { framesIn += 1 }
            sourceStats.record(now: t1, latency: t1 &- min(t1, frame.captureNanos), busy: t1 &- t0)
            forward(Packet(frame: frame), fromStage: -1)
        }
    }

    private func stageLoop(_ stage: PipelineStage, index: Int) {
        let input = stageQueues[index]
        let stats = stageStats[index]
        var failed = false
        while var packet = input.pop() {
            if failed { packet.frame.buffer.recycle(); continue }
            let t0 = Clock.nanos()
            do { try stage.process(&packet) } catch {
                record(error, at: stage.name)
                failed = true
                packet.frame.buffer.recycle()
                continue
            }
            let t1 = Clock.nanos()
            stats.record(now: t1, latency: t1 &- min(t1, packet.frame.captureNanos), busy: t1 &- t0)
            forward(packet, fromStage: index)
        }
        do { try stage.finish() } catch { record(error, at: stage.name) }
        closeDownstream(ofStage: index)
    }

    private func sinkLoop(_ sink: FrameSink, queue: BoundedQueue<Packet>, stats: StageStats) {
        var failed = false
        while let packet = queue.pop() {
            defer { fanout.release(packet.frame.buffer) }
            if failed { continue }
            let t0 = Clock.nanos()
            do { try sink.write(packet.frame) } catch {
                record(error, at: stats.name)
                failed = true
                continue
            }
            let t1 = Clock.nanos()
            stats.record(now: t1, latency: t1 &- min(t1, packet.frame.captureNanos), busy: t1 &- t0)
        }
        do { try sink.finish() } catch { record(error, at: stats.name) }
    }

    /// Keeps the first error and winds the pipeline down.
    private func record(_ error: Error, at place: String) {
        lock.withLock {
            if firstError == nil { firstError = error; firstErrorWhere = place }
        }
        stop(interrupted: false)
    }

    private func summary() -> RunSummary {
        let (err, errWhere, interrupted, nIn) = lock.withLock { (firstError, firstErrorWhere, interruptedBySignal, framesIn) }
        let snaps = snapshot()
        let dropped = stageQueues.reduce(0) { $0 + $1.dropCount } + sinkQueues.reduce(0) { $0 + $1.dropCount }
        return RunSummary(framesIn: nIn,
                          framesWritten: sinks.map { $0.framesWritten },
                          dropped: dropped,
                          wallSeconds: Double(Clock.nanos() &- startNanos) / 1e9,
                          interrupted: interrupted,
                          error: err, errorStage: errWhere,
                          stages: snaps, isLive: isLive)
    }
}

/// Counts how many sinks still hold each buffer when frames fan out to more
/// than one sink; the last one recycles it. The table is reserved up front so
/// steady-state bookkeeping does not allocate.
final class FanoutRelease: @unchecked Sendable {
    private let consumers: Int
    private let lock = Lock()
    private var pending: [ObjectIdentifier: Int] = [:]

    init(consumers: Int) {
        self.consumers = consumers
        pending.reserveCapacity(64)
    }

    func retain(_ buffer: PixelBuffer) {
        guard consumers > 1 else { return }
        lock.withLock { pending[ObjectIdentifier(buffer), default: 0] += consumers }
    }

    func release(_ buffer: PixelBuffer) {
        guard consumers > 1 else { buffer.recycle(); return }
        let last: Bool = lock.withLock {
            let id = ObjectIdentifier(buffer)
            let left = (pending[id] ?? 1) - 1
            if left <= 0 { pending[id] = nil; return true }
            pending[id] = left
            return false
        }
        if last { buffer.recycle() }
    }
}
