import CFFmpeg
import VSegCore

/// FFmpeg's message for an error code ("Invalid data found when processing input").
func avErrorString(_ code: Int32) -> String {
    var buf = [CChar](repeating: 0, count: 256)
    av_strerror(code, &buf, buf.count)
    return String(cString: buf)
}

/// libav* print their own diagnostics to stderr; vseg reports errors itself, so
/// they stay quiet unless VSEG_FFMPEG_LOG=quiet|error|warning|info|debug asks otherwise.
enum FFmpegLogLevel {
    private static let once: Void = {
        var level = AV_LOG_QUIET
        if let env = getenv("VSEG_FFMPEG_LOG") {
            switch String(cString: env) {
            case "error": level = AV_LOG_ERROR
            case "warning": level = AV_LOG_WARNING
            case "info": level = AV_LOG_INFO
            case "debug": level = AV_LOG_DEBUG
            default: level = AV_LOG_QUIET
            }
        }
        av_log_set_level(level)
    }()
    static func configure() { _ = once }
}

extension PixelFormat {
    var avPixelFormat: AVPixelFormat {
        switch self {
        case .rgb24: return AV_PIX_FMT_RGB24
        case .bgr24: return AV_PIX_FMT_BGR24
        case .gray8: return AV_PIX_FMT_GRAY8
        case .yuv420p: return AV_PIX_FMT_YUV420P
        case .nv12: return AV_PIX_FMT_NV12
        case .yuyv422: return AV_PIX_FMT_YUYV422
        }
    }

    init?(av: AVPixelFormat) {
        switch av {
        case AV_PIX_FMT_RGB24: self = .rgb24
        case AV_PIX_FMT_BGR24: self = .bgr24
        case AV_PIX_FMT_GRAY8: self = .gray8
        case AV_PIX_FMT_YUV420P: self = .yuv420p
        case AV_PIX_FMT_NV12: self = .nv12
        case AV_PIX_FMT_YUYV422: self = .yuyv422
        default: return nil
        }
    }

    /// Plane offsets (bytes from the start of the buffer) and row strides of a
    /// tightly packed image, as `PixelFormat.byteCount` lays it out. A fixed-size
    /// answer (no arrays), because the per-frame path calls it.
    func planeLayout(width: Int, height: Int) -> PlaneLayout {
        let cw = (width + 1) / 2, ch = (height + 1) / 2
        switch self {
        case .rgb24, .bgr24: return PlaneLayout(count: 1, offsets: (0, 0, 0), strides: (width * 3, 0, 0))
        case .gray8: return PlaneLayout(count: 1, offsets: (0, 0, 0), strides: (width, 0, 0))
        case .yuyv422: return PlaneLayout(count: 1, offsets: (0, 0, 0), strides: (width * 2, 0, 0))
        case .yuv420p:
            return PlaneLayout(count: 3, offsets: (0, width * height, width * height + cw * ch), strides: (width, cw, cw))
        case .nv12: return PlaneLayout(count: 2, offsets: (0, width * height, 0), strides: (width, cw * 2, 0))
        }
    }
}

struct PlaneLayout {
    var count: Int
    var offsets: (Int, Int, Int)
    var strides: (Int, Int, Int)
}

/// Plane pointers and strides of a `PixelBuffer`, in the 4-slot form swscale takes.
struct PlanePointers {
    var data: (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?)
    var linesize: (Int32, Int32, Int32, Int32)
    var count: Int

    init(_ buffer: PixelBuffer) {
        let l = buffer.format.planeLayout(width: buffer.width, height: buffer.height)
        let base = buffer.data.assumingMemoryBound(to: UInt8.self)
        count = l.count
        data = (base + l.offsets.0, l.count > 1 ? base + l.offsets.1 : nil, l.count > 2 ? base + l.offsets.2 : nil, nil)
        linesize = (Int32(l.strides.0), Int32(l.strides.1), Int32(l.strides.2), 0)
    }
}

extension Rational {
    init(_ r: AVRational) { self.init(r.num, r.den) }
    var av: AVRational { AVRational(num: num, den: den) }
    var isValid: Bool { num > 0 && den > 0 }
}

/// True when `uri` names a network protocol rather than a local path.
func uriScheme(_ uri: String) -> String? {
    let chars = Array(uri.utf8)
    guard let colon = chars.firstIndex(of: UInt8(ascii: ":")), colon + 2 < chars.count,
          chars[colon + 1] == UInt8(ascii: "/"), chars[colon + 2] == UInt8(ascii: "/") else { return nil }
    let scheme = String(decoding: chars[0..<colon], as: UTF8.self).lowercased()
    guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" }) else { return nil }
    return scheme
}

/// Protocols whose sources are live: they are flow-limited and reconnect.
let liveSchemes: Set<String> = ["udp", "rtp", "rtsp", "rtsps", "srt", "tcp", "rtmp", "rtmps"]

/// Lowercased extension of a path ("mp4"), or "" when there is none.
func pathExtension(_ path: String) -> String {
    let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
    guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
    return String(name[name.index(after: dot)...]).lowercased()
}

/// Directory part of a path ("." when there is none).
func parentDirectory(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[path.startIndex..<slash])
}
