import XCTest
import VSegCore
@testable import VSegMedia

final class V4L2OutputFormatTests: XCTestCase {
    private let points = [(0, 0), (1, 0), (57, 31), (318, 239), (319, 239)]

    func testBGR24FromYUYVIsRGBSwapped() throws {
        let src = try v4l2SimulatedSource(SimulatedV4L2Device(), V4L2Options(width: 320, height: 240, output: .bgr24))
        XCTAssertEqual(src.info.pixelFormat, .bgr24)
        let f = try XCTUnwrap(src.nextFrame())
        XCTAssertEqual(f.format, .bgr24)
        for (x, y) in points {
            let s = SimulatedV4L2Pattern.yuv(x: x, y: y, frame: 0), c = SimulatedV4L2Pattern.yuv(x: x & ~1, y: y, frame: 0)
            let (r, g, b) = v4l2ReferenceRGB(y: s.y, u: c.u, v: c.v)
            XCTAssertLessThanOrEqual(v4l2ChannelDistance(v4l2Pixel(f, x, y), (b, g, r)), 1)
        }
    }

    func testGray8FromYUYVIsFullRangeLuma() throws {
        let src = try v4l2SimulatedSource(SimulatedV4L2Device(), V4L2Options(width: 320, height: 240, output: .gray8))
        let f = try XCTUnwrap(src.nextFrame())
        XCTAssertEqual(f.format, .gray8)
        for (x, y) in points {
            let luma = Double(SimulatedV4L2Pattern.yuv(x: x, y: y, frame: 0).y)
            let expected = min(255, max(0, ((luma - 16) * 255 / 219).rounded()))
            XCTAssertEqual(Double(f.buffer.bytes[y * f.buffer.rowBytes + x]), expected, accuracy: 1)
        }
    }

    func testYUYV422IsTheCamerasOwnBytes() throws {
        let sim = SimulatedV4L2Device()
        sim.rowPadding = 8
        let src = try v4l2SimulatedSource(sim, V4L2Options(width: 320, height: 240, output: .yuyv422))
        let f = try XCTUnwrap(src.nextFrame())
        XCTAssertEqual(f.format, .yuyv422)
        XCTAssertEqual(f.buffer.rowBytes, 640)
        for (x, y) in points where x % 2 == 0 {
            let a = SimulatedV4L2Pattern.yuv(x: x, y: y, frame: 0), b = SimulatedV4L2Pattern.yuv(x: x + 1, y: y, frame: 0)
            let o = y * 640 + x * 2
            XCTAssertEqual(Array(f.buffer.bytes[o..<o + 4]), [a.y, a.u, b.y, a.v])
        }
    }

    func testFromRGB24Capture() throws {
        let sim = SimulatedV4L2Device()
        let bgr = try v4l2SimulatedSource(sim, V4L2Options(format: .rgb24, output: .bgr24))
        let f = try XCTUnwrap(bgr.nextFrame())
        let c = SimulatedV4L2Pattern.rgb(x: 9, y: 4, frame: 0)
        XCTAssertTrue(v4l2Pixel(f, 9, 4) == (Int(c.b), Int(c.g), Int(c.r)))
        bgr.close()

        let gray = try v4l2SimulatedSource(SimulatedV4L2Device(), V4L2Options(format: .rgb24, output: .gray8))
        let g = try XCTUnwrap(gray.nextFrame())
        let expected = 0.299 * Double(c.r) + 0.587 * Double(c.g) + 0.114 * Double(c.b)
        XCTAssertEqual(Double(g.buffer.bytes[4 * g.buffer.rowBytes + 9]), expected, accuracy: 1)
    }

    func testRawYUYVOutputNeedsAYUYVCapture() {
        let sim = SimulatedV4L2Device()
        XCTAssertThrowsError(try v4l2SimulatedSource(sim, V4L2Options(format: .mjpeg, output: .yuyv422))) { error in
            XCTAssertEqual((error as? MediaError)?.exitCode, .usage)
            XCTAssertTrue("\(error)".contains("sends RGB3, not YUYV"), "\(error)")
        }
        XCTAssertFalse(sim.isOpen)
        XCTAssertEqual(sim.mappedCount, 0)
    }

    func testYUV420PFromYUYVKeepsLumaAndAveragesChromaRows() throws {
        for format in [PixelFormat.yuv420p, .nv12] {
            let sim = SimulatedV4L2Device()
            sim.rowPadding = 4  // padded driver rows
            let src = try v4l2SimulatedSource(sim, V4L2Options(width: 320, height: 240, output: format))
            XCTAssertEqual(src.info.pixelFormat, format)
            let f = try XCTUnwrap(src.nextFrame())
            let b = f.buffer.bytes
            XCTAssertEqual(b.count, 320 * 240 * 3 / 2)
            for (x, y) in points {
                XCTAssertEqual(b[y * 320 + x], SimulatedV4L2Pattern.yuv(x: x, y: y, frame: 0).y)
                let (cx, cy) = (x / 2, y / 2)
                let top = SimulatedV4L2Pattern.yuv(x: cx * 2, y: cy * 2, frame: 0)
                let bottom = SimulatedV4L2Pattern.yuv(x: cx * 2, y: cy * 2 + 1, frame: 0)
                let u = (Int(top.u) + Int(bottom.u) + 1) / 2, v = (Int(top.v) + Int(bottom.v) + 1) / 2
                let base = 320 * 240
                let (gotU, gotV) = format == .nv12
                    ? (b[base + cy * 320 + cx * 2], b[base + cy * 320 + cx * 2 + 1])
                    : (b[base + cy * 160 + cx], b[base + 160 * 120 + cy * 160 + cx])
                XCTAssertEqual(Int(gotU), u, "\(format) U at \(cx),\(cy)")
                XCTAssertEqual(Int(gotV), v, "\(format) V at \(cx),\(cy)")
            }
        }
    }

    func testYUV420PFromRGBMatchesTheBT601Matrix() throws {
        let src = try v4l2SimulatedSource(SimulatedV4L2Device(), V4L2Options(format: .rgb24, output: .yuv420p))
        let f = try XCTUnwrap(src.nextFrame())
        let b = f.buffer.bytes
        let (w, h) = (640, 480)
        for (x, y) in [(0, 0), (9, 4), (639, 479), (320, 101)] {
            let c = SimulatedV4L2Pattern.rgb(x: x, y: y, frame: 0)
            let luma = 16 + 0.257 * Double(c.r) + 0.504 * Double(c.g) + 0.098 * Double(c.b)
            XCTAssertEqual(Double(b[y * w + x]), luma, accuracy: 1)
            // Chroma from the mean of the 2x2 block.
            let (cx, cy) = (x / 2, y / 2)
            var sum = (0.0, 0.0, 0.0)
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = SimulatedV4L2Pattern.rgb(x: cx * 2 + dx, y: cy * 2 + dy, frame: 0)
                sum = (sum.0 + Double(p.r) / 4, sum.1 + Double(p.g) / 4, sum.2 + Double(p.b) / 4)
            }
            let u = 128 - 0.148 * sum.0 - 0.291 * sum.1 + 0.439 * sum.2
            let v = 128 + 0.439 * sum.0 - 0.368 * sum.1 - 0.071 * sum.2
            XCTAssertEqual(Double(b[w * h + cy * (w / 2) + cx]), u, accuracy: 1.5)
            XCTAssertEqual(Double(b[w * h + (w / 2) * (h / 2) + cy * (w / 2) + cx]), v, accuracy: 1.5)
        }
    }

    func testSourceOptionsPixelFormatBecomesTheOutput() throws {
        var o = SourceOptions()
        o.pixelFormat = .yuyv422
        let v = try V4L2Options(o)
        XCTAssertEqual(v.output, .yuyv422)
        XCTAssertEqual(v.format, .yuyv, "raw YUYV output asks the camera for YUYV")
    }
}
