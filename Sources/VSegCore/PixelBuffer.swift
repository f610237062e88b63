/// An image in memory. Reference type so frames can move between stage threads
/// without copying pixels; a `PixelBufferPool` recycles them so the steady-state
/// per-frame path does not touch the heap.
public final class PixelBuffer: @unchecked Sendable {
    public let width: Int
    public let height: Int
    public let format: PixelFormat
    /// Bytes per row of the first plane (packed formats: width * bpp, no padding).
    public let rowBytes: Int
    public let byteCount: Int
    public let data: UnsafeMutableRawPointer
    weak var pool: PixelBufferPool?

    public init(width: Int, height: Int, format: PixelFormat) {
        precondition(width > 0 && height > 0, "PixelBuffer size must be positive")
        self.width = width
        self.height = height
        self.format = format
        self.rowBytes = width * (format.packedBytesPerPixel ?? 1)
        self.byteCount = format.byteCount(width: width, height: height)
        // 64-byte alignment for SIMD loads; a few spare bytes let kernels over-read safely.
        self.data = UnsafeMutableRawPointer.allocate(byteCount: byteCount + 64, alignment: 64)
        self.data.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount + 64)
    }

    deinit { data.deallocate() }

    public var bytes: UnsafeMutableBufferPointer<UInt8> {
        UnsafeMutableBufferPointer(start: data.assumingMemoryBound(to: UInt8.self), count: byteCount)
    }

    /// Returns the buffer to its pool (if it came from one). Call when no stage holds it any more.
    public func recycle() { pool?.put(self) }

    /// A deep copy (allocates; not for the per-frame path).
    public func copy() -> PixelBuffer {
        let c = PixelBuffer(width: width, height: height, format: format)
        c.data.copyMemory(from: data, byteCount: byteCount)
        return c
    }
}

/// A thread-safe free list of same-geometry buffers.
public final class PixelBufferPool: @unchecked Sendable {
    public let width: Int, height: Int, format: PixelFormat
    private var free: [PixelBuffer] = []
    private let lock = Lock()
    public let capacity: Int

    public init(width: Int, height: Int, format: PixelFormat, capacity: Int = 16) {
        self.width = width; self.height = height; self.format = format; self.capacity = capacity
        free.reserveCapacity(capacity)
    }

    public func get() -> PixelBuffer {
        if let b = lock.withLock({ free.popLast() }) { return b }
        let b = PixelBuffer(width: width, height: height, format: format)
        b.pool = self
        return b
    }

    func put(_ b: PixelBuffer) {
        lock.withLock { if free.count < capacity { free.append(b) } }
    }
}
