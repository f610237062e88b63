#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VSegCore
import VSegEngine

/// Finds the calibration table `--precision int8` runs with.
///
/// An explicit `--qtable PATH` wins (and must exist). Otherwise the table is
/// `<model file stem>.qtable` in, in order: `$VSEG_CALIBRATION_DIR`,
/// `./calibration`, and the `calibration/` directory of the checkout the
/// executable was built in (`<exe dir>/../../calibration`, and one level further
/// up because `.build/release` is a symlink into `.build/<triple>/release`).
/// When none exists the error carries the `vseg calibrate` command that makes it.
public enum QuantTableLocator {
    /// `models/selfie_segmentation.tflite` -> `selfie_segmentation.qtable`.
    public static func tableFileName(modelPath: String) -> String { stem(modelPath) + ".qtable" }

    /// Where `vseg calibrate` writes by default: `calibration/<stem>.qtable`.
    public static func defaultOutput(modelPath: String) -> String { "calibration/" + tableFileName(modelPath: modelPath) }

    /// The command that makes a table for `model` (as the user typed it) at `out`.
    public static func calibrateCommand(model: String, input: String?, out: String) -> String {
        "vseg calibrate --model \(model) --input \(input ?? "VIDEO_OR_IMAGE_DIR") --out \(out)"
    }

    /// The directories searched, in order. `environment`, `localDirectory` and `executablePath` are injectable for tests.
    public static func searchDirectories(environment: [String: String]? = nil, localDirectory: String = "./calibration",
                                         executablePath: String? = nil) -> [String] {
        var dirs: [String] = []
        let env = environment.map { $0["VSEG_CALIBRATION_DIR"] } ?? getenv("VSEG_CALIBRATION_DIR").map { String(cString: $0) }
        if let e = env, !e.isEmpty { dirs.append(e) }
        dirs.append(localDirectory)
        if let exe = executablePath ?? currentExecutable() {
            let dir = parent(exe)
            dirs.append(dir + "/../../calibration")
            dirs.append(dir + "/../../../calibration")
        }
        return dirs
    }

    /// The table for `modelPath` (the resolved file). `model` is what the user
    /// typed (a built-in name or a path) and `input` an input to suggest, both
    /// only for the error's command.
    public static func locate(modelPath: String, explicit: String? = nil, model: String? = nil, input: String? = nil,
                              environment: [String: String]? = nil, localDirectory: String = "./calibration",
                              executablePath: String? = nil) throws -> String {
        let modelArg = model ?? modelPath
        if let p = explicit {
            guard isFile(p) else {
                throw CalibrationError.explicitTableMissing(path: p, command: calibrateCommand(model: modelArg, input: input, out: p))
            }
            return p
        }
        let name = tableFileName(modelPath: modelPath)
        var tried: [String] = []
        for dir in searchDirectories(environment: environment, localDirectory: localDirectory, executablePath: executablePath) {
            let p = dir.hasSuffix("/") ? dir + name : dir + "/" + name
            if isFile(p) { return p }
            tried.append(p)
        }
        throw CalibrationError.tableNotFound(model: modelArg, searched: tried,
                                             command: calibrateCommand(model: modelArg, input: input, out: defaultOutput(modelPath: modelPath)))
    }

    /// Locates the table, parses it and checks it was made for `modelPath`'s bytes.
    public static func load(modelPath: String, explicit: String? = nil, model: String? = nil, input: String? = nil) throws
        -> (table: QuantTable, path: String) {
        let path = try locate(modelPath: modelPath, explicit: explicit, model: model, input: input)
        let table = try QuantTable.load(path: path)
        // A table written for another model file must not be overwritten by the suggested command.
        let sameFile = stem(table.modelFile) == stem(modelPath)
        try table.checkModel(path: modelPath, tablePath: path, calibrateInput: input, model: model,
                             out: sameFile ? path : defaultOutput(modelPath: modelPath))
        return (table, path)
    }

    static func stem(_ path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return file }
        return String(file[..<dot])
    }

    static func isFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func parent(_ path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return "." }
        return i == path.startIndex ? "/" : String(path[..<i])
    }

    static func currentExecutable() -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0 ..< n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
