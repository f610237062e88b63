import Foundation
import VSegCore
import VSegMedia
import VSegPipeline

/// An in-memory source: `count` frames of 8x8 RGB, optionally paced, optionally
/// failing after `failAfter` frames, optionally endless until interrupted.
final class FakeSource: FrameSource {
    let info: SourceInfo
    let count: Int?
    let failAfter: Int?
    let intervalMicros: UInt32
    let pool = PixelBufferPool(width: 8, height: 8, format: .rgb24, capacity: 8)
    private let lock = NSLock()
    private var produced = 0
    private var interrupted = false
    private(set) var closed = false

    init(count: Int?, live: Bool, failAfter: Int? = nil, intervalMicros: UInt32 = 0) {
        self.count = count
        self.failAfter = failAfter
        self.intervalMicros = intervalMicros
        info = SourceInfo(uri: "fake://", width: 8, height: 8, pixelFormat: .rgb24, frameRate: Rational(30, 1),
                          timeBase: Rational(1, 30), frameCount: count, duration: nil, isLive: live, codec: "rawvideo")
    }

    func nextFrame() throws -> Frame? {
        if intervalMicros > 0 { usleep(intervalMicros) }
        lock.lock(); defer { lock.unlock() }
        if interrupted { return nil }
        if let f = failAfter, produced == f { throw MediaError.truncated(uri: "fake://", framesRead: f, reason: "test") }
        if let c = count, produced >= c { return nil }
        let b = pool.get()
        b.bytes[0] = UInt8(truncatingIfNeeded: produced)
        let frame = Frame(buffer: b, timestamp: Timestamp(value: Int64(produced), timeBase: Rational(1, 30)), index: produced)
        produced += 1
        return frame
    }

    func interrupt() { lock.lock(); interrupted = true; lock.unlock() }
    func close() { closed = true }
}

/// A stage that records the order it saw frames in, optionally slow, optionally failing.
final class FakeStage: PipelineStage {
    let name: String
    let delayMicros: UInt32
    let failAt: Int?
    private(set) var seen: [Int] = []
    private(set) var prepared = false
    private(set) var finished = false

    init(name: String = "fake", delayMicros: UInt32 = 0, failAt: Int? = nil) {
        self.name = name; self.delayMicros = delayMicros; self.failAt = failAt
        seen.reserveCapacity(10_000)
    }

    func prepare(source: SourceInfo) throws { prepared = true }

    func process(_ packet: inout Packet) throws {
        if let f = failAt, packet.frame.index == f { throw PipelineError.stageFailed(stage: name, reason: "test failure") }
        if delayMicros > 0 { usleep(delayMicros) }
        seen.append(packet.frame.index)
        packet.keypoints.append(Keypoint(x: 0, y: 0, score: 1, id: packet.frame.index))
    }

    func finish() throws { finished = true }
}

final class FakeSink: FrameSink {
    let destination: String
    let delayMicros: UInt32
    private let lock = NSLock()
    private var indices: [Int] = []
    private var firstBytes: [UInt8] = []
    private(set) var finishCount = 0

    init(_ name: String = "mem", delayMicros: UInt32 = 0) { destination = name; self.delayMicros = delayMicros }

    func write(_ frame: Frame) throws {
        if delayMicros > 0 { usleep(delayMicros) }
        lock.lock(); indices.append(frame.index); firstBytes.append(frame.buffer.bytes[0]); lock.unlock()
    }

    func finish() throws { lock.lock(); finishCount += 1; lock.unlock() }
    var framesWritten: Int { lock.lock(); defer { lock.unlock() }; return indices.count }
    var written: [Int] { lock.lock(); defer { lock.unlock() }; return indices }
    var payload: [UInt8] { lock.lock(); defer { lock.unlock() }; return firstBytes }
}
