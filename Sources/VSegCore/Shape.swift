/// Checked arithmetic on tensor shapes. Importers run every dimension from a file
/// through here, so a hostile file cannot make us allocate 2^40 elements.
public enum ShapeMath {
    /// Upper bound on the elements of one tensor (1 Gi floats = 4 GiB).
    public static let maxElements = 1 << 30

    /// Element count, or nil if a dimension is negative or the product overflows/exceeds `maxElements`.
    public static func elementCount(_ dims: [Int]) -> Int? {
        var n = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o, p <= maxElements else { return nil }
            n = p
        }
        return n
    }
}
