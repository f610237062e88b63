// The calibration table: uint8 parameters per activation tensor, as text.
//
// `vseg calibrate` writes it; `--precision int8` reads it. Example:
//
//     # vseg quantization table (written by vseg calibrate)
//     format vseg-qtable 1
//     model selfie_segmentation.tflite
//     sha256 4a3f...e1
//     method percentile p=99.99
//     input samples/carphone_pristine.mp4
//     every 5
//     frames 60
//     # tensor <key> <min> <max> <scale> <zero_point> [fp32]
//     tensor input_1 -1 1 0.00784313772 128
//     tensor conv2d_3 0 6.12503433 0.0240197424 0 fp32
//     tensor conv2d_4 -3.5 4.1 0.0298039224 117
//     bias conv2d_4 0.0121 -0.0034 0.0008
//
// Lines
//   - Blank lines and lines starting with `#` (after spaces) are ignored.
//   - Header lines, in any order before the first `tensor` line: `format
//     vseg-qtable 1`, `2` or `3` (required, first; 2 when the table has
//     `bias` lines, 3 when it has `equalize` lines), `model <file name>`, `sha256 <64 hex>`
//     of the model file, `method minmax | percentile p=<P> | entropy bins=2048`,
//     `input <uri>` (one per input, the rest of the line verbatim), `every <K>`,
//     `frames <N>` (frames actually used).
//   - `tensor <key> <min> <max> <scale> <zero_point> [fp32]`: key is the
//     engine's `Session.tensorKey` (tensor name, or `name#index`), with `%`,
//     space and tab written as `%25`, `%20`, `%09`. Anything after the fields
//     that starts with `#` is a comment.
//   - `equalize <key> <f0> <f1> ...` (format 3): per channel, the positive
//     factor tensor `key` is scaled by (`ChannelEqualization`): its producing
//     conv's weights and bias for channel c are multiplied by f_c and the convs
//     reading it divide their weights for input channel c by f_c, in float,
//     before quantization. The tensor's scale and zero point are for the scaled
//     values. Follows its `tensor` line; one value per channel.
//   - `bias <key> <v0> <v1> ...` (format 2): per output channel, added to the
//     float bias of the INT8 conv producing tensor `key` before it is quantized
//     (`BiasCorrection` measures them: minus the mean INT8 - FP32 error of that
//     conv's output on the calibration frames). It follows its `tensor` line and
//     has exactly one value per output channel; without it the bias is used as is.
//
// Which fields count (hand edits)
//   `scale` and `zero_point` are what the INT8 graph runs with. `min`/`max`
//   record the calibrated range and are only used when both scale and
//   zero_point are `-`: then they are derived with `ActivationQuant(min:max:)`
//   (range widened to include 0). Writing the table back prints the derived
//   numbers. `fp32` keeps the node producing that tensor in float (its scale
//   and zero point still quantize it for INT8 consumers). scale must be a
//   positive finite number, zero_point an integer in 0...255, min <= max.
//
// Numbers are written with `%.9g`, which round-trips every Float exactly, so
// the same calibration gives the same bytes.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import VSegCore

/// One `tensor` line.
public struct QuantTableEntry: Sendable, Equatable {
    public var key: String
    public var min: Float
    public var max: Float
    public var quant: ActivationQuant
    public var keepFP32: Bool
    /// Per output channel, added to the producing conv's bias (`bias` line).
    public var biasCorrection: [Float]?
    /// Per channel, the factor the tensor is scaled by (`equalize` line,
    /// `ChannelEqualization`).
    public var equalization: [Float]?

    public init(key: String, min: Float, max: Float, quant: ActivationQuant? = nil, keepFP32: Bool = false,
                biasCorrection: [Float]? = nil, equalization: [Float]? = nil) {
        self.key = key; self.min = min; self.max = max
        self.quant = quant ?? ActivationQuant(min: min, max: max)
        self.keepFP32 = keepFP32
        self.biasCorrection = biasCorrection
        self.equalization = equalization
    }
}

/// Errors reading, writing or applying a quantization table.
public enum QuantTableError: UserFacingError, Equatable {
    /// A line that does not follow the format (`path:line: message`).
    case parse(path: String, line: Int, message: String)
    /// The file could not be read or written.
    case io(path: String, reason: String, writing: Bool)
    /// The table was calibrated on another model file (sha256 differs).
    case modelMismatch(table: String, tableModel: String, model: String, command: String)

    public var description: String {
        switch self {
        case let .parse(path, line, message):
            return "\(path):\(line): \(message); fix the line (format: see the top of Sources/VSegEngine/Quantization/QuantTable.swift) or re-run vseg calibrate"
        case let .io(path, reason, writing):
            return writing ? "\(path): cannot write the quantization table (\(reason)); choose a writable --out path"
                : "\(path): cannot read the quantization table (\(reason)); check the path or make one with vseg calibrate"
        case let .modelMismatch(table, tableModel, model, command):
            return "\(table): calibrated for another model file (\(tableModel)), not \(model); re-calibrate with `\(command)`"
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .io(_, _, true): return .output
        default: return .model
        }
    }
}

/// A parsed or freshly calibrated table (see the file header for the format).
public struct QuantTable: Sendable, Equatable {
    /// The newest format this vseg writes and reads; 1 is still read (and
    /// written when no entry has a bias correction).
    public static let formatVersion = 3
    public var modelFile: String
    /// Lowercase hex SHA-256 of the model file.
    public var modelSHA256: String
    public var method: CalibrationMethod
    public var inputs: [String]
    public var every: Int
    public var frames: Int
    public var entries: [QuantTableEntry]

    public init(modelFile: String, modelSHA256: String, method: CalibrationMethod, inputs: [String], every: Int, frames: Int,
                entries: [QuantTableEntry]) {
        self.modelFile = modelFile; self.modelSHA256 = modelSHA256; self.method = method
        self.inputs = inputs; self.every = every; self.frames = frames; self.entries = entries
    }

    /// What `Precision.int8` takes.
    public var tensorQuantization: [String: TensorQuantization] {
        var out: [String: TensorQuantization] = [:]
        for e in entries {
            out[e.key] = TensorQuantization(quant: e.quant, keepFP32: e.keepFP32, biasCorrection: e.biasCorrection,
                                            equalization: e.equalization)
        }
        return out
    }

    /// Marks these tensors' producers to stay in float.
    public mutating func markFP32(_ keys: some Sequence<String>) {
        let set = Set(keys)
        for i in entries.indices where set.contains(entries[i].key) { entries[i].keepFP32 = true }
    }

    // MARK: text

    /// The oldest format that holds this table: 3 with `equalize` lines, 2 with
    /// `bias` lines, else 1 (so older tables are written back unchanged).
    public var version: Int {
        if entries.contains(where: { $0.equalization != nil }) { return 3 }
        return entries.contains { $0.biasCorrection != nil } ? 2 : 1
    }

    public func serialized() -> String {
        var s = "# vseg quantization table (written by vseg calibrate)\n"
        s += "# scale and zero_point are used as written; set both to - to derive them from min/max.\n"
        s += "# A trailing fp32 keeps the node that produces the tensor in float.\n"
        s += "format vseg-qtable \(version)\n"
        s += "model \(modelFile)\n"
        s += "sha256 \(modelSHA256)\n"
        s += "method \(method)\n"
        for i in inputs { s += "input \(i)\n" }
        s += "every \(every)\n"
        s += "frames \(frames)\n"
        s += "# tensor <key> <min> <max> <scale> <zero_point> [fp32]\n"
        if entries.contains(where: { $0.equalization != nil }) {
            s += "# equalize <key> <per-channel factors the tensor is scaled by>\n"
        }
        if entries.contains(where: { $0.biasCorrection != nil }) {
            s += "# bias <key> <per-channel values added to the producing conv's bias>\n"
        }
        for e in entries {
            s += "tensor \(Self.escape(e.key)) \(Self.number(e.min)) \(Self.number(e.max)) \(Self.number(e.quant.scale)) \(e.quant.zeroPoint)"
            s += e.keepFP32 ? " fp32\n" : "\n"
            if let f = e.equalization {
                s += "equalize \(Self.escape(e.key))" + f.map { " " + Self.number($0) }.joined() + "\n"
            }
            if let b = e.biasCorrection {
                s += "bias \(Self.escape(e.key))" + b.map { " " + Self.number($0) }.joined() + "\n"
            }
        }
        return s
    }

    public func write(path: String) throws {
        let bytes = Array(serialized().utf8)
        guard let f = fopen(path, "wb") else { throw QuantTableError.io(path: path, reason: String(cString: strerror(errno)), writing: true) }
        let n = fwrite(bytes, 1, bytes.count, f)
        let closed = fclose(f)
        guard n == bytes.count, closed == 0 else { throw QuantTableError.io(path: path, reason: String(cString: strerror(errno)), writing: true) }
    }

    /// Larger files are refused unread (a table is ~100 bytes per tensor plus
    /// ~15 per corrected channel: a few MB for big models).
    public static let maxFileBytes = 64 << 20

    public static func load(path: String) throws -> QuantTable {
        let bytes: [UInt8]
        do { bytes = try FileBytes.read(path, limit: maxFileBytes) } catch let e as CoreError {
            guard case let .unreadableFile(_, reason) = e else { throw e }
            throw QuantTableError.io(path: path, reason: reason, writing: false)
        }
        return try parse(text: String(decoding: bytes, as: UTF8.self), path: path)
    }

    public static func parse(text: String, path: String) throws -> QuantTable {
        var t = QuantTable(modelFile: "", modelSHA256: "", method: .minmax, inputs: [], every: 1, frames: 0, entries: [])
        var version = 0
        var sawFormat = false, sawModel = false, sawSHA = false, sawMethod = false
        var seen: [String: Int] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNo = i + 1
            func fail(_ m: String) -> QuantTableError { .parse(path: path, line: lineNo, message: m) }
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            var fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            let keyword = fields.removeFirst()
            if !sawFormat {
                guard keyword == "format", fields.count == 2, fields[0] == "vseg-qtable" else {
                    throw fail("expected 'format vseg-qtable \(formatVersion)' as the first line")
                }
                guard let v = Int(fields[1]), (1...formatVersion).contains(v) else {
                    throw fail("format version \(fields[1]) is not supported (this vseg reads versions 1 to \(formatVersion))")
                }
                sawFormat = true
                version = v
                continue
            }
            switch keyword {
            case "format":
                throw fail("a second 'format' line")
            case "model":
                guard fields.count >= 1 else { throw fail("'model' needs the model file name") }
                t.modelFile = String(trimmed.dropFirst(keyword.count).drop { $0 == " " || $0 == "\t" })
                sawModel = true
            case "sha256":
                guard fields.count == 1, fields[0].count == 64, fields[0].allSatisfy(\.isHexDigit) else {
                    throw fail("'sha256' needs the 64 hex digits of the model file's SHA-256")
                }
                t.modelSHA256 = fields[0].lowercased()
                sawSHA = true
            case "method":
                t.method = try parseMethod(fields, fail)
                sawMethod = true
            case "input":
                guard !fields.isEmpty else { throw fail("'input' needs a uri") }
                t.inputs.append(String(trimmed.dropFirst(keyword.count).drop { $0 == " " || $0 == "\t" }))
            case "every", "frames":
                guard fields.count == 1, let v = Int(fields[0]), v >= (keyword == "every" ? 1 : 0) else {
                    throw fail("'\(keyword)' needs a whole number\(keyword == "every" ? " >= 1" : " >= 0"), got '\(fields.joined(separator: " "))'")
                }
                if keyword == "every" { t.every = v } else { t.frames = v }
            case "tensor":
                let e = try parseEntry(fields, fail)
                if let first = seen[e.key] { throw fail("tensor \(e.key) already given on line \(first)") }
                seen[e.key] = lineNo
                t.entries.append(e)
            case "bias" where version >= 2, "equalize" where version >= 3:
                if let c = fields.firstIndex(where: { $0.hasPrefix("#") }), c > 0 { fields = Array(fields[..<c]) }
                let what = keyword == "bias" ? "value per output channel" : "factor per channel"
                guard fields.count >= 2, let key = unescape(fields[0]) else {
                    throw fail("expected '\(keyword) <key> <\(what)>...'")
                }
                guard let i = t.entries.lastIndex(where: { $0.key == key }) else {
                    throw fail("\(keyword) for \(key) comes before (or without) its 'tensor \(fields[0])' line")
                }
                let given = keyword == "bias" ? t.entries[i].biasCorrection : t.entries[i].equalization
                guard given == nil else { throw fail("\(keyword) for \(key) given twice") }
                var values: [Float] = []
                values.reserveCapacity(fields.count - 1)
                for v in fields.dropFirst() {
                    guard let x = Float(v), x.isFinite else { throw fail("\(key): \(keyword) value '\(v)' is not a finite number") }
                    if keyword == "equalize" && x <= 0 { throw fail("\(key): equalize factor '\(v)' must be positive") }
                    values.append(x)
                }
                if keyword == "bias" { t.entries[i].biasCorrection = values } else { t.entries[i].equalization = values }
            default:
                let known = version >= 3 ? ", bias or equalize" : version == 2 ? " or bias (equalize lines need format 3)" : " (bias lines need format 2)"
                throw fail("unknown line '\(keyword)'; expected model, sha256, method, input, every, frames, tensor\(known)")
            }
        }
        let end = text.split(separator: "\n", omittingEmptySubsequences: false).count
        guard sawFormat else { throw QuantTableError.parse(path: path, line: 1, message: "empty table: no 'format vseg-qtable \(formatVersion)' line") }
        for (ok, what) in [(sawModel, "model"), (sawSHA, "sha256"), (sawMethod, "method")] where !ok {
            throw QuantTableError.parse(path: path, line: end, message: "the header has no '\(what)' line")
        }
        return t
    }

    private static func parseMethod(_ f: [String], _ fail: (String) -> QuantTableError) throws -> CalibrationMethod {
        switch (f.first, f.count) {
        case ("minmax", 1): return .minmax
        case ("entropy", 1): return .entropy
        case ("entropy", 2) where f[1] == "bins=\(SideHistogram.binCount)": return .entropy
        case ("percentile", 2) where f[1].hasPrefix("p="):
            guard let p = Double(f[1].dropFirst(2)), p > 50, p <= 100 else { throw fail("percentile p must be in (50, 100], got '\(f[1])'") }
            return .percentile(p)
        default:
            throw fail("'method' must be minmax, percentile p=<P> or entropy bins=\(SideHistogram.binCount), got '\(f.joined(separator: " "))'")
        }
    }

    private static func parseEntry(_ raw: [String], _ fail: (String) -> QuantTableError) throws -> QuantTableEntry {
        var f = raw
        // A key may start with '#' (`name#index` of an unnamed tensor); comments only follow it.
        if let c = f.dropFirst().firstIndex(where: { $0.hasPrefix("#") }) { f = Array(f[..<c]) }
        guard f.count == 5 || (f.count == 6 && f[5] == "fp32") else {
            if f.count == 6 { throw fail("unknown flag '\(f[5])' (only fp32 is allowed)") }
            throw fail("expected 'tensor <key> <min> <max> <scale> <zero_point> [fp32]', got \(f.count) fields")
        }
        guard let key = unescape(f[0]), !key.isEmpty else { throw fail("bad tensor key '\(f[0])' (escape %, space and tab as %25, %20, %09)") }
        func float(_ s: String, _ what: String) throws -> Float {
            guard let v = Float(s), v.isFinite else { throw fail("\(key): \(what) '\(s)' is not a finite number") }
            return v
        }
        let lo = try float(f[1], "min"), hi = try float(f[2], "max")
        guard lo <= hi else { throw fail("\(key): min \(f[1]) is greater than max \(f[2])") }
        let quant: ActivationQuant
        switch (f[3], f[4]) {
        case ("-", "-"):
            quant = ActivationQuant(min: lo, max: hi)
        case ("-", _), (_, "-"):
            throw fail("\(key): write both scale and zero_point as '-' to derive them from min/max, or give both")
        default:
            let scale = try float(f[3], "scale")
            guard scale > 0 else { throw fail("\(key): scale must be > 0, got \(f[3])") }
            guard let zp = Int32(f[4]), (0...255).contains(zp) else { throw fail("\(key): zero_point must be an integer in 0...255, got '\(f[4])'") }
            quant = ActivationQuant(scale: scale, zeroPoint: zp)
        }
        return QuantTableEntry(key: key, min: lo, max: hi, quant: quant, keepFP32: f.count == 6)
    }

    static func number(_ v: Float) -> String { String(format: "%.9g", Double(v)) }

    static func escape(_ key: String) -> String {
        var s = ""
        for c in key {
            switch c {
            case "%": s += "%25"
            case " ": s += "%20"
            case "\t": s += "%09"
            default: s.append(c)
            }
        }
        return s
    }

    static func unescape(_ s: String) -> String? {
        guard s.contains("%") else { return s }
        var out = "", rest = Substring(s)
        while let i = rest.firstIndex(of: "%") {
            out += rest[..<i]
            let code = rest[rest.index(after: i)...].prefix(2)
            switch code {
            case "25": out += "%"
            case "20": out += " "
            case "09": out += "\t"
            default: return nil
            }
            rest = rest[rest.index(i, offsetBy: 3)...]
        }
        return out + rest
    }

    // MARK: model check

    /// Throws `modelMismatch` unless `modelPath` hashes to `modelSHA256`. `tablePath`
    /// and `calibrateInput` make the message's `vseg calibrate` command exact.
    /// `model` is what the user typed (built-in name or path) and `out` where a new
    /// table should go (its default place, never the mismatched table's path when
    /// that table belongs to another model file).
    public func checkModel(path modelPath: String, tablePath: String, calibrateInput: String? = nil,
                           model: String? = nil, out: String? = nil) throws {
        let digest = try Self.sha256(file: modelPath)
        guard digest != modelSHA256 else { return }
        let input = calibrateInput ?? inputs.first ?? "VIDEO"
        let command = "vseg calibrate --model \(model ?? modelPath) --input \(input) --out \(out ?? tablePath)"
        throw QuantTableError.modelMismatch(table: tablePath, tableModel: "\(modelFile), sha256 \(modelSHA256.prefix(12))…",
                                            model: "\(modelPath) (sha256 \(digest.prefix(12))…)", command: command)
    }

    /// Lowercase hex SHA-256 of a file.
    public static func sha256(file path: String) throws -> String {
        guard let f = fopen(path, "rb") else { throw CoreError.unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        defer { fclose(f) }
        var h = SHA256()
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n > 0 { buf.withUnsafeBufferPointer { h.update(UnsafeBufferPointer(rebasing: $0[0 ..< n])) } }
            if n < buf.count {
                if ferror(f) != 0 { throw CoreError.unreadableFile(path: path, reason: "read error") }
                break
            }
        }
        return h.finalize().map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}

/// FIPS 180-4 SHA-256, streaming (no crypto library on Linux here; the table only
/// needs it to recognise its model file).
struct SHA256 {
    private var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var pending: [UInt8] = []
    private var length: UInt64 = 0
    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    mutating func update(_ data: UnsafeBufferPointer<UInt8>) {
        length &+= UInt64(data.count)
        var i = 0
        if !pending.isEmpty {
            while pending.count < 64 && i < data.count { pending.append(data[i]); i += 1 }
            if pending.count < 64 { return }
            pending.withUnsafeBufferPointer { block($0.baseAddress!) }
            pending.removeAll(keepingCapacity: true)
        }
        while data.count - i >= 64 { block(data.baseAddress! + i); i += 64 }
        pending.append(contentsOf: data[i...])
    }

    mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { update($0) } }

    mutating func finalize() -> [UInt8] {
        let bits = length &* 8
        var tail = pending
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for s in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bits >> UInt64(s))) }
        tail.withUnsafeBufferPointer { p in
            for off in stride(from: 0, to: p.count, by: 64) { block(p.baseAddress! + off) }
        }
        pending = []
        return h.flatMap { w in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: w >> UInt32($0)) } }
    }

    private mutating func block(_ p: UnsafePointer<UInt8>) {
        @inline(__always) func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
        var w = [UInt32](repeating: 0, count: 64)
        for t in 0 ..< 16 {
            w[t] = UInt32(p[4 * t]) << 24 | UInt32(p[4 * t + 1]) << 16 | UInt32(p[4 * t + 2]) << 8 | UInt32(p[4 * t + 3])
        }
        for t in 16 ..< 64 {
            let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
            let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
        }
        var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
        for t in 0 ..< 64 {
            let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ Self.k[t] &+ w[t]
            let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
            hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
        }
        h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
    }
}
