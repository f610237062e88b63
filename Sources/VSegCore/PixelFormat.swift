/// Pixel layouts that flow between stages. Packed formats have one plane;
/// planar ones (yuv420p, nv12) keep their planes back to back in one buffer.
public enum PixelFormat: String, Codable, Sendable, CaseIterable {
    case rgb24, bgr24, gray8, yuv420p, nv12, yuyv422

    /// Bytes per pixel of the first plane for packed formats, nil for planar ones.
    public var packedBytesPerPixel: Int? {
        switch self {
        case .rgb24, .bgr24: return 3
        case .gray8: return 1
        case .yuyv422: return 2
        case .yuv420p, .nv12: return nil
        }
    }

    /// Total bytes for a tightly packed image of this format.
    public func byteCount(width: Int, height: Int) -> Int {
        switch self {
        case .rgb24, .bgr24: return width * height * 3
        case .gray8: return width * height
        case .yuyv422: return width * height * 2
        case .yuv420p, .nv12:
            let cw = (width + 1) / 2, ch = (height + 1) / 2
            return width * height + 2 * cw * ch
        }
    }
}
