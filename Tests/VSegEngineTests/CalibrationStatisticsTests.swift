import XCTest
@testable import VSegEngine
import VSegCore

/// Range statistics on synthetic data whose answer is known.
final class CalibrationStatisticsTests: XCTestCase {
    func stats(_ batches: [[Float]]) -> TensorStatistics {
        var s = TensorStatistics()
        for b in batches { b.withUnsafeBufferPointer { s.add($0) } }
        return s
    }

    /// n evenly spaced values covering [lo, hi] (both ends included).
    func evenly(_ n: Int, _ lo: Double, _ hi: Double) -> [Float] {
        (0 ..< n).map { Float(lo + (hi - lo) * Double($0) / Double(n - 1)) }
    }

    func testMinMaxIsExactAcrossBatchesAndSkipsNonFinite() throws {
        let s = stats([[0.5, -0.25, 3], [.nan, 7.125, -1.5, .infinity], [0, 0, 2]])
        let r = try XCTUnwrap(s.range(.minmax))
        XCTAssertEqual(r.min, -1.5)
        XCTAssertEqual(r.max, 7.125)
        XCTAssertEqual(s.count, 8)
        XCTAssertEqual(s.zeros, 2)
        XCTAssertEqual(s.nonFinite, 2)
        XCTAssertNil(TensorStatistics().range(.minmax))
    }

    func testHistogramRangeDoublesWithoutLosingCounts() {
        // The first batch sets the positive range to 1; 1000 forces ten doublings.
        let s = stats([evenly(1000, 0.001, 1), [1000, 0.5], evenly(500, -4, -0.01)])
        XCTAssertEqual(s.positive.range, 1024)  // 1, doubled ten times
        XCTAssertEqual(s.positive.bins.reduce(0, +), 1002)
        XCTAssertEqual(s.negative.bins.reduce(0, +), 500)
        XCTAssertEqual(s.negative.range, 4)
        // Bins are 0.5 wide now: everything up to 1 sits in bins 0...2, 1000 in bin 2000.
        XCTAssertEqual(s.positive.bins[0] + s.positive.bins[1] + s.positive.bins[2], 1001)
        XCTAssertEqual(s.positive.bins[2000], 1)
    }

    func testPercentileOfUniformClipsBothTails() throws {
        // Uniform on [-1, 3] in four batches: the 1st and 99th percentiles are -0.96 and 2.96.
        let all = evenly(400_001, -1, 3)
        let s = stats(stride(from: 0, to: all.count, by: 100_001).map { Array(all[$0 ..< min($0 + 100_001, all.count)]) })
        let r = try XCTUnwrap(s.range(.percentile(99)))
        XCTAssertEqual(r.min, -0.96, accuracy: 0.004)
        XCTAssertEqual(r.max, 2.96, accuracy: 0.004)
        let r9999 = try XCTUnwrap(s.range(.percentile(99.99)))
        XCTAssertEqual(r9999.max, 2.9996, accuracy: 0.004)
        XCTAssertLessThanOrEqual(r9999.max, 3)
        // p = 100 is minmax.
        let full = try XCTUnwrap(s.range(.percentile(100)))
        XCTAssertEqual(full.min, -1)
        XCTAssertEqual(full.max, 3)
    }

    func testPercentileOfSkewedDistribution() throws {
        // x = u^2 for u uniform on [0, 1]: P(x <= t) = sqrt(t), so the 90th percentile is 0.81.
        let xs = evenly(200_001, 0, 1).map { $0 * $0 }
        let r = try XCTUnwrap(stats([xs]).range(.percentile(90)))
        XCTAssertEqual(r.max, 0.81, accuracy: 0.003)
        XCTAssertEqual(r.min, 0.01, accuracy: 0.003)  // the 10th percentile
    }

    func testEntropyKeepsTightDistributionRange() throws {
        let s = stats([evenly(100_000, 0.001, 1)])
        let r = try XCTUnwrap(s.range(.entropy))
        XCTAssertGreaterThan(r.max, 0.97, "a uniform distribution has no tail worth clipping")
        XCTAssertLessThanOrEqual(r.max, 1)
        XCTAssertEqual(r.min, 0.001)
        // Two-sided and symmetric: both ends kept.
        let t = try XCTUnwrap(stats([evenly(100_001, -2, 2)]).range(.entropy))
        XCTAssertLessThan(t.min, -1.9)
        XCTAssertGreaterThan(t.max, 1.9)
    }

    func testEntropyClipsOutlierHeavyTail() throws {
        // Exponential(1) by inverse CDF on evenly spaced quantiles, plus a few huge outliers on both sides.
        let n = 100_000
        func exponential(_ k: Int) -> Float {
            let u: Double = (Double(k) + 0.5) / Double(n)
            return Float(-log(1 - u))
        }
        let pos: [Float] = (0 ..< n).map(exponential) + [Float](repeating: 500, count: 20)
        let neg: [Float] = (0 ..< n).map { -exponential($0) / 4 } + [Float](repeating: -300, count: 10)
        let s = stats([pos, neg])
        let r = try XCTUnwrap(s.range(.entropy))
        XCTAssertEqual(s.range(.minmax)?.max, 500)
        XCTAssertLessThan(r.max, 50, "the outliers at 500 should be clipped")
        XCTAssertGreaterThan(r.max, 4, "the bulk of the exponential (99% below 4.6) should stay")
        XCTAssertGreaterThan(r.min, -30, "the outliers at -300 should be clipped")
        XCTAssertLessThan(r.min, -1, "the bulk of the negative side (99% above -1.15) should stay")
    }

    func testSameInputsGiveSameStatistics() {
        var r = SeededRandom(seed: 7)
        let batches = (0 ..< 5).map { _ in r.floats(10_000, -3, 5) }
        var a = CalibrationStatistics(), b = CalibrationStatistics()
        for batch in batches {
            batch.withUnsafeBufferPointer { a.add(tensor: "t", values: $0); b.add(tensor: "t", values: $0) }
            a.endBatch(); b.endBatch()
        }
        XCTAssertEqual(a, b)
        for m in [CalibrationMethod.minmax, .percentile(99.9), .entropy] {
            XCTAssertEqual(a.ranges(m).map { [$0.min, $0.max] }, b.ranges(m).map { [$0.min, $0.max] })
        }
        XCTAssertEqual(a.batches, 5)
    }

    func testTensorsWithoutFiniteValuesAreLeftOut() {
        var s = CalibrationStatistics()
        [Float.nan].withUnsafeBufferPointer { s.add(tensor: "nan", values: $0) }
        [Float(1), 2].withUnsafeBufferPointer { s.add(tensor: "ok", values: $0) }
        XCTAssertEqual(s.names, ["nan", "ok"])
        XCTAssertEqual(s.ranges(.minmax).map(\.name), ["ok"])
    }

    func testMethodDescriptions() {
        XCTAssertEqual(CalibrationMethod.minmax.description, "minmax")
        XCTAssertEqual(CalibrationMethod.percentile(99.99).description, "percentile p=99.99")
        XCTAssertEqual(CalibrationMethod.percentile(99).description, "percentile p=99")
        XCTAssertEqual(CalibrationMethod.entropy.description, "entropy bins=2048")
    }
}
