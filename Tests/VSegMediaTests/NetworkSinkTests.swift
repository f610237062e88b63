import Foundation
import XCTest
@testable import VSegMedia
import VSegCore

/// MPEG-TS over UDP out of the encoder sink, read back by an FFmpeg source.
final class NetworkSinkTests: XCTestCase {
    func testUDPOutputIsAPlayableMPEGTSStream() throws {
        let port = Int.random(in: 50000...59000)
        final class Received: @unchecked Sendable {
            var frames: [Frame] = []
            var error: Error?
            var info: SourceInfo?
        }
        let got = Received()
        let done = DispatchSemaphore(value: 0)
        let receiver = Thread {
            defer { done.signal() }
            do {
                var o = SourceOptions(); o.openTimeout = 10; o.readTimeout = 1; o.reconnectAttempts = 0
                let src = try openSource(uri: "udp://127.0.0.1:\(port)", options: o)
                got.info = src.info
                while let f = try src.nextFrame() { got.frames.append(f) }
            } catch { got.error = error }
        }
        receiver.start()
        usleep(200_000)

        var po = SourceOptions(); po.maxFrames = 90
        let pattern = try openSource(uri: "pattern:160x120@30?realtime", options: po)
        let sink = try openSink(path: "udp://127.0.0.1:\(port)", source: pattern.info)
        XCTAssertEqual((sink as? EncodedVideoSink)?.encoderName, "libx264")
        while let f = try pattern.nextFrame() { try sink.write(f) }
        try sink.finish()
        XCTAssertEqual(sink.framesWritten, 90)
        XCTAssertEqual(done.wait(timeout: .now() + 15), .success)
        // The receiver ends with streamLost (no reconnects allowed) once the sender stops.
        if let e = got.error as? MediaError, case .streamLost = e {} else if let e = got.error { XCTFail("\(e)") }
        XCTAssertEqual(got.info?.width, 160)
        XCTAssertEqual(got.info?.codec, "h264")
        // Loopback UDP at 30 fps loses nothing in practice; allow a few datagrams.
        XCTAssertGreaterThanOrEqual(got.frames.count, 85)
        XCTAssertLessThanOrEqual(got.frames.count, 90)
    }
}
