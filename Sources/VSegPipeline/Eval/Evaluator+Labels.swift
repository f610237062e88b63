#if canImport(Glibc)
import Glibc
#endif
import VSegCore
import VSegMedia

/// Ground-truth label PNGs for `Evaluator`'s labels mode: finding the label of
/// a frame and decoding it (through `openSource`, as gray8) into the reusable
/// label, probability and ignore maps.
extension Evaluator {
    func checkDirectory(_ dir: String) throws {
        var st = stat()
        guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw EvalError.labelMissing(frame: 0, tried: [dir + " (not a directory)"])
        }
    }

    /// Candidate label paths for frame `index`.
    func labelPaths(dir: String, index: Int) -> [String] {
        let d = dir.hasSuffix("/") ? dir : dir + "/"
        var out: [String] = []
        if let names = imageNames, index < names.count { out.append(d + Self.stem(names[index]) + ".png") }
        var n = String(index)
        while n.count < 6 { n = "0" + n }
        out.append(d + n + ".png")
        return out
    }

    func loadLabel(dir: String, frame: Frame, index: Int) throws {
        let tried = labelPaths(dir: dir, index: index)
        guard let path = tried.first(where: Self.isFile) else { throw EvalError.labelMissing(frame: index, tried: tried) }
        var so = SourceOptions()
        so.pixelFormat = .gray8
        so.maxFrames = 1
        let src = try openSource(uri: path, options: so)
        defer { src.close() }
        guard let label = try src.nextFrame() else { throw EvalError.labelMismatch(path: path, detail: "no image decoded") }
        defer { label.buffer.recycle() }
        guard label.width == frame.width, label.height == frame.height else {
            throw EvalError.labelMismatch(path: path, detail: "\(label.width)x\(label.height), the frame is \(frame.width)x\(frame.height)")
        }
        let n = frame.width * frame.height
        if gtLabels.count != n {
            gtLabels = [UInt8](repeating: 0, count: n)
            gtProbability = [Float](repeating: 0, count: n)
            gtIgnore = [UInt8](repeating: 0, count: n)
        }
        let src8 = label.buffer.bytes
        let isMask: Bool
        if case .probability = kind { isMask = true } else { isMask = false }
        let ignore = options.ignoreLabel.map(Int.init) ?? -1
        gtLabels.withUnsafeMutableBufferPointer { g in
            gtProbability.withUnsafeMutableBufferPointer { p in
                gtIgnore.withUnsafeMutableBufferPointer { ig in
                    for i in 0 ..< n {
                        let v = Int(src8[i])
                        if !isMask { g[i] = src8[i]; continue }
                        let skip = v == ignore
                        ig[i] = skip ? 1 : 0
                        p[i] = skip || v == 0 ? 0 : 1
                        g[i] = skip ? 255 : (v == 0 ? 0 : 1)
                    }
                }
            }
        }
    }

    static func isFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func stem(_ name: String) -> String {
        let base = name.split(separator: "/").last.map(String.init) ?? name
        guard let dot = base.lastIndex(of: "."), dot != base.startIndex else { return base }
        return String(base[..<dot])
    }

    /// The images an image-directory or glob input yields, in FFmpeg's glob
    /// order (byte-wise sorted); nil for other inputs.
    static func imageNames(_ uri: String) -> [String]? {
        let known = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "ppm", "pgm"]
        var pattern: String
        var st = stat()
        if uri.contains("*") || uri.contains("?") {
            pattern = uri
        } else if stat(uri, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            // Same choice as the source: the first known extension readdir yields.
            guard let d = opendir(uri) else { return nil }
            var ext: String?
            while ext == nil, let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
                let x = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
                if name.contains("."), known.contains(x) { ext = String(name.split(separator: ".").last!) }
            }
            closedir(d)
            guard let ext else { return nil }
            pattern = (uri.hasSuffix("/") ? uri : uri + "/") + "*." + ext
        } else {
            return nil
        }
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return nil }
        var names: [String] = []
        for i in 0 ..< Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { names.append(String(cString: p)) }
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
}
