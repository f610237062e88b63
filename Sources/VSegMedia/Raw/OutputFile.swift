#if canImport(Glibc)
import Glibc
#endif
import VSegCore

/// A buffered output file (or stdout for "-") that turns write errors into
/// `MediaError.writeFailed` with the path in the message.
final class OutputFile {
    let path: String
    private var fp: UnsafeMutablePointer<FILE>?
    private let ownsHandle: Bool

    init(path: String) throws {
        self.path = path
        if path == "-" {
            fp = stdout
            ownsHandle = false
            return
        }
        try EncodedVideoSink.checkWritableDirectory(of: path)
        guard let f = fopen(path, "wb") else {
            throw MediaError.outputUnwritable(path: path, reason: String(cString: strerror(errno)))
        }
        setvbuf(f, nil, _IOFBF, 1 << 20)
        fp = f
        ownsHandle = true
    }

    deinit { try? close() }

    func write(_ p: UnsafeRawPointer, count: Int) throws {
        guard let f = fp, count > 0 else { return }
        if fwrite(p, 1, count, f) != count {
            throw MediaError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
    }

    func write(_ s: String) throws {
        var s = s
        try s.withUTF8 { try write($0.baseAddress!, count: $0.count) }
    }

    func close() throws {
        guard let f = fp else { return }
        fp = nil
        let flushed = fflush(f) == 0
        let err = errno
        if ownsHandle { fclose(f) }
        if !flushed { throw MediaError.writeFailed(path: path, reason: String(cString: strerror(err))) }
    }
}

/// Writes `contents` to `path` in one go (sidecars).
func writeWholeFile(_ path: String, _ contents: String) throws {
    let f = try OutputFile(path: path)
    try f.write(contents)
    try f.close()
}
