#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a full queue does with a new item.
public enum QueuePolicy: Sendable, Equatable {
    /// The producer blocks until there is room (files: backpressure, nothing is lost).
    case block
    /// The oldest queued item is dropped and counted (live sources: latest frame wins).
    case dropOldest
}

/// A fixed-capacity FIFO between two threads. Storage is a ring allocated once,
/// so pushing and popping do not touch the heap. `close()` lets the consumer
/// drain what is left and then see `nil`.
public final class BoundedQueue<Element>: @unchecked Sendable {
    public let capacity: Int
    public let policy: QueuePolicy
    private var ring: [Element?]
    private var head = 0
    private var count = 0
    private var closed = false
    private var dropped = 0
    private var maxDepth = 0
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let notEmpty = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let notFull = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Called (outside the lock) with every item the queue drops, so the owner
    /// can recycle its buffers.
    private let onDrop: ((Element) -> Void)?

    public init(capacity: Int, policy: QueuePolicy, onDrop: ((Element) -> Void)? = nil) {
        precondition(capacity > 0, "queue capacity must be positive")
        self.capacity = capacity
        self.policy = policy
        self.onDrop = onDrop
        ring = [Element?](repeating: nil, count: capacity)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(notEmpty, nil)
        pthread_cond_init(notFull, nil)
    }

    deinit {
        pthread_cond_destroy(notEmpty); pthread_cond_destroy(notFull); pthread_mutex_destroy(mutex)
        notEmpty.deallocate(); notFull.deallocate(); mutex.deallocate()
    }

    /// Adds an item. Returns false (and does not take the item) once the queue is closed.
    @discardableResult
    public func push(_ item: Element) -> Bool {
        var victim: Element?
        pthread_mutex_lock(mutex)
        if policy == .block {
            while count == capacity && !closed { pthread_cond_wait(notFull, mutex) }
        }
        if closed { pthread_mutex_unlock(mutex); return false }
        if count == capacity {
            // .dropOldest: make room by discarding the head.
            victim = ring[head]
            ring[head] = nil
            head = (head + 1) % capacity
            count -= 1
            dropped += 1
        }
        ring[(head + count) % capacity] = item
        count += 1
        if count > maxDepth { maxDepth = count }
        pthread_cond_signal(notEmpty)
        pthread_mutex_unlock(mutex)
        if let v = victim { onDrop?(v) }
        return true
    }

    /// Blocks for the next item; nil once the queue is closed and empty.
    public func pop() -> Element? {
        pthread_mutex_lock(mutex)
        while count == 0 && !closed { pthread_cond_wait(notEmpty, mutex) }
        if count == 0 { pthread_mutex_unlock(mutex); return nil }
        let item = ring[head]
        ring[head] = nil
        head = (head + 1) % capacity
        count -= 1
        pthread_cond_signal(notFull)
        pthread_mutex_unlock(mutex)
        return item
    }

    /// No more pushes; the consumer drains what is queued, then gets nil.
    public func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_broadcast(notEmpty)
        pthread_cond_broadcast(notFull)
        pthread_mutex_unlock(mutex)
    }

    /// Items queued right now.
    public var depth: Int { locked { count } }
    /// Deepest the queue has been.
    public var maxDepthSeen: Int { locked { maxDepth } }
    /// Items discarded by `.dropOldest`.
    public var dropCount: Int { locked { dropped } }
    public var isClosed: Bool { locked { closed } }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}
