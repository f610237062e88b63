import Foundation
import XCTest
import VSegCore
import VSegEngine
import VSegPipeline

/// Runs a model in FP32 and in INT8 on the same sampled frames, for the
/// accuracy checks of the committed calibration tables.
///
/// Frames come from `CalibrationFrameSampler`, so both sessions see exactly the
/// tensor `vseg run` would feed the model. Tables are read from
/// `calibration/<model stem>.qtable`; set `VSEG_ACCURACY_QTABLE_DIR` to measure
/// candidate tables from another directory with the same tests.
enum Int8Accuracy {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// `root/relative`, or a skip when the setup artifact is missing.
    static func require(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let p = root + "/" + relative
        try XCTSkipUnless(FileManager.default.fileExists(atPath: p), "\(p) missing; run scripts/setup")
        return p
    }

    static var tableDirectory: String {
        ProcessInfo.processInfo.environment["VSEG_ACCURACY_QTABLE_DIR"] ?? root + "/calibration"
    }

    /// The table for the sampler's model, checked against the model's sha256.
    static func table(for sampler: CalibrationFrameSampler) throws -> QuantTable {
        let path = tableDirectory + "/" + QuantTableLocator.tableFileName(modelPath: sampler.modelPath)
        let t = try QuantTable.load(path: path)
        try t.checkModel(path: sampler.modelPath, tablePath: path)
        return t
    }

    /// Frames compared and the mean latency of each session's `run()`.
    struct Comparison {
        var frames = 0
        var fp32Nanoseconds: UInt64 = 0
        var int8Nanoseconds: UInt64 = 0
        var fp32Milliseconds: Double { Double(fp32Nanoseconds) / 1e6 / Double(max(frames, 1)) }
        var int8Milliseconds: Double { Double(int8Nanoseconds) / 1e6 / Double(max(frames, 1)) }
        var summary: String { String(format: "fp32 %.2f ms, int8 %.2f ms per frame", fp32Milliseconds, int8Milliseconds) }
    }

    /// Feeds the sampler's frames whose index passes `include` to an FP32 and an
    /// INT8 session of its model and calls `body` after both ran, with the
    /// frame's model input (the sessions' input buffers may be reused by `run()`).
    @discardableResult
    static func compare(_ sampler: CalibrationFrameSampler, int8 table: [String: TensorQuantization],
                        include: (Int) -> Bool = { _ in true },
                        _ body: (_ frame: Int, _ input: UnsafeBufferPointer<Float>, _ fp32: Session, _ int8: Session) throws -> Void)
        throws -> Comparison {
        let fp32 = try Session(model: sampler.model, threads: 0)
        let int8 = try Session(model: sampler.model, threads: 0, precision: .int8(table))
        let input = UnsafeMutableBufferPointer<Float>.allocate(capacity: fp32.input(0).count)
        defer { input.deallocate() }
        var c = Comparison()
        try sampler.run(into: { input }) { _, index in
            guard include(index) else { return }
            _ = fp32.input(0).initialize(from: input)
            _ = int8.input(0).initialize(from: input)
            let t0 = DispatchTime.now().uptimeNanoseconds
            try fp32.run()
            let t1 = DispatchTime.now().uptimeNanoseconds
            try int8.run()
            c.fp32Nanoseconds += t1 - t0
            c.int8Nanoseconds += DispatchTime.now().uptimeNanoseconds - t1
            c.frames += 1
            try body(index, UnsafeBufferPointer(input), fp32, int8)
        }
        return c
    }
}

/// Agreement of an INT8 probability mask with the FP32 one, accumulated over frames.
///
/// IoU is of `p >= 0.5`. Three views of it: the mean over all frames (1 when
/// both masks are empty), the pooled IoU (all intersections over all unions,
/// so a frame weighs by its mask size), and the mean over the frames whose
/// FP32 mask covers at least `minimumArea` of the image. On frames with a mask
/// of a few pixels the per-frame IoU jumps between 0 and 1 on single pixel flips.
struct MaskAgreement {
    var minimumArea = 0.01
    private(set) var frames = 0
    private(set) var largeMaskFrames = 0
    private var iouSum = 0.0, largeIoUSum = 0.0, diffSum = 0.0
    private var intersection = 0, union = 0
    private(set) var worstIoU = 1.0
    private(set) var worstFrame = -1

    var meanIoU: Double { iouSum / Double(max(frames, 1)) }
    var pooledIoU: Double { union == 0 ? 1 : Double(intersection) / Double(union) }
    var meanIoULargeMasks: Double { largeIoUSum / Double(max(largeMaskFrames, 1)) }
    /// Mean over frames and pixels of |p_int8 - p_fp32|.
    var meanAbsDifference: Double { diffSum / Double(max(frames, 1)) }

    mutating func add(int8 a: UnsafeBufferPointer<Float>, fp32 b: UnsafeBufferPointer<Float>, frame: Int) {
        precondition(a.count == b.count && a.count > 0)
        var inter = 0, uni = 0, area = 0
        var diff = 0.0
        for i in 0 ..< a.count {
            let x = a[i] >= 0.5, y = b[i] >= 0.5
            if x && y { inter += 1 }
            if x || y { uni += 1 }
            if y { area += 1 }
            diff += Double(abs(a[i] - b[i]))
        }
        let iou = uni == 0 ? 1 : Double(inter) / Double(uni)
        if iou < worstIoU { worstIoU = iou; worstFrame = frame }
        iouSum += iou
        if Double(area) >= minimumArea * Double(a.count) { largeIoUSum += iou; largeMaskFrames += 1 }
        intersection += inter
        union += uni
        diffSum += diff / Double(a.count)
        frames += 1
    }
}

/// Per pixel (or per channel) argmax agreement of class scores.
enum Argmax {
    /// Fraction of the `count / classes` positions of channel-last `a` and `b` whose largest class is the same.
    static func pixelAgreement(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, classes c: Int) -> Double {
        precondition(a.count == b.count && a.count % c == 0)
        let n = a.count / c
        var same = 0
        for p in 0 ..< n {
            var ia = 0, ib = 0
            for k in 1 ..< c {
                if a[p * c + k] > a[p * c + ia] { ia = k }
                if b[p * c + k] > b[p * c + ib] { ib = k }
            }
            if ia == ib { same += 1 }
        }
        return Double(same) / Double(n)
    }

    /// For each channel of channel-last `width`-wide maps, the Chebyshev distance
    /// in cells between the maxima of `a` and `b` (0: the argmax agrees).
    static func channelPeakDistances(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, channels c: Int,
                                     width: Int) -> [Int] {
        precondition(a.count == b.count && a.count % (c * width) == 0)
        let n = a.count / c
        return (0 ..< c).map { k in
            var ia = 0, ib = 0
            for p in 1 ..< n {
                if a[p * c + k] > a[ia * c + k] { ia = p }
                if b[p * c + k] > b[ib * c + k] { ib = p }
            }
            return max(abs(ia / width - ib / width), abs(ia % width - ib % width))
        }
    }
}

/// Seeded uniform noise (xorshift64*), for the FP32 noise-floor reference.
struct InputNoise {
    private var state: UInt64
    let amplitude: Float

    init(seed: UInt64, amplitude: Float) { state = seed | 1; self.amplitude = amplitude }

    /// Adds uniform noise in [-amplitude, amplitude] to every value.
    mutating func perturb(_ x: UnsafeMutableBufferPointer<Float>) {
        for i in 0 ..< x.count {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            let u = Float((state &* 0x2545_F491_4F6C_DD1D) >> 40) / Float(1 << 24)
            x[i] += amplitude * (2 * u - 1)
        }
    }
}
