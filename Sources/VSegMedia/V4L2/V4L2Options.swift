import VSegCore

/// What the user asks a camera for. The source negotiates the nearest mode the
/// camera supports and says (through `MediaLog` and `V4L2Source.negotiation.notes`)
/// whenever it differs.
public struct V4L2Options: Codable, Sendable, Equatable {
    /// What to ask the device to send.
    public enum Format: String, Codable, Sendable, CaseIterable {
        /// Whichever of the formats below comes nearest to the asked size and rate,
        /// YUYV on a tie: 640x480@30 stays YUYV, 1280x720@30 usually needs MJPEG.
        case auto
        /// Raw YUYV 4:2:2, converted to RGB24 by vseg (BT.601 limited range). No compression
        /// artefacts, but USB 2 bandwidth limits it to low resolutions at full frame rate.
        case yuyv
        /// Motion JPEG from the device, decoded to RGB24 by libv4l2: what most webcams
        /// need for 720p/1080p at 30 fps.
        case mjpeg
        /// RGB24 as libv4l2 delivers it (native, or converted from whatever the device sends).
        case rgb24
    }

    public var width: Int
    public var height: Int
    /// Frames per second.
    public var fps: Double
    /// Device format; a named one falls back to another (and says so) when the camera lacks it.
    public var format: Format
    /// mmap buffers to request (the driver may grant a different count; at least 2 are needed).
    public var bufferCount: Int
    /// Seconds without any frame before `nextFrame()` fails with a timeout.
    public var pollTimeout: Double
    /// The same for the first frame: cameras can take seconds to start (exposure, USB set-up).
    public var firstFrameTimeout: Double
    /// Consecutive EIO failures of DQBUF tolerated before giving up.
    public var maxIORetries: Int
    /// Stop (end of stream) after this many frames; nil: until interrupted.
    public var maxFrames: Int?
    /// When several frames are ready, hand out only the newest and give the older ones
    /// straight back to the driver, so a slow reader never sees stale frames. Not done
    /// when libv4l2 converts (MJPEG), where every dequeue costs a full decode.
    public var dropStaleFrames: Bool
    /// Pixel format of the frames handed out: any `PixelFormat`. yuyv422 is the
    /// camera's own bytes (needs a YUYV capture); yuv420p/nv12 stay in the camera's
    /// limited range, for encoders.
    public var output: PixelFormat

    public init(width: Int = 640, height: Int = 480, fps: Double = 30, format: Format = .auto,
                bufferCount: Int = 4, pollTimeout: Double = 5, maxIORetries: Int = 5, maxFrames: Int? = nil,
                output: PixelFormat = .rgb24, dropStaleFrames: Bool = true, firstFrameTimeout: Double = 10) {
        self.width = width; self.height = height; self.fps = fps; self.format = format
        self.bufferCount = bufferCount; self.pollTimeout = pollTimeout
        self.maxIORetries = maxIORetries; self.maxFrames = maxFrames; self.output = output
        self.dropStaleFrames = dropStaleFrames
        self.firstFrameTimeout = firstFrameTimeout
    }

    enum CodingKeys: String, CodingKey {
        case width, height, fps, format, bufferCount, pollTimeout, maxIORetries, maxFrames, output, dropStaleFrames
        case firstFrameTimeout
    }

    /// Decodes any subset of the keys; missing ones keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? width
        height = try c.decodeIfPresent(Int.self, forKey: .height) ?? height
        fps = try c.decodeIfPresent(Double.self, forKey: .fps) ?? fps
        format = try c.decodeIfPresent(Format.self, forKey: .format) ?? format
        bufferCount = try c.decodeIfPresent(Int.self, forKey: .bufferCount) ?? bufferCount
        pollTimeout = try c.decodeIfPresent(Double.self, forKey: .pollTimeout) ?? pollTimeout
        maxIORetries = try c.decodeIfPresent(Int.self, forKey: .maxIORetries) ?? maxIORetries
        maxFrames = try c.decodeIfPresent(Int.self, forKey: .maxFrames)
        output = try c.decodeIfPresent(PixelFormat.self, forKey: .output) ?? output
        dropStaleFrames = try c.decodeIfPresent(Bool.self, forKey: .dropStaleFrames) ?? dropStaleFrames
        firstFrameTimeout = try c.decodeIfPresent(Double.self, forKey: .firstFrameTimeout) ?? firstFrameTimeout
    }

    /// The camera part of the generic source options: width/height/frameRate,
    /// `inputFormat` ("auto", "yuyv", "mjpeg", "rgb24"), `bufferCount`, `readTimeout` as the
    /// poll timeout, `openTimeout` for the first frame, `maxFrames` and `pixelFormat` as the output format.
    public init(_ source: SourceOptions) throws {
        self.init()
        if let w = source.width { width = w }
        if let h = source.height { height = h }
        if let f = source.frameRate { fps = f }
        if let name = source.inputFormat {
            guard let f = Format(rawValue: name.lowercased()) else {
                throw MediaError.invalidOption(name: "inputFormat", value: name, expected: "auto, yuyv, mjpeg or rgb24 for a camera")
            }
            format = f
        }
        bufferCount = source.bufferCount
        pollTimeout = source.readTimeout
        // openTimeout 0 means "wait forever" in SourceOptions.
        firstFrameTimeout = source.openTimeout > 0 ? max(source.openTimeout, source.readTimeout) : 86_400
        maxFrames = source.maxFrames
        output = source.pixelFormat
        if output == .yuyv422 && source.inputFormat == nil { format = .yuyv }
        try validate()
    }

    /// Checks ranges; `V4L2Source` calls it before touching the device.
    public func validate() throws {
        if width <= 0 || width > 16384 { throw MediaError.invalidOption(name: "width", value: "\(width)", expected: "1...16384") }
        if height <= 0 || height > 16384 { throw MediaError.invalidOption(name: "height", value: "\(height)", expected: "1...16384") }
        if !(fps > 0 && fps <= 1000) { throw MediaError.invalidOption(name: "fps", value: "\(fps)", expected: "a rate in (0, 1000]") }
        if bufferCount < 2 || bufferCount > 32 {
            throw MediaError.invalidOption(name: "bufferCount", value: "\(bufferCount)", expected: "2...32")
        }
        if !(pollTimeout > 0) { throw MediaError.invalidOption(name: "pollTimeout", value: "\(pollTimeout)", expected: "seconds > 0") }
        if !(firstFrameTimeout > 0) {
            throw MediaError.invalidOption(name: "firstFrameTimeout", value: "\(firstFrameTimeout)", expected: "seconds > 0")
        }
        if maxIORetries < 0 { throw MediaError.invalidOption(name: "maxIORetries", value: "\(maxIORetries)", expected: ">= 0") }
        if let n = maxFrames, n <= 0 { throw MediaError.invalidOption(name: "maxFrames", value: "\(n)", expected: "a positive count") }
    }
}
