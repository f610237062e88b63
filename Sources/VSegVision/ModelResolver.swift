#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VSegCore

/// Turns what the user typed after `--model` into a file and a descriptor.
///
/// A built-in name ("selfie", "pose") is looked up, in order, in
/// `$VSEG_MODELS/<file>`, `./models/<file>`, and `models/` next to the repo the
/// executable was built in (`<exe dir>/../../models`, also one level further up
/// because `.build/release` is a symlink into `.build/<triple>/release`).
/// Anything else must be an existing file; its descriptor comes from a sidecar
/// (`model.onnx` → `model.vseg.yaml`, decoded by the pipeline) or, without
/// one, from `ModelDescriptor.inferred`.
public struct ResolvedModel: Sendable, Equatable {
    public var path: String
    /// The built-in descriptor, nil for user files.
    public var builtin: ModelDescriptor?
    /// An existing sidecar next to a user file (`.vseg.yaml`, `.vseg.yml` or `.vseg.json`).
    public var sidecarPath: String?
}

public enum ModelResolver {
    /// Resolves a name or path. `environment`, `localDirectory` and `executablePath` are injectable for tests.
    public static func resolve(_ nameOrPath: String,
                               environment: [String: String]? = nil,
                               localDirectory: String = "./models",
                               executablePath: String? = nil) throws -> ResolvedModel {
        if let d = BuiltinModels.named(nameOrPath), let file = d.file {
            let places = searchDirectories(environment: environment, localDirectory: localDirectory, executablePath: executablePath)
            for dir in places {
                let p = dir.hasSuffix("/") ? dir + file : dir + "/" + file
                if fileExists(p) { return ResolvedModel(path: p, builtin: d, sidecarPath: nil) }
            }
            throw VisionError.modelNotFound(name: nameOrPath, searched: places)
        }
        guard fileExists(nameOrPath) else {
            throw VisionError.unknownModel(name: nameOrPath, known: BuiltinModels.names)
        }
        return ResolvedModel(path: nameOrPath, builtin: nil, sidecarPath: sidecar(for: nameOrPath))
    }

    /// The directories searched for built-in models, in order.
    public static func searchDirectories(environment: [String: String]? = nil, localDirectory: String = "./models",
                                         executablePath: String? = nil) -> [String] {
        var dirs: [String] = []
        let envModels = environment.map { $0["VSEG_MODELS"] } ?? getenv("VSEG_MODELS").map { String(cString: $0) }
        if let e = envModels, !e.isEmpty { dirs.append(e) }
        dirs.append(localDirectory)
        if let exe = executablePath ?? currentExecutable() {
            let dir = parent(exe)
            dirs.append(dir + "/../../models")
            dirs.append(dir + "/../../../models")
        }
        return dirs
    }

    /// `model.onnx` → the first existing of `model.vseg.yaml`, `model.vseg.yml`, `model.vseg.json`.
    public static func sidecar(for modelPath: String) -> String? {
        let slash = modelPath.lastIndex(of: "/")
        let nameStart = slash.map { modelPath.index(after: $0) } ?? modelPath.startIndex
        let stem: Substring
        if let dot = modelPath[nameStart...].lastIndex(of: ".") { stem = modelPath[..<dot] } else { stem = modelPath[...] }
        for ext in [".vseg.yaml", ".vseg.yml", ".vseg.json"] where fileExists(stem + ext) { return stem + ext }
        return nil
    }

    static func parent(_ path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return "." }
        return i == path.startIndex ? "/" : String(path[..<i])
    }

    static func fileExists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func currentExecutable() -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
