#if canImport(Glibc)
import Glibc
#endif
import CFFmpeg
import VSegCore

/// From the user's URI to what libavformat opens.
extension FFmpegSource {
    /// Works out what to hand avformat: image directories and globs become the
    /// image2 demuxer, missing and empty local files fail early with a clear error.
    static func resolve(uri: String, options: SourceOptions) throws
        -> (uri: String, format: String?, demuxerOptions: [(String, String)], live: Bool) {
        var demux: [(String, String)] = []
        if let rate = options.frameRate { demux.append(("framerate", "\(rate)")) }
        if let scheme = uriScheme(uri), scheme != "file" {
            let live = liveSchemes.contains(scheme)
            if scheme == "udp" || scheme == "rtp" {
                // Keep up with a live sender even when we briefly fall behind.
                demux.append(("overrun_nonfatal", "1"))
                demux.append(("fifo_size", "100000"))
                demux.append(("buffer_size", "4194304"))
            }
            if scheme == "rtsp" || scheme == "rtsps" { demux.append(("rtsp_transport", "tcp")) }
            if scheme == "http" || scheme == "https" {
                // libavformat's own HTTP reconnect covers dropped connections inside one open.
                demux.append(("reconnect", "1"))
                demux.append(("reconnect_streamed", "1"))
                demux.append(("reconnect_delay_max", "\(Int(options.reconnectMaxDelay.rounded(.up)))"))
            }
            if live {
                demux.append(("analyzeduration", "2000000"))
                demux.append(("probesize", "2000000"))
            }
            return (uri, options.inputFormat, demux, live)
        }
        let path = uri.hasPrefix("file:") ? String(uri.dropFirst(5)) : uri
        let isPattern = path.contains("%") || path.contains("*") || path.contains("?")
        if path.contains("*") || path.contains("?") {
            demux.append(("pattern_type", "glob"))
            return (path, options.inputFormat ?? "image2", demux, false)
        }
        var st = stat()
        if stat(path, &st) != 0 {
            if isPattern { return (path, options.inputFormat, demux, false) }
            if errno == ENOENT || errno == ENOTDIR { throw MediaError.notFound(path: path) }
            throw MediaError.openFailed(uri: path, reason: String(cString: strerror(errno)))
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            guard let ext = firstImageExtension(inDirectory: path) else {
                throw MediaError.notMedia(uri: path, reason: "directory holds no .png/.jpg/.bmp/.tif images")
            }
            demux.append(("pattern_type", "glob"))
            let dir = path.hasSuffix("/") ? path : path + "/"
            return (dir + "*." + ext, options.inputFormat ?? "image2", demux, false)
        }
        if st.st_size == 0 { throw MediaError.emptyFile(path: path) }
        if access(path, R_OK) != 0 { throw MediaError.openFailed(uri: path, reason: String(cString: strerror(errno))) }
        return (path, options.inputFormat, demux, false)
    }

    private static func firstImageExtension(inDirectory path: String) -> String? {
        guard let d = opendir(path) else { return nil }
        defer { closedir(d) }
        let known = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "ppm", "pgm"]
        var found: String?
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            let ext = pathExtension(name)
            if known.contains(ext) { found = ext; break }
        }
        return found
    }
}
