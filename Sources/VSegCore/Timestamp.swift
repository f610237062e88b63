/// A rational number, used for time bases and frame rates (FFmpeg's AVRational).
public struct Rational: Hashable, Codable, Sendable, CustomStringConvertible {
    public var num: Int32
    public var den: Int32
    public init(_ num: Int32, _ den: Int32) { self.num = num; self.den = den }
    public var doubleValue: Double { den == 0 ? .nan : Double(num) / Double(den) }
    public var description: String { "\(num)/\(den)" }
}

/// A presentation timestamp in the source's own time base, so sinks can keep
/// the source timing exactly (variable frame rate included).
public struct Timestamp: Hashable, Codable, Sendable {
    public var value: Int64
    public var timeBase: Rational
    public init(value: Int64, timeBase: Rational) { self.value = value; self.timeBase = timeBase }
    public init(seconds: Double, timeBase: Rational = Rational(1, 1_000_000)) {
        self.timeBase = timeBase
        self.value = Int64((seconds * Double(timeBase.den) / Double(timeBase.num)).rounded())
    }
    public var seconds: Double { Double(value) * timeBase.doubleValue }
}
