#if canImport(Glibc)
import Glibc
#endif
import VSegCore

/// Opens the sink an output path names:
/// - `.mp4` `.m4v` `.mov` `.mkv` `.ts` `.avi`: encoded video (`EncodedVideoSink`, H.264 via libx264);
/// - `udp://HOST:PORT` (also `tcp://`, `srt://`): MPEG-TS over the network;
/// - `.y4m` or `-` (stdout): YUV4MPEG2 (`Y4MSink`);
/// - `.rgb`: raw RGB24 plus a `.json` sidecar (`RawVideoSink`);
/// - a directory (existing, or ending in `/`), a `%06d.png` pattern or `name.png`: PNG sequence.
///
/// `audioFrom`: the source whose audio an encoded-video sink should copy
/// (ignored by the other sinks and when `options.copyAudio` is false).
/// Throws `MediaError` for unknown extensions and unwritable destinations.
public func openSink(path: String, source: SourceInfo, options: SinkOptions = SinkOptions(),
                     audioFrom: FrameSource? = nil) throws -> FrameSink {
    try options.validate()
    if options.container != nil {
        let audio = options.copyAudio ? (audioFrom as? AudioPassthroughProvider)?.enableAudioPassthrough() : nil
        return try EncodedVideoSink(path: path, source: source, options: options, audio: audio)
    }
    switch sinkKind(for: path) {
    case .encoded:
        let audio = options.copyAudio ? (audioFrom as? AudioPassthroughProvider)?.enableAudioPassthrough() : nil
        return try EncodedVideoSink(path: path, source: source, options: options, audio: audio)
    case .y4m: return try Y4MSink(path: path, source: source)
    case .rawRGB: return try RawVideoSink(path: path, source: source)
    case .png: return try PNGSequenceSink(path: path, source: source, options: options)
    case nil: throw MediaError.unknownOutputExtension(path: path)
    }
}

/// What kind of sink a path names, nil when vseg cannot write it.
public enum SinkKind: String, Sendable {
    case encoded, y4m, rawRGB, png
}

public func sinkKind(for path: String) -> SinkKind? {
    if path == "-" { return .y4m }
    if EncodedVideoSink.containerName(for: path) != nil { return .encoded }
    if uriScheme(path) != nil { return nil }
    switch pathExtension(path) {
    case "y4m": return .y4m
    case "rgb": return .rawRGB
    case "png": return .png
    default:
        if path.hasSuffix("/") { return .png }
        var st = stat()
        if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { return .png }
        return nil
    }
}

/// Same as `openSink(path:source:options:audioFrom:)` for callers that already
/// took the source's `AudioPassthrough` (only encoded-video sinks use it).
public func openSink(path: String, source: SourceInfo, options: SinkOptions = SinkOptions(),
                     audio: AudioPassthrough?) throws -> FrameSink {
    try options.validate()
    if sinkKind(for: path) == .encoded || options.container != nil {
        return try EncodedVideoSink(path: path, source: source, options: options, audio: options.copyAudio ? audio : nil)
    }
    return try openSink(path: path, source: source, options: options, audioFrom: nil)
}
