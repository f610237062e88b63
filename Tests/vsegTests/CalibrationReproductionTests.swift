import Foundation
import XCTest

/// Every committed table in calibration/ is remade by its documented command.
///
/// calibration/COMMANDS holds one `vseg calibrate ... --out calibration/<table>`
/// line per table (run from the repository root); calibration/README.md quotes
/// the same lines. The test checks the two agree, runs each command with its
/// `--out` redirected to a scratch directory and compares the bytes with the
/// committed table. A change of the engine that changes a table (a different
/// FP32 kernel rounding, a different sensitivity ranking) fails here: remake the
/// table with its command and re-measure its accuracy (Int8AccuracyTests).
final class CalibrationReproductionTests: XCTestCase {
    struct Command {
        var line: String
        var arguments: [String]
        /// The committed table, relative to the repository root.
        var table: String
    }

    static func commands() throws -> [Command] {
        let path = Harness.root.appendingPathComponent("calibration/COMMANDS").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var out: [Command] = []
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            XCTAssertFalse(line.contains("'") || line.contains("\""), "calibration/COMMANDS: no quoting, please: \(line)")
            let words = line.split(separator: " ").map(String.init)
            guard words.count > 2, words[0] == "vseg", words[1] == "calibrate" else {
                XCTFail("calibration/COMMANDS: not a `vseg calibrate` command: \(line)")
                continue
            }
            let outs = words.indices.filter { words[$0] == "--out" }
            guard outs.count == 1, outs[0] + 1 < words.count, words[outs[0] + 1].hasPrefix("calibration/") else {
                XCTFail("calibration/COMMANDS: each command names its table once with --out calibration/<file>: \(line)")
                continue
            }
            out.append(Command(line: line, arguments: Array(words.dropFirst()), table: words[outs[0] + 1]))
        }
        return out
    }

    func testCommandsFileCoversEveryTableAndTheReadme() throws {
        let commands = try Self.commands()
        let dir = Harness.root.appendingPathComponent("calibration").path
        let tables = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".qtable") }.sorted()
        XCTAssertEqual(commands.map { String($0.table.dropFirst("calibration/".count)) }.sorted(), tables,
                       "one command per committed table")
        XCTAssertEqual(Set(commands.map(\.table)).count, commands.count, "one table per command")
        for name in ["selfie_segmentation", "selfie_segmentation_landscape", "pose_detection", "pose_landmark_full"] {
            XCTAssertTrue(tables.contains(name + ".qtable"), "a table for the built-in model \(name)")
        }
        let readme = try String(contentsOfFile: dir + "/README.md", encoding: .utf8)
        for c in commands {
            XCTAssertTrue(readme.contains(c.line), "calibration/README.md quotes the command: \(c.line)")
        }
    }

    func testCommittedTablesAreReproduced() throws {
        let scratch = try Harness.scratch("calibration-reproduction")
        let commands = try Self.commands()
        XCTAssertFalse(commands.isEmpty)
        for c in commands {
            let committed = Harness.root.appendingPathComponent(c.table)
            let fresh = scratch.appendingPathComponent(committed.lastPathComponent)
            var args = c.arguments
            args[args.firstIndex(of: "--out")! + 1] = fresh.path
            let start = Date()
            let r = try Harness.vseg(args + ["-q"], timeout: 300)
            print(String(format: "calibration reproduction: %@ in %.1f s", c.table, Date().timeIntervalSince(start)))
            XCTAssertTrue(r.exitedNormally, "\(c.line): \(r.stderr)")
            XCTAssertEqual(r.status, 0, "\(c.line): \(r.stderr)")
            let want = try String(contentsOf: committed, encoding: .utf8)
            let got = try String(contentsOf: fresh, encoding: .utf8)
            if got != want, let why = Self.numericMismatch(want, got) {
                let a = want.split(separator: "\n"), b = got.split(separator: "\n")
                let first = (0 ..< min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
                XCTFail("""
                    \(c.line) no longer reproduces \(c.table) (\(a.count) vs \(b.count) lines); first difference at line \(first + 1):
                      committed: \(first < a.count ? String(a[first]) : "<end>")
                      now:       \(first < b.count ? String(b[first]) : "<end>")
                    (\(why))
                    Remake the table with the command and re-run Int8AccuracyTests.
                    """)
            } else if got != want {
                print("calibration reproduction: \(c.table) matches within float tolerance, not byte for byte (other FP32 kernel rounding?)")
            }
        }
    }

    func testNumericToleranceIsNarrow() {
        let base = "format vseg-qtable 2\ntensor a -1 1 0.0078125 128\nbias a 0.5 -0.25\ntensor b 0 6 0.0235294122 0\n"
        XCTAssertNil(Self.numericMismatch(base, base))
        XCTAssertNil(Self.numericMismatch(base, base.replacingOccurrences(of: "bias a 0.5 -0.25", with: "bias a 0.5003 -0.2499")),
                     "a bias within a tenth of a step is the same calibration")
        XCTAssertNotNil(Self.numericMismatch(base, base.replacingOccurrences(of: "bias a 0.5 -0.25", with: "bias a 0.502 -0.25")))
        XCTAssertNotNil(Self.numericMismatch(base, base.replacingOccurrences(of: "bias a 0.5 -0.25", with: "bias a 0.5")))
        XCTAssertNotNil(Self.numericMismatch(base, base.replacingOccurrences(of: "\nbias a 0.5 -0.25", with: "")))
        XCTAssertNil(Self.numericMismatch(base, base.replacingOccurrences(of: "-1 1 0.0078125", with: "-1.0004 1 0.0078135")))
        XCTAssertNotNil(Self.numericMismatch(base, base.replacingOccurrences(of: "-1 1 0.0078125", with: "-1.01 1 0.0078125")))
        XCTAssertNotNil(Self.numericMismatch(base, base.replacingOccurrences(of: "tensor b 0 6", with: "tensor c 0 6")))

        let eq = base + "equalize b 1 2.5 64\n"
        XCTAssertNil(Self.numericMismatch(eq, eq.replacingOccurrences(of: "2.5 64", with: "2.50097656 63.9990234")),
                     "one 1/1024 step of a factor is rounding")
        XCTAssertNotNil(Self.numericMismatch(eq, eq.replacingOccurrences(of: "2.5 64", with: "2.51 64")))
        XCTAssertNotNil(Self.numericMismatch(eq, eq.replacingOccurrences(of: "2.5 64", with: "2.5")))
        XCTAssertNotNil(Self.numericMismatch(eq, base), "a missing equalize line is a real change")
    }

    /// Tables made on a CPU whose FP32 kernels round differently (AVX2 vs AVX-512
    /// summation order) differ in the last digits of the ranges, and a near tie in
    /// the sensitivity ranking may swap which layer is kept FP32. Those still count
    /// as reproduced: same header, same tensors in the same order, every number
    /// within 1e-3 relative (zero point within 1), fp32 marks differing by at most
    /// one swap, equalization factors within one 1/1024 step. Bias corrections (means of INT8 - FP32 errors, so they move with
    /// the ranges' rounding) must be within a tenth of their tensor's quantization
    /// step; after an fp32 swap only their channel counts are compared (every conv
    /// downstream of the swap measures other errors). Anything else is a real
    /// change: returns what differs, or nil.
    static func numericMismatch(_ want: String, _ got: String) -> String? {
        func split(_ text: String) -> (lines: [String], bias: [String: [Double]], equalize: [String: [Double]]) {
            var lines: [String] = [], bias: [String: [Double]] = [:], equalize: [String: [Double]] = [:]
            for l in text.split(separator: "\n").map(String.init) {
                let f = l.split(separator: " ")
                let values = f.dropFirst(2).map { Double($0) ?? .nan }
                if f.first == "bias", f.count > 2 { bias[String(f[1])] = values }
                else if f.first == "equalize", f.count > 2 { equalize[String(f[1])] = values }
                else { lines.append(l) }
            }
            return (lines, bias, equalize)
        }
        let (a, biasA, eqA) = split(want), (b, biasB, eqB) = split(got)
        // Equalization runs before sensitivity: the same tensors whatever the fp32 marks.
        if Set(eqA.keys) != Set(eqB.keys) { return "equalize lines for other tensors" }
        for (key, p) in eqA {
            let q = eqB[key]!
            guard p.count == q.count else { return "equalize \(key): \(p.count) vs \(q.count) channels" }
            // Factors are multiples of 1/1024 from per-channel maxima: one step of slack.
            for (x, y) in zip(p, q) where !(abs(x - y) <= 1.0 / 1024 + 1e-3 * max(x, y)) {
                return "equalize \(key): \(x) vs \(y)"
            }
        }
        guard a.count == b.count else { return "\(a.count) vs \(b.count) lines" }
        var fp32Differences = 0
        var scales: [String: Double] = [:]
        for (x, y) in zip(a, b) {
            let u = x.split(separator: " ").map(String.init), v = y.split(separator: " ").map(String.init)
            if u.first == "tensor", u.count >= 6 { scales[u[1]] = Double(u[4]) }
            guard x != y else { continue }
            guard u.first == "tensor", v.first == "tensor", u.count >= 6, v.count >= 6, u[1] == v[1] else {
                return "line differs: \(x) / \(y)"
            }
            for k in 2 ..< 5 {
                guard let p = Double(u[k]), let q = Double(v[k]) else { return "not a number: \(x) / \(y)" }
                if abs(p - q) > 1e-3 * max(abs(p), abs(q), 1e-6) { return "\(u[1]) field \(k) \(p) vs \(q)" }
            }
            guard let zp = Int(u[5]), let zq = Int(v[5]), abs(zp - zq) <= 1 else { return "zero point: \(x) / \(y)" }
            if (u.count > 6) != (v.count > 6) { fp32Differences += 1 }
        }
        if fp32Differences > 2 { return "\(fp32Differences) fp32 marks differ" }
        if fp32Differences == 0 && Set(biasA.keys) != Set(biasB.keys) { return "bias lines for other tensors" }
        for (key, p) in biasA {
            guard let q = biasB[key] else { continue }
            guard p.count == q.count else { return "bias \(key): \(p.count) vs \(q.count) channels" }
            guard fp32Differences == 0 else { continue }
            let step = scales[key] ?? 0
            for (x, y) in zip(p, q) where !(abs(x - y) <= 0.1 * step + 1e-3 * max(abs(x), abs(y))) {
                return "bias \(key): \(x) vs \(y) (step \(step))"
            }
        }
        return nil
    }
}
