import CFFmpeg
import VSegCore

/// YUV4MPEG2 (`.y4m`): an uncompressed stream every player and `ffmpeg -i`
/// read. Frames are written as 4:2:0 (`C420jpeg`, what ffmpeg writes for
/// unspecified chroma siting) or `Cmono` for gray8 sources; other formats are
/// converted with swscale. The header carries the nominal frame rate; Y4M has
/// no per-frame timestamps. Path "-" writes to stdout for piping.
public final class Y4MSink: FrameSink {
    public let destination: String
    public private(set) var framesWritten = 0
    private let file: OutputFile
    private let width: Int, height: Int
    private let format: PixelFormat
    private let scaler = Scaler()
    private var scratch: PixelBuffer?
    private var finished = false

    public init(path: String, source: SourceInfo) throws {
        destination = path
        width = source.width
        height = source.height
        format = source.pixelFormat == .gray8 ? .gray8 : .yuv420p
        file = try OutputFile(path: path)
        let rate = source.frameRate.isValid ? source.frameRate : Rational(25, 1)
        let chroma = format == .gray8 ? "Cmono" : "C420jpeg XYSCSS=420JPEG"
        try file.write("YUV4MPEG2 W\(width) H\(height) F\(rate.num):\(rate.den) Ip A1:1 \(chroma)\n")
    }

    public func write(_ frame: Frame) throws {
        guard !finished else { return }
        var buf = frame.buffer
        if buf.format != format || buf.width != width || buf.height != height {
            if scratch == nil { scratch = PixelBuffer(width: width, height: height, format: format) }
            try scaler.convert(ImageRef(buf), into: ImageRef(scratch!))
            buf = scratch!
        }
        try file.write("FRAME\n")
        try file.write(buf.data, count: buf.byteCount)
        framesWritten += 1
    }

    public func finish() throws {
        if finished { return }
        finished = true
        try file.close()
    }
}
