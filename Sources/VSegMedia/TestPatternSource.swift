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
/// test can check any pixel. YUV formats carry the same picture through the
/// BT.601 limited-range matrix.
public final class TestPatternSource: FrameSource {
    public let info: SourceInfo
    private let pool: PixelBufferPool
    private let realtime: Bool
    private let limit: Int?
    private var index = 0
    private var startNanos: UInt64 = 0
    private let stopFlag = Lock()
    private var stopped = false
    private var rgbScratch: [UInt8] = []

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
        TestPatternSource.render(into: buf, frameIndex: index, scratch: &rgbScratch)
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

    static func render(into buf: PixelBuffer, frameIndex i: Int, scratch: inout [UInt8]) {
        let w = buf.width, h = buf.height
        let out = buf.bytes
        switch buf.format {
        case .rgb24, .bgr24:
            let swap = buf.format == .bgr24
            for y in 0..<h {
                var o = y * w * 3
                for x in 0..<w {
                    let (r, g, b) = rgb(x: x, y: y, frame: i, width: w, height: h)
                    out[o] = swap ? b : r; out[o + 1] = g; out[o + 2] = swap ? r : b
                    o += 3
                }
            }
        default:
            // Render RGB once, then convert with integer BT.601 limited-range math.
            if scratch.count != w * h * 3 { scratch = [UInt8](repeating: 0, count: w * h * 3) }
            for y in 0..<h {
                for x in 0..<w {
                    let (r, g, b) = rgb(x: x, y: y, frame: i, width: w, height: h)
                    let o = (y * w + x) * 3
                    scratch[o] = r; scratch[o + 1] = g; scratch[o + 2] = b
                }
            }
            rgbToYUV(scratch, width: w, height: h, into: buf)
        }
    }

    private static func lumaOf(_ r: Int, _ g: Int, _ b: Int) -> UInt8 { UInt8(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) }
    private static func cbOf(_ r: Int, _ g: Int, _ b: Int) -> UInt8 { UInt8(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128) }
    private static func crOf(_ r: Int, _ g: Int, _ b: Int) -> UInt8 { UInt8(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128) }

    private static func rgbToYUV(_ rgb: [UInt8], width w: Int, height h: Int, into buf: PixelBuffer) {
        let out = buf.bytes
        func px(_ x: Int, _ y: Int) -> (Int, Int, Int) {
            let o = (min(y, h - 1) * w + min(x, w - 1)) * 3
            return (Int(rgb[o]), Int(rgb[o + 1]), Int(rgb[o + 2]))
        }
        let cw = (w + 1) / 2, ch = (h + 1) / 2
        switch buf.format {
        case .gray8, .yuv420p, .nv12:
            for y in 0..<h { for x in 0..<w { let (r, g, b) = px(x, y); out[y * w + x] = lumaOf(r, g, b) } }
            if buf.format == .gray8 { return }
            for cy in 0..<ch {
                for cx in 0..<cw {
                    // Chroma from the top-left sample of each 2x2 block: simple and exact to check.
                    let (r, g, b) = px(cx * 2, cy * 2)
                    if buf.format == .yuv420p {
                        out[w * h + cy * cw + cx] = cbOf(r, g, b)
                        out[w * h + cw * ch + cy * cw + cx] = crOf(r, g, b)
                    } else {
                        out[w * h + cy * cw * 2 + cx * 2] = cbOf(r, g, b)
                        out[w * h + cy * cw * 2 + cx * 2 + 1] = crOf(r, g, b)
                    }
                }
            }
        case .yuyv422:
            for y in 0..<h {
                for x in stride(from: 0, to: w, by: 2) {
                    let (r0, g0, b0) = px(x, y), (r1, g1, b1) = px(x + 1, y)
                    let o = (y * w + x) * 2
                    out[o] = lumaOf(r0, g0, b0); out[o + 1] = cbOf(r0, g0, b0)
                    if o + 2 < out.count { out[o + 2] = lumaOf(r1, g1, b1) }
                    if o + 3 < out.count { out[o + 3] = crOf(r0, g0, b0) }
                }
            }
        case .rgb24, .bgr24:
            break
        }
    }
}
