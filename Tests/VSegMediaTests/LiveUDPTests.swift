import Foundation
import XCTest
@testable import VSegMedia
import VSegCore

/// Records a real MPEG-TS/UDP stream from the ffmpeg CLI, including a sender restart.
final class LiveUDPTests: XCTestCase {
    private func startSender(port: Int, seconds: Double) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = ["-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", String(seconds),
                       "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15", "-pix_fmt", "yuv420p",
                       "-f", "mpegts", "udp://127.0.0.1:\(port)?pkt_size=1316"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func testRecordsAStreamAndSurvivesASenderRestart() throws {
        try XCTSkipUnless(Fixtures.hasFFmpegCLI, "needs the ffmpeg CLI")
        let port = Int.random(in: 41000...49000)
        final class Log: @unchecked Sendable { let lock = NSLock(); var lines: [String] = [] }
        let log = Log()
        let saved = MediaLog.handler
        MediaLog.handler = { m in log.lock.lock(); log.lines.append(m); log.lock.unlock() }
        defer { MediaLog.handler = saved }

        let first = try startSender(port: port, seconds: 3)
        var o = SourceOptions()
        o.openTimeout = 5
        o.readTimeout = 1
        o.reconnectAttempts = 8
        o.reconnectMaxDelay = 0.5
        let src = try openSource(uri: "udp://127.0.0.1:\(port)", options: o)
        defer { src.close() }
        XCTAssertTrue(src.info.isLive)
        XCTAssertEqual(src.info.width, 320)

        // The second sender starts after the first has stopped.
        final class Box: @unchecked Sendable { var process: Process? }
        let box = Box()
        let started = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            first.waitUntilExit()
            usleep(1_500_000)
            box.process = try? self.startSender(port: port, seconds: 4)
            started.signal()
        }
        var frames: [Frame] = []
        var latencies: [Double] = []
        let t0 = Clock.nanos()
        var framesAtReconnect: Int?
        // Stop one second into the second run, before that sender ends too.
        while Double(Clock.nanos() - t0) / 1e9 < 15 {
            guard let f = try src.nextFrame() else { break }
            latencies.append(Double(Clock.nanos() - f.captureNanos) / 1e6)
            frames.append(f)
            if framesAtReconnect == nil, log.lock.withLock({ log.lines.contains { $0.contains("reconnected") } }) {
                framesAtReconnect = frames.count
            }
            if let n = framesAtReconnect, frames.count - n >= 30 { break }
        }
        started.wait()
        box.process?.waitUntilExit()
        let logs = log.lock.withLock { log.lines }
        let reconnects = (src as? FFmpegSource)?.reconnects ?? 0
        XCTAssertGreaterThanOrEqual(reconnects, 1, "logs: \(logs)")
        XCTAssertTrue(logs.contains { $0.contains("reconnect") }, "each reconnect is logged")
        // ~3 s of the first sender at 30 fps (minus frames before its first keyframe) + 30 of the second.
        XCTAssertGreaterThan(frames.count, 75)
        XCTAssertLessThan(frames.count, 160)
        XCTAssertNotNil(framesAtReconnect, "frames came from the second sender")
        latencies.sort()
        XCTAssertLessThan(latencies[latencies.count / 2], 50, "a frame is handed out as soon as it is decoded")
        for (a, b) in zip(frames, frames.dropFirst()) { XCTAssertGreaterThan(b.timestamp.value, a.timestamp.value) }
        // Frames of the second sender are there too: the stream came back.
        XCTAssertTrue(logs.contains { $0.contains("reconnected") }, "logs: \(logs)")
        // Media-time rate of the first run: about 30 fps.
        let firstRun = frames.prefix(60)
        if let a = firstRun.first, let b = firstRun.last, firstRun.count > 30 {
            let fps = Double(firstRun.count - 1) / (b.pts - a.pts)
            XCTAssertEqual(fps, 30, accuracy: 2)
        }
    }

    func testInterruptUnblocksAWaitingLiveRead() throws {
        try XCTSkipUnless(Fixtures.hasFFmpegCLI, "needs the ffmpeg CLI")
        let port = Int.random(in: 41000...49000)
        let sender = try startSender(port: port, seconds: 1)
        var o = SourceOptions(); o.readTimeout = 30; o.openTimeout = 5
        let src = try openSource(uri: "udp://127.0.0.1:\(port)", options: o)
        defer { src.close() }
        XCTAssertNotNil(try src.nextFrame())
        sender.waitUntilExit()
        // Drain what was buffered; the next read then blocks on a silent socket.
        DispatchQueue.global().asyncAfter(deadline: .now() + 1.5) { src.interrupt() }
        let t0 = Clock.nanos()
        while try src.nextFrame() != nil {}
        let waited = Double(Clock.nanos() - t0) / 1e9
        XCTAssertLessThan(waited, 3, "interrupt() must end a blocked read well before the 30 s read timeout")
    }
}
