#if canImport(Glibc)
import Glibc
#endif
import VSegCore

/// A synthetic moving pattern for benchmarks and tests, with no decoder cost.
///
/// URI: `pattern:WIDTHxHEIGHT[@FPS][?realtime]`, e.g. `pattern:1280x720@30`.
/// Without `realtime` frames come as fast as they are asked for (a file-like
/// source that never drops); with it the source paces itself to the frame rate
/// and counts as live. `SourceOptions.maxFrames`/`duration` bound the length;
/// without either a non-realtime pattern ends after 10 seconds of frames.
///
/// Pixel (x, y) of frame i in RGB is
/// `R = (x + 4i) & 255, G = (y + 2i) & 255, B = ((x >> 4) ^ (y >> 4)) * 16 & 255`,
/// with an inverted 1/8-size square moving right by one pixel per frame, so a
/// test can check any pixel. Other formats carry the same picture converted by
/// swscale (BT.601, limited range).
public final class TestPatternSource: FrameSource {
    public let info: SourceInfo
    private let pool: PixelBufferPool
    private let realtime: Bool
    private let limit: Int?
    private var index = 0
    private var startNanos: UInt64 = 0
    private let stopFlag = Lock()
    private var stopped = false
    private var rgbScratch: PixelBuffer?
    private let scaler = Scaler()

    public static func handles(_ uri: String) -> Bool { uri.hasPrefix("pattern:") || uri.hasPrefix("testsrc:") }

    public init(uri: String, options: SourceOptions = SourceOptions()) throws {
        try options.validate()
        let spec = uri.split(separator: ":", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        let parts = spec.split(separator: "?", maxSplits: 1).map(String.init)
        let geometry = parts.first ?? ""
        let query = parts.count > 1 ? parts[1] : ""
        let sizeAndRate = geometry.split(separator: "@", maxSplits: 1).map(String.init)
        let dims = (sizeAndRate.first ?? "").split(separator: "x").compactMap { Int($0) }
        let bad = MediaError.invalidOption(name: "input", value: uri, expected: "pattern:WIDTHxHEIGHT[@FPS][?realtime], e.g. pattern:640x480@30")
        guard dims.count == 2, dims[0] > 0, dims[1] > 0, dims[0] <= 16384, dims[1] <= 16384 else { throw bad }
        var fps = options.frameRate ?? 30
        if sizeAndRate.count > 1 {
            guard let f = Double(sizeAndRate[1]), f > 0, f <= 1000 else { throw bad }
            fps = f
        }
        realtime = query.split(separator: "&").contains { $0 == "realtime" || $0 == "realtime=1" || $0 == "live" }
        let w = options.width ?? dims[0], h = options.height ?? dims[1]
        let rate = fps == fps.rounded() ? Rational(Int32(fps), 1) : Rational(Int32((fps * 1000).rounded()), 1000)
        var count = options.maxFrames
        if let d = options.duration { count = min(count ?? Int.max, Int((d * fps).rounded(.up))) }
        if count == nil && !realtime { count = Int((10 * fps).rounded()) }
        limit = count
        info = SourceInfo(uri: uri, width: w, height: h, pixelFormat: options.pixelFormat, frameRate: rate,
                          timeBase: Rational(rate.den, rate.num), frameCount: count,
                          duration: count.map { Double($0) / fps }, isLive: realtime, codec: "pattern")
        pool = PixelBufferPool(width: w, height: h, format: options.pixelFormat, capacity: 8)
    }

    public func nextFrame() throws -> Frame? {
        if stopFlag.withLock({ stopped }) { return nil }
        if let n = limit, index >= n { return nil }
        if realtime {
            if index == 0 { startNanos = Clock.nanos() }
            let due = startNanos + UInt64(Double(index) / info.frameRate.doubleValue * 1e9)
            while Clock.nanos() < due {
                if stopFlag.withLock({ stopped }) { return nil }
                let left = due - Clock.nanos()
                usleep(UInt32(min(left / 1000, 5_000)))
            }
        }
        let buf = pool.get()
        try TestPatternSource.render(into: buf, frameIndex: index, scratch: &rgbScratch, scaler: scaler)
        let f = Frame(buffer: buf, timestamp: Timestamp(value: Int64(index), timeBase: info.timeBase), duration: 1, index: index)
        index += 1
        return f
    }

    public func interrupt() { stopFlag.withLock { stopped = true } }
    public func close() {}

    /// RGB of pixel (x, y) in frame i (the documented pattern).
    public static func rgb(x: Int, y: Int, frame i: Int, width: Int, height: Int) -> (UInt8, UInt8, UInt8) {
        var r = UInt8(truncatingIfNeeded: x &+ 4 &* i)
        var g = UInt8(truncatingIfNeeded: y &+ 2 &* i)
        var b = UInt8(truncatingIfNeeded: (((x >> 4) ^ (y >> 4)) &* 16))
        let side = max(1, min(width, height) / 8)
        let bx = i % max(1, width - side), by = (height - side) / 2
        if x >= bx && x < bx + side && y >= by && y < by + side { r = ~r; g = ~g; b = ~b }
        return (r, g, b)
    }

    static func render(into buf: PixelBuffer, frameIndex i: Int, scratch: inout PixelBuffer?, scaler: Scaler) throws {
        let w = buf.width, h = buf.height
        if buf.format == .rgb24 || buf.format == .bgr24 {
            renderRGB(into: buf.data.assumingMemoryBound(to: UInt8.self), width: w, height: h, frame: i, bgr: buf.format == .bgr24)
            return
        }
        // Other formats: the RGB picture through swscale (BT.601, limited range).
        if scratch == nil { scratch = PixelBuffer(width: w, height: h, format: .rgb24) }
        renderRGB(into: scratch!.data.assumingMemoryBound(to: UInt8.self), width: w, height: h, frame: i, bgr: false)
        try scaler.convert(ImageRef(scratch!), into: ImageRef(buf))
    }

    /// The same picture as `rgb(x:y:frame:width:height:)`, a row at a time.
    private static func renderRGB(into out: UnsafeMutablePointer<UInt8>, width w: Int, height h: Int, frame i: Int, bgr: Bool) {
        let side = max(1, min(w, h) / 8)
        let bx = i % max(1, w - side), by = (h - side) / 2
        let r0 = 4 &* i
        for y in 0..<h {
            let row = out + y * w * 3
            let g = UInt8(truncatingIfNeeded: y &+ 2 &* i)
            let yb = y >> 4
            let inBoxRow = y >= by && y < by + side
            for x in 0..<w {
                var r = UInt8(truncatingIfNeeded: x &+ r0)
                var gg = g
                var b = UInt8(truncatingIfNeeded: ((x >> 4) ^ yb) &* 16)
                if inBoxRow && x >= bx && x < bx + side { r = ~r; gg = ~gg; b = ~b }
                let o = x &* 3
                row[o] = bgr ? b : r
                row[o + 1] = gg
                row[o + 2] = bgr ? r : b
            }
        }
    }
}
