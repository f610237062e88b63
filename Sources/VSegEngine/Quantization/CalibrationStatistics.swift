// Range statistics for post-training INT8 calibration (issue 4, part 2).
//
// One pass over the frames. Per tensor we keep the exact min and max, the
// number of exact zeros, and two 2048-bin histograms of magnitudes: one for
// the negative values, one for the positive values. Each histogram starts at
// the largest magnitude of the first batch that had values on its side and
// doubles its range whenever a value falls outside, merging bin pairs
// (2i, 2i+1) -> i, which is exact because the range always starts at 0. The
// counts only depend on the values and the order of batches, so the same
// frames give the same bytes whatever the thread count of the session.
//
// Methods (each gives a real range [lo, hi]; ActivationQuant widens it to 0):
// - minmax: the exact observed min and max.
// - percentile P: lo is the (100-P)th and hi the Pth percentile over all
//   values (both tails clipped), interpolated linearly inside a bin.
// - entropy: TensorRT's KL-divergence threshold search, done on each side of
//   zero separately, because uint8 activations are asymmetric: a ReLU output
//   has no negative side at all, a sigmoid-free logit may be lopsided. For a
//   side with histogram h (2048 bins of magnitude), each candidate threshold
//   of i bins (i from L up to the last non-empty bin + 1) builds the reference
//   P = h[0..<i] with the clipped tail added to the last bin, and Q = h[0..<i]
//   merged into L levels, each level's mass spread evenly over the bins where
//   P is non-zero (as TensorRT/MXNet do); the i with the smallest KL(P||Q)
//   wins (ties: the wider) and gives threshold i * binWidth. L is the share of
//   the 255 uint8 steps the side would get under minmax (255 for a one-sided
//   tensor, about 128 each for a symmetric one), at least 8. Exact zeros are
//   left out of both histograms: zero is exactly representable under any range,
//   so its mass would only dilute the tail the search is about.
// Non-finite values are skipped (and counted).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How calibration turns the observed values of a tensor into a range.
public enum CalibrationMethod: Sendable, Equatable, CustomStringConvertible {
    case minmax
    /// Clip both tails: keep the [100 - p, p] percentile range (p in (50, 100]).
    case percentile(Double)
    /// KL-divergence threshold search on 2048-bin histograms (see the file header).
    case entropy

    public static let names = ["minmax", "percentile", "entropy"]
    public static let defaultPercentile = 99.99

    public var name: String {
        switch self {
        case .minmax: return "minmax"
        case .percentile: return "percentile"
        case .entropy: return "entropy"
        }
    }

    /// `minmax`, `percentile p=99.99`, `entropy bins=2048`: the QuantTable `method` line.
    public var description: String {
        switch self {
        case .minmax: return "minmax"
        case let .percentile(p): return "percentile p=\(Self.format(p))"
        case .entropy: return "entropy bins=\(SideHistogram.binCount)"
        }
    }

    static func format(_ p: Double) -> String {
        p == p.rounded() && abs(p) < 1e15 ? String(Int(p)) : "\(p)"
    }
}

/// 2048 bins of magnitudes in (0, range]; bin i holds (i*w, (i+1)*w] roughly
/// (a value exactly on an edge goes to the upper bin, the top edge to the last).
public struct SideHistogram: Sendable, Equatable {
    public static let binCount = 2048
    public private(set) var bins: [UInt64]
    /// Upper end of the histogram; 0 until the first value arrives.
    public private(set) var range: Float = 0
    public private(set) var count: UInt64 = 0

    public init() { bins = [UInt64](repeating: 0, count: Self.binCount) }

    public var binWidth: Float { range / Float(Self.binCount) }

    /// Makes the range cover `magnitude`: set it on first use, then double (merging bin pairs).
    mutating func cover(_ magnitude: Float) {
        guard magnitude > 0 else { return }
        if range == 0 { range = magnitude; return }
        while magnitude > range {
            let half = Self.binCount / 2
            for i in 0 ..< half { bins[i] = bins[2 * i] &+ bins[2 * i + 1] }
            for i in half ..< Self.binCount { bins[i] = 0 }
            range *= 2
        }
    }

    /// Adds magnitudes already known to be in (0, range].
    @inline(__always)
    mutating func add(magnitude m: Float, scale: Float) {
        let i = Swift.min(Int(m * scale), Self.binCount - 1)
        bins[i] &+= 1
        count &+= 1
    }
}

/// Streaming statistics of one tensor.
public struct TensorStatistics: Sendable, Equatable {
    public private(set) var min: Float = .infinity
    public private(set) var max: Float = -.infinity
    /// Finite values seen, zeros included.
    public private(set) var count: UInt64 = 0
    public private(set) var zeros: UInt64 = 0
    public private(set) var nonFinite: UInt64 = 0
    public private(set) var negative = SideHistogram()
    public private(set) var positive = SideHistogram()

    public init() {}

    /// Adds one batch of values (e.g. the tensor for one frame).
    public mutating func add(_ values: UnsafeBufferPointer<Float>) {
        guard !values.isEmpty else { return }
        var lo = Float.infinity, hi = -Float.infinity
        var bad: UInt64 = 0
        for v in values {
            if v.isFinite {
                lo = Swift.min(lo, v); hi = Swift.max(hi, v)
            } else {
                bad &+= 1
            }
        }
        nonFinite &+= bad
        guard lo <= hi else { return }
        min = Swift.min(min, lo)
        max = Swift.max(max, hi)
        if lo < 0 { negative.cover(-lo) }
        if hi > 0 { positive.cover(hi) }
        let ns = negative.range > 0 ? Float(SideHistogram.binCount) / negative.range : 0
        let ps = positive.range > 0 ? Float(SideHistogram.binCount) / positive.range : 0
        var z: UInt64 = 0
        for v in values where v.isFinite {
            if v > 0 {
                positive.add(magnitude: v, scale: ps)
            } else if v < 0 {
                negative.add(magnitude: -v, scale: ns)
            } else {
                z &+= 1
            }
        }
        zeros &+= z
        count &+= UInt64(values.count) &- bad
    }

    /// The real range `method` keeps; nil when no finite value was seen.
    public func range(_ method: CalibrationMethod) -> (min: Float, max: Float)? {
        guard count > 0 else { return nil }
        switch method {
        case .minmax:
            return (min, max)
        case let .percentile(p):
            let tail = Swift.max(0, Swift.min(1, (100 - p) / 100))
            let lo = quantile(tail), hi = quantile(1 - tail)
            return (Swift.max(min, Swift.min(lo, hi)), Swift.min(max, Swift.max(lo, hi)))
        case .entropy:
            let negMax = Swift.max(0, -min), posMax = Swift.max(0, max)
            let total = negMax + posMax
            func levels(_ side: Float) -> Int { total > 0 ? Swift.max(8, Int((255 * side / total).rounded())) : 255 }
            let lo = negative.count > 0 ? -Swift.min(negMax, Self.klThreshold(negative, levels: levels(negMax))) : Swift.min(min, 0)
            let hi = positive.count > 0 ? Swift.min(posMax, Self.klThreshold(positive, levels: levels(posMax))) : Swift.max(max, 0)
            return (Swift.max(min, lo), Swift.min(max, hi))
        }
    }

    /// The value below which a fraction `q` of the values lie: negative bins
    /// from the most negative, then the zeros, then the positive bins.
    func quantile(_ q: Double) -> Float {
        let target = q * Double(count)
        var seen = 0.0
        let n = SideHistogram.binCount
        let nw = Double(negative.binWidth), pw = Double(positive.binWidth)
        for i in stride(from: n - 1, through: 0, by: -1) where negative.bins[i] > 0 {
            let c = Double(negative.bins[i])
            if seen + c >= target {
                // Bin i covers [-(i+1)w, -iw]; walk it from the left.
                let f = c > 0 ? (target - seen) / c : 0
                return Float(-Double(i + 1) * nw + f * nw)
            }
            seen += c
        }
        if seen + Double(zeros) >= target { return 0 }
        seen += Double(zeros)
        for i in 0 ..< n where positive.bins[i] > 0 {
            let c = Double(positive.bins[i])
            if seen + c >= target {
                let f = (target - seen) / c
                return Float(Double(i) * pw + f * pw)
            }
            seen += c
        }
        return max
    }

    /// TensorRT-style threshold (a magnitude) minimizing KL(P||Q) with `levels` quantization levels.
    ///
    /// As in TensorRT/MXNet, Q spreads each level's mass over the bins where P
    /// is non-zero (so the clipped tail in the last bin counts), and a P bin
    /// with an empty Q bin costs as if Q held 1e-8 there. The sums are taken
    /// with prefix sums per level, so a candidate costs O(levels), not O(bins).
    static func klThreshold(_ h: SideHistogram, levels: Int) -> Float {
        let n = SideHistogram.binCount
        guard h.count > 0, levels < n else { return h.range }
        var last = n - 1
        while last > 0 && h.bins[last] == 0 { last -= 1 }
        // mass[j], nonEmpty[j], plogp[j]: sums over bins[0..<j].
        var mass = [Double](repeating: 0, count: n + 1)
        var nonEmpty = [Int](repeating: 0, count: n + 1)
        var plogp = [Double](repeating: 0, count: n + 1)
        for j in 0 ..< n {
            let b = Double(h.bins[j])
            mass[j + 1] = mass[j] + b
            nonEmpty[j + 1] = nonEmpty[j] + (b > 0 ? 1 : 0)
            plogp[j + 1] = plogp[j] + (b > 0 ? b * log(b) : 0)
        }
        let total = mass[n]
        let logEps = log(1e-8)
        var best = last + 1, bestKL = Double.infinity
        // Thresholds past the largest value clip nothing; from the widest down, so ties keep the wider range.
        for i in stride(from: last + 1, through: Swift.min(levels, last + 1), by: -1) {
            let bLast = Double(h.bins[i - 1])
            let tail = total - mass[i]
            let pLast = bLast + tail
            let sumPlogP = plogp[i - 1] + (pLast > 0 ? pLast * log(pLast) : 0)
            let sq = mass[i]
            guard sq > 0 else { continue }
            let logSq = log(sq)
            var sumPlogQ = 0.0
            for l in 0 ..< levels {
                let s = l * i / levels, e = (l + 1) * i / levels
                guard e > s else { continue }
                let m = mass[e] - mass[s]
                var k = nonEmpty[e] - nonEmpty[s]
                var pm = m
                let holdsLast = e == i
                if holdsLast && bLast == 0 && tail > 0 { k += 1 }
                if holdsLast { pm += tail }
                if m > 0 {
                    sumPlogQ += pm * (log(m / Double(k)) - logSq)
                } else if holdsLast && tail > 0 {
                    sumPlogQ += tail * logEps
                }
            }
            let kl = (sumPlogP / total - log(total)) - sumPlogQ / total
            if kl < bestKL { bestKL = kl; best = i }
        }
        return Float(best) * h.binWidth
    }
}

/// Statistics of every tensor of a calibration run, in first-seen order.
public struct CalibrationStatistics: Sendable, Equatable {
    public private(set) var names: [String] = []
    public private(set) var tensors: [String: TensorStatistics] = [:]
    /// Batches added per tensor name (frames, when each frame adds every tensor once).
    public private(set) var batches = 0

    public init() {}

    public mutating func add(tensor name: String, values: UnsafeBufferPointer<Float>) {
        if tensors[name] == nil {
            names.append(name)
            tensors[name] = TensorStatistics()
        }
        tensors[name]!.add(values)
    }

    /// Marks the end of one frame (for `batches`).
    public mutating func endBatch() { batches += 1 }

    /// The range of every tensor that saw a finite value, in `names` order.
    /// (Entropy costs about 10 ms per tensor; it runs on one thread so that no
    /// scheduling can touch the result.)
    public func ranges(_ method: CalibrationMethod) -> [(name: String, min: Float, max: Float)] {
        names.compactMap { n in tensors[n]!.range(method).map { (n, $0.min, $0.max) } }
    }
}
