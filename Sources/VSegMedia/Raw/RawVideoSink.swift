import CFFmpeg
import VSegCore

/// Raw RGB24 frames back to back (`.rgb`), with a JSON sidecar (`<path>.json`)
/// describing the geometry so other tools can read the stream:
///
///     {"format": "rgb24", "width": 640, "height": 272, "frame_bytes": 522240,
///      "frame_rate": "25/1", "time_base": "1/12800", "frames": 250, "pts": [0, 512, ...]}
///
/// `pts` (in `time_base`) keeps variable frame rate. The sidecar is written at
/// open (frames 0) and rewritten by `finish()`, so even a killed run leaves the
/// geometry. Read it back with
/// `ffmpeg -f rawvideo -pix_fmt rgb24 -s 640x272 -r 25 -i out.rgb ...`.
public final class RawVideoSink: FrameSink {
    public let destination: String
    public private(set) var framesWritten = 0
    public var sidecarPath: String { destination + ".json" }
    private let file: OutputFile
    private let source: SourceInfo
    private let format: PixelFormat = .rgb24
    private let scaler = Scaler()
    private var scratch: PixelBuffer?
    private var pts: [Int64] = []
    private var timeBase: Rational
    private var finished = false

    public init(path: String, source: SourceInfo) throws {
        destination = path
        self.source = source
        timeBase = source.timeBase
        file = try OutputFile(path: path)
        pts.reserveCapacity(source.frameCount ?? 1024)
        try writeSidecar()
    }

    public func write(_ frame: Frame) throws {
        guard !finished else { return }
        var buf = frame.buffer
        if buf.format != format || buf.width != source.width || buf.height != source.height {
            if scratch == nil { scratch = PixelBuffer(width: source.width, height: source.height, format: format) }
            try scaler.convert(ImageRef(buf), into: ImageRef(scratch!))
            buf = scratch!
        }
        try file.write(buf.data, count: buf.byteCount)
        if framesWritten == 0 { timeBase = frame.timestamp.timeBase }
        pts.append(frame.timestamp.value)
        framesWritten += 1
    }

    public func finish() throws {
        if finished { return }
        finished = true
        try file.close()
        try writeSidecar()
    }

    private func writeSidecar() throws {
        let rate = source.frameRate
        let json = """
        {"format": "\(format.rawValue)", "width": \(source.width), "height": \(source.height), \
        "frame_bytes": \(format.byteCount(width: source.width, height: source.height)), \
        "frame_rate": "\(rate.num)/\(rate.den)", "time_base": "\(timeBase.num)/\(timeBase.den)", \
        "frames": \(framesWritten), "pts": [\(pts.map(String.init).joined(separator: ", "))]}

        """
        try writeWholeFile(sidecarPath, json)
    }
}
