#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import CKernels

/// A persistent pool of worker pthreads for `parallelFor`.
///
/// Design: the caller publishes a job (body + task count) and bumps an atomic
/// generation counter. Workers spin on that counter for a bounded number of
/// iterations (covers the gap between two ops of one inference), then sleep on
/// a condition variable (between frames). The caller takes tasks too; tasks
/// are claimed with an atomic counter. A worker must join a job before it
/// touches the body; once the caller has run out of tasks it closes the job
/// and waits only for the workers that joined, so the body never outlives the
/// call. The close matters when the machine is busy: a worker that is not
/// scheduled (another process owns its core) no longer makes every op wait a
/// scheduler time slice for it; the caller just runs the remaining tasks.
/// Nothing is allocated per call: the body is a non-escaping closure stored
/// only for the duration of the call (`withoutActuallyEscaping`).
/// GCD's concurrentPerform is avoided: it ran sub-millisecond halves serially
/// on this 2-core machine.
public final class ThreadPool: @unchecked Sendable {
    /// Threads that run tasks, including the caller.
    public let threadCount: Int

    private let generation = Atomic<Int>(0)
    private let nextTask = Atomic<Int>(0)
    /// Job state: generation << jobShift | closed bit | number of joined workers.
    private let job = Atomic<Int>(0)
    private static let jobShift = 12
    private static let closedBit = 1 << 11
    private static let joinedMask = closedBit - 1
    private let stopping = Atomic<Bool>(false)
    private var taskCount = 0
    private var body: ((Int) -> Void)?
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    private var workers: [pthread_t] = []
    /// Spin iterations (each with a pause hint) before a worker sleeps (~0.3-1 ms).
    private let spinLimit = 20_000

    /// Number of online CPUs.
    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// `threads` <= 0 means one per core.
    public init(threads: Int = 0) {
        threadCount = threads <= 0 ? ThreadPool.coreCount : threads
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
        for _ in 1 ..< threadCount {
            let box = Unmanaged.passRetained(WorkerBox(pool: self))
            var tid = pthread_t()
            let rc = pthread_create(&tid, nil, { arg in
                let box = Unmanaged<WorkerBox>.fromOpaque(arg!).takeRetainedValue()
                box.pool?.workerLoop()
                return nil
            }, box.toOpaque())
            precondition(rc == 0, "pthread_create failed: \(rc)")
            workers.append(tid)
        }
    }

    deinit {
        stopping.store(true, ordering: .releasing)
        pthread_mutex_lock(mutex)
        generation.wrappingAdd(1, ordering: .releasing)
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
        for t in workers { pthread_join(t, nil) }
        pthread_cond_destroy(cond); pthread_mutex_destroy(mutex)
        cond.deallocate(); mutex.deallocate()
    }

    /// Runs `body(0..<count)` across the pool; the calling thread takes part.
    /// Returns when every task has finished. Not reentrant.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if threadCount == 1 || count == 1 {
            for i in 0 ..< count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            self.body = escapable
            self.taskCount = count
            nextTask.store(0, ordering: .relaxed)
            let gen = generation.load(ordering: .relaxed) &+ 1
            job.store(gen &<< Self.jobShift, ordering: .relaxed)
            pthread_mutex_lock(mutex)
            generation.store(gen, ordering: .releasing)
            pthread_cond_broadcast(cond)
            pthread_mutex_unlock(mutex)
            drainTasks()
            // Close the job (no joined count can reach closedBit), then wait for the joined workers.
            job.wrappingAdd(Self.closedBit, ordering: .acquiringAndReleasing)
            var spins = 0
            while job.load(ordering: .acquiring) & Self.joinedMask != 0 {
                spins += 1
                if spins > 1000 { sched_yield() } else { vseg_cpu_relax() }
            }
            self.body = nil
        }
    }

    private func drainTasks() {
        let n = taskCount
        guard let b = body else { return }
        while true {
            let t = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
            if t >= n { break }
            b(t)
        }
    }

    fileprivate func workerLoop() {
        // Start from the pool's initial generation, not the current one: a
        // parallelFor published before this thread got scheduled must still be seen.
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                vseg_cpu_relax()
                if spins > spinLimit {
                    pthread_mutex_lock(mutex)
                    while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(cond, mutex) }
                    pthread_mutex_unlock(mutex)
                    break
                }
            }
            seen = generation.load(ordering: .acquiring)
            if stopping.load(ordering: .acquiring) { return }
            if join(seen) {
                drainTasks()
                job.wrappingSubtract(1, ordering: .releasing)
            }
        }
    }

    /// Joins job `gen` unless it is closed or already replaced by a newer one.
    private func join(_ gen: Int) -> Bool {
        let open = (gen &<< Self.jobShift) >> Self.jobShift
        var s = job.load(ordering: .acquiring)
        while s >> Self.jobShift == open && s & Self.closedBit == 0 {
            let (done, now) = job.compareExchange(expected: s, desired: s &+ 1, ordering: .acquiringAndReleasing)
            if done { return true }
            s = now
        }
        return false
    }
}

/// Weak link from a worker thread to its pool, so the pool can be freed.
private final class WorkerBox {
    unowned(unsafe) var pool: ThreadPool?
    init(pool: ThreadPool) { self.pool = pool }
}

extension ThreadPool {
    /// Splits `0..<n` into at most `threadCount` contiguous chunks of at least
    /// `grain` items and runs them in parallel (inline when small).
    @inline(__always)
    func forChunks(_ n: Int, grain: Int = 16384, _ body: (Range<Int>) -> Void) {
        let tasks = Swift.min(threadCount, Swift.max(1, n / Swift.max(grain, 1)))
        if tasks <= 1 { body(0 ..< n); return }
        parallelFor(tasks) { t in body(splitRange(n, parts: tasks, t)) }
    }
}
