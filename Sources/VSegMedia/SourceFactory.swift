import VSegCore

/// Opens the source a URI names:
/// - `pattern:WxH[@FPS][?realtime]`: synthetic test pattern (`TestPatternSource`);
/// - `/dev/videoN`: a V4L2 camera;
/// - anything else: a file, image sequence/glob/directory, or network URL that
///   libavformat opens (`FFmpegSource`).
///
/// Throws `MediaError` (a `UserFacingError`) when the input cannot be opened.
public func openSource(uri: String, options: SourceOptions = SourceOptions()) throws -> FrameSource {
    try options.validate()
    if TestPatternSource.handles(uri) { return try TestPatternSource(uri: uri, options: options) }
    if let camera = try V4L2Source.open(uri: uri, options: options) { return camera }
    return try FFmpegSource(uri: uri, options: options)
}
