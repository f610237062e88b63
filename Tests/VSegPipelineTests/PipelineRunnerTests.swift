import Foundation
import XCTest
import VSegCore
import VSegMedia
import VSegPipeline

final class PipelineRunnerTests: XCTestCase {
    func testFileSourceKeepsOrderAndNeverDrops() {
        let source = FakeSource(count: 300, live: false)
        let slow = FakeStage(name: "slow", delayMicros: 200)
        let fast = FakeStage(name: "fast")
        let sink = FakeSink(delayMicros: 100)
        let runner = PipelineRunner(source: source, stages: [slow, fast], sinks: [sink], options: RunnerOptions(fileQueueCapacity: 2))
        let s = runner.run()
        XCTAssertNil(s.error)
        XCTAssertEqual(s.exitCode, .ok)
        XCTAssertEqual(s.framesIn, 300)
        XCTAssertEqual(s.framesWritten, [300])
        XCTAssertEqual(s.dropped, 0)
        XCTAssertEqual(sink.written, Array(0..<300))
        XCTAssertEqual(slow.seen, Array(0..<300))
        XCTAssertEqual(fast.seen, Array(0..<300))
        // Pooled buffers are recycled only after the sink wrote them: the payload survives.
        XCTAssertEqual(sink.payload, (0..<300).map { UInt8(truncatingIfNeeded: $0) })
        XCTAssertTrue(slow.prepared && slow.finished && fast.finished)
        XCTAssertEqual(sink.finishCount, 1)
        XCTAssertTrue(source.closed)
        XCTAssertTrue(s.line.hasPrefix("done: 300 frames in, 300 written, 0 dropped"), s.line)
    }

    func testLiveSourceDropsOldestAndCountsEveryDrop() {
        let source = FakeSource(count: 200, live: true, intervalMicros: 200)
        let stage = FakeStage(name: "model", delayMicros: 3000)
        let sink = FakeSink()
        let runner = PipelineRunner(source: source, stages: [stage], sinks: [sink])
        XCTAssertTrue(runner.isLive)
        let s = runner.run()
        XCTAssertNil(s.error)
        XCTAssertEqual(s.framesIn, 200)
        XCTAssertGreaterThan(s.dropped, 50, "a 3 ms stage behind a 0.2 ms source must shed frames")
        // Every frame is accounted for: written or counted as dropped.
        XCTAssertEqual(sink.framesWritten + s.dropped, 200)
        // What survives is still in order, and the last frame always gets through.
        XCTAssertEqual(sink.written, sink.written.sorted())
        XCTAssertEqual(sink.written.last, 199)
        let stageSnap = s.stages.first { $0.name == "model" }!
        XCTAssertEqual(stageSnap.dropped, s.dropped - (s.stages.last!.dropped))
        XCTAssertLessThanOrEqual(stageSnap.maxQueueDepth, 1, "the flow limiter holds one frame")
    }

    func testForceLiveOverridesSourceInfo() {
        let runner = PipelineRunner(source: FakeSource(count: 1, live: false), stages: [], sinks: [FakeSink()],
                                    options: RunnerOptions(forceLive: true))
        XCTAssertTrue(runner.isLive)
    }

    func testSourceErrorMidStreamFinalizesSinksAndKeepsFrames() {
        let source = FakeSource(count: 100, live: false, failAfter: 40)
        let stage = FakeStage()
        let sinks = [FakeSink("a"), FakeSink("b", delayMicros: 300)]
        let s = PipelineRunner(source: source, stages: [stage], sinks: sinks).run()
        XCTAssertEqual(s.framesIn, 40)
        XCTAssertEqual(s.framesWritten, [40, 40])
        for sink in sinks {
            XCTAssertEqual(sink.finishCount, 1)
            XCTAssertEqual(sink.written, Array(0..<40))
            XCTAssertEqual(sink.payload, (0..<40).map { UInt8($0) })
        }
        XCTAssertTrue(stage.finished)
        XCTAssertEqual(s.exitCode, .input)
        XCTAssertEqual(s.errorStage, "source")
        XCTAssertTrue(s.line.hasPrefix("failed: 40 frames in, 40/40 written"), s.line)
        guard case .truncated? = s.error as? MediaError else { return XCTFail("expected the source's error, got \(String(describing: s.error))") }
    }

    func testStageErrorStopsSourceAndFinalizesSinks() {
        let source = FakeSource(count: nil, live: false)
        let stage = FakeStage(name: "bad", failAt: 25)
        let sink = FakeSink()
        let s = PipelineRunner(source: source, stages: [stage], sinks: [sink]).run()
        XCTAssertEqual(sink.written, Array(0..<25))
        XCTAssertEqual(sink.finishCount, 1)
        XCTAssertEqual(s.errorStage, "bad")
        XCTAssertEqual(s.exitCode, .internalError)
        XCTAssertFalse(s.interrupted)
    }

    func testStopDrainsEverythingInFlightAndReportsInterrupted() {
        let source = FakeSource(count: nil, live: false, intervalMicros: 500)
        let stage = FakeStage(delayMicros: 800)
        let sink = FakeSink()
        let runner = PipelineRunner(source: source, stages: [stage], sinks: [sink])
        let stopper = Thread { usleep(100_000); runner.stop() }
        stopper.start()
        let s = runner.run()
        XCTAssertTrue(s.interrupted)
        XCTAssertEqual(s.exitCode, .interrupted)
        XCTAssertNil(s.error)
        XCTAssertGreaterThan(s.framesIn, 10)
        // A file pipeline never loses a frame, even when stopped: all produced frames are written.
        XCTAssertEqual(sink.written, Array(0..<s.framesIn))
        XCTAssertEqual(sink.finishCount, 1)
        XCTAssertTrue(s.line.hasPrefix("interrupted:"), s.line)
    }

    func testMaxFramesStopsTheSource() {
        let sink = FakeSink()
        let s = PipelineRunner(source: FakeSource(count: nil, live: false), stages: [], sinks: [sink],
                               options: RunnerOptions(maxFrames: 17)).run()
        XCTAssertEqual(s.framesIn, 17)
        XCTAssertEqual(sink.written, Array(0..<17))
        XCTAssertEqual(s.exitCode, .ok)
    }

    func testStatsMeasureRateAndLatency() {
        // Source paced at ~2 ms/frame, stage busy ~4 ms: throughput is bounded by the stage.
        let stage = FakeStage(name: "busy", delayMicros: 4000)
        let sink = FakeSink()
        let s = PipelineRunner(source: FakeSource(count: 60, live: false, intervalMicros: 2000), stages: [stage], sinks: [sink]).run()
        let st = s.stages.first { $0.name == "busy" }!
        XCTAssertEqual(st.frames, 60)
        XCTAssertGreaterThan(st.busyMillisPerFrame, 3.5)
        XCTAssertLessThan(st.fps, 300, "a 4 ms stage cannot exceed 250 fps")
        XCTAssertGreaterThan(st.fps, 50)
        XCTAssertEqual(st.recentFps, st.fps, accuracy: st.fps * 0.5, "a steady stage has the same recent and overall rate")
        XCTAssertGreaterThanOrEqual(st.latencyP50, 4.0, "latency counts from capture, so it includes the 4 ms stage")
        XCTAssertLessThanOrEqual(st.latencyP50, st.latencyP95)
        XCTAssertLessThanOrEqual(st.latencyP95, st.latencyP99)
        XCTAssertEqual(s.stages.map(\.name), ["source", "busy", "sink:mem"])
        XCTAssertGreaterThan(s.throughput, 50)
    }

    func testStagePrepareFailureStillFinalizesSinks() {
        final class Unpreparable: PipelineStage {
            let name = "model"
            func prepare(source: SourceInfo) throws { throw PipelineError.model(name: "x.tflite", reason: "missing") }
            func process(_ packet: inout Packet) throws {}
        }
        let source = FakeSource(count: 10, live: false)
        let sink = FakeSink()
        let s = PipelineRunner(source: source, stages: [Unpreparable()], sinks: [sink]).run()
        XCTAssertEqual(s.exitCode, .model)
        XCTAssertEqual(s.framesIn, 0)
        XCTAssertEqual(sink.finishCount, 1)
        XCTAssertTrue(source.closed)
    }
}

final class BoundedQueueTests: XCTestCase {
    func testDropOldestKeepsLatestAndCounts() {
        var droppedItems: [Int] = []
        let q = BoundedQueue<Int>(capacity: 1, policy: .dropOldest, onDrop: { droppedItems.append($0) })
        for i in 0..<5 { XCTAssertTrue(q.push(i)) }
        XCTAssertEqual(q.dropCount, 4)
        XCTAssertEqual(droppedItems, [0, 1, 2, 3])
        XCTAssertEqual(q.pop(), 4)
        q.close()
        XCTAssertNil(q.pop())
        XCTAssertFalse(q.push(9), "a closed queue refuses new items")
    }

    func testBlockingQueueDrainsAfterCloseInOrder() {
        let q = BoundedQueue<Int>(capacity: 3, policy: .block)
        let producer = Thread { for i in 0..<1000 { q.push(i) }; q.close() }
        producer.start()
        var got: [Int] = []
        while let v = q.pop() { got.append(v) }
        XCTAssertEqual(got, Array(0..<1000))
        XCTAssertEqual(q.dropCount, 0)
        XCTAssertLessThanOrEqual(q.maxDepthSeen, 3)
    }
}
