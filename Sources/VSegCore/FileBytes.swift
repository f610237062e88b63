#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads of small text files (quantization tables, model sidecars).
public enum FileBytes {
    /// The file's bytes. Throws `CoreError.unreadableFile` when it cannot be
    /// opened or read, or is larger than `limit` bytes (a table or sidecar of
    /// gigabytes is a wrong path, not something to load into memory).
    public static func read(_ path: String, limit: Int) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else { throw CoreError.unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buf.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            out += buf[0 ..< n]
            if out.count > limit { throw CoreError.unreadableFile(path: path, reason: "larger than \(limit) bytes") }
            if n < buf.count {
                if ferror(f) != 0 { throw CoreError.unreadableFile(path: path, reason: "read error") }
                return out
            }
        }
    }
}
