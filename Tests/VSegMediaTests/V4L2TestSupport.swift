import VSegCore
@testable import VSegMedia

/// BT.601 limited-range YUV -> RGB in floating point, written from the spec's
/// matrix independently of `YUYVConverter`'s fixed-point arithmetic.
func v4l2ReferenceRGB(y: UInt8, u: UInt8, v: UInt8) -> (Int, Int, Int) {
    let yy = (Double(y) - 16) * 255 / 219
    let cb = (Double(u) - 128) * 255 / 224
    let cr = (Double(v) - 128) * 255 / 224
    // Kr = 0.299, Kb = 0.114 (BT.601).
    let r = yy + 1.402 * cr
    let g = yy - 0.344136 * cb - 0.714136 * cr
    let b = yy + 1.772 * cb
    func c(_ x: Double) -> Int { Int(min(255, max(0, x.rounded()))) }
    return (c(r), c(g), c(b))
}

/// The RGB pixel (x, y) of a frame.
func v4l2Pixel(_ frame: Frame, _ x: Int, _ y: Int) -> (Int, Int, Int) {
    let b = frame.buffer.bytes
    let o = y * frame.buffer.rowBytes + x * 3
    return (Int(b[o]), Int(b[o + 1]), Int(b[o + 2]))
}

/// Largest channel difference between two pixels.
func v4l2ChannelDistance(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Int {
    max(abs(a.0 - b.0), abs(a.1 - b.1), abs(a.2 - b.2))
}

/// Opens a source on a simulated camera with the test's options.
func v4l2SimulatedSource(_ sim: SimulatedV4L2Device, _ options: V4L2Options = V4L2Options()) throws -> V4L2Source {
    try V4L2Source(path: "/dev/video0", options: options, device: sim)
}

/// Runs `body` and returns the `V4L2Error` it throws (nil if it throws nothing or something else).
func v4l2Error<T>(_ body: () throws -> T) -> V4L2Error? {
    do {
        _ = try body()
        return nil
    } catch let e as V4L2Error {
        return e
    } catch {
        return nil
    }
}
