import VSegCore

/// Everything that can go wrong reading or writing media. Each case names the
/// file, stream or device, and its description says what to do about it.
public enum MediaError: UserFacingError, Equatable {
    /// The input path does not exist.
    case notFound(path: String)
    /// The input file has zero bytes.
    case emptyFile(path: String)
    /// The input exists but FFmpeg does not recognise it as media (text file, truncated header, missing moov atom).
    case notMedia(uri: String, reason: String)
    /// The input could not be opened (permissions, refused connection, bad URL).
    case openFailed(uri: String, reason: String)
    /// The input has no video stream.
    case noVideoStream(uri: String)
    /// The video codec has no decoder in this FFmpeg build.
    case unsupportedCodec(uri: String, codec: String)
    /// The input broke off or was corrupt after `framesRead` good frames.
    case truncated(uri: String, framesRead: Int, reason: String)
    /// A network source sent nothing within the timeout (no sender, wrong port, firewall).
    case timedOut(uri: String, seconds: Double)
    /// A network source stopped and did not come back after all reconnect attempts.
    case streamLost(uri: String, attempts: Int)
    /// A camera or other device failed (`operation` is the request, e.g. "VIDIOC_STREAMON").
    case device(path: String, operation: String, reason: String, fix: String)
    /// The output file or its directory cannot be written.
    case outputUnwritable(path: String, reason: String)
    /// The output path's extension/scheme is not one vseg can write.
    case unknownOutputExtension(path: String)
    /// No usable encoder (neither libx264 nor mpeg4) or the encoder refused the settings.
    case encoderUnavailable(path: String, reason: String)
    /// Writing to an open output failed (disk full, network gone).
    case writeFailed(path: String, reason: String)
    /// A source/sink option has an invalid value.
    case invalidOption(name: String, value: String, expected: String)

    public var description: String {
        switch self {
        case let .notFound(path):
            return "\(path): no such file; check the path (relative paths start from the current directory)"
        case let .emptyFile(path):
            return "\(path): file is empty (0 bytes); re-copy or re-record it"
        case let .notMedia(uri, reason):
            return "\(uri): not a readable video (\(reason)); the file is truncated or not media, re-download or re-export it"
        case let .openFailed(uri, reason):
            return "\(uri): cannot open (\(reason)); check the path, URL and permissions"
        case let .noVideoStream(uri):
            return "\(uri): contains no video stream; pass a file or URL that has video"
        case let .unsupportedCodec(uri, codec):
            return "\(uri): no decoder for codec '\(codec)' in this FFmpeg; install a full FFmpeg build or transcode the input"
        case let .truncated(uri, n, reason):
            return "\(uri): input broke off after \(n) frames (\(reason)); the file is truncated or corrupt, re-download it (frames so far were written)"
        case let .timedOut(uri, s):
            return "\(uri): no data within \(formatSeconds(s)) s; check the sender is running and the address/port, or raise the open timeout"
        case let .streamLost(uri, attempts):
            return "\(uri): stream stopped and did not come back after \(attempts) reconnect attempts; restart the sender or raise the reconnect limit"
        case let .device(path, op, reason, fix):
            return "\(path): \(op) failed (\(reason)); \(fix)"
        case let .outputUnwritable(path, reason):
            return "\(path): cannot write output (\(reason)); choose a writable directory that exists"
        case let .unknownOutputExtension(path):
            return "\(path): unknown output type; use .mp4, .mkv, .mov, .ts, .y4m, .rgb, a .png pattern, a directory ending in '/', or udp://HOST:PORT"
        case let .encoderUnavailable(path, reason):
            return "\(path): no usable video encoder (\(reason)); install FFmpeg with libx264 or choose another codec"
        case let .writeFailed(path, reason):
            return "\(path): write failed (\(reason)); check free disk space or the network destination"
        case let .invalidOption(name, value, expected):
            return "option \(name)=\(value) is invalid; expected \(expected)"
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .notFound, .emptyFile, .notMedia, .openFailed, .noVideoStream, .unsupportedCodec,
             .truncated, .timedOut, .streamLost, .device:
            return .input
        case .outputUnwritable, .unknownOutputExtension, .encoderUnavailable, .writeFailed:
            return .output
        case .invalidOption:
            return .usage
        }
    }
}

func formatSeconds(_ s: Double) -> String {
    if s == s.rounded() { return String(Int(s)) }
    return String((s * 10).rounded() / 10)
}
