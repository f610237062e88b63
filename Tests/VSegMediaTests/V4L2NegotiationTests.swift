import Foundation
import XCTest
import VSegCore
@testable import VSegMedia

final class V4L2NegotiationTests: XCTestCase {
    private func negotiate(_ formats: [V4L2FormatInfo], _ options: V4L2Options) throws -> V4L2Negotiation {
        try V4L2Negotiator.negotiate(formats: formats, options: options, path: "/dev/video0") { _, _ in .unknown }
    }

    func testExactModeHasNoNotes() throws {
        let n = try negotiate(SimulatedV4L2Pattern.typicalWebcam(), V4L2Options(width: 640, height: 480, fps: 30))
        XCTAssertEqual(n.size, V4L2Size(width: 640, height: 480))
        XCTAssertEqual(n.interval, V4L2Fraction(1, 30))
        XCTAssertEqual(n.deviceFormat, .yuyv)
        XCTAssertEqual(n.notes, [])
    }

    func testNearestSizeAndRateAreChosenAndReported() throws {
        let n = try negotiate(SimulatedV4L2Pattern.typicalWebcam(), V4L2Options(width: 300, height: 200, fps: 24))
        XCTAssertEqual(n.size, V4L2Size(width: 320, height: 240))
        XCTAssertEqual(n.interval, V4L2Fraction(1, 30), "30 is nearer to 24 than 15")
        XCTAssertEqual(n.notes, ["asked 300x200, YUYV offers nearest 320x240",
                                 "asked 24 fps, YUYV at 320x240 offers nearest 30 fps"])
    }

    func testAutoKeepsYUYVWhenItReachesTheMode() throws {
        let n = try negotiate(SimulatedV4L2Pattern.typicalWebcam(), V4L2Options(width: 640, height: 480, fps: 30, format: .auto))
        XCTAssertEqual(n.deviceFormat, .yuyv)
        XCTAssertEqual(n.captureFormat, .yuyv)
        XCTAssertEqual(n.notes, [])
    }

    func testAutoTakesMJPEGWhenYUYVIsTooSlowOrTooSmall() throws {
        let hd = try negotiate(SimulatedV4L2Pattern.typicalWebcam(), V4L2Options(width: 1280, height: 720, fps: 30, format: .auto))
        XCTAssertEqual(hd.deviceFormat, .mjpeg)
        XCTAssertEqual(hd.captureFormat, .rgb24)
        XCTAssertEqual(hd.interval, V4L2Fraction(1, 30))
        XCTAssertEqual(hd.notes, ["using mjpeg: YUYV only reaches 1280x720 at 10 fps"])

        let fullHD = try negotiate(SimulatedV4L2Pattern.typicalWebcam(), V4L2Options(width: 1920, height: 1080, fps: 30))
        XCTAssertEqual(fullHD.deviceFormat, .mjpeg)
        XCTAssertEqual(fullHD.size, V4L2Size(width: 1920, height: 1080))
    }

    func testAutoWithOnlyLibv4l2RGB() throws {
        let formats = [V4L2FormatInfo(fourcc: FourCC("GRBG"), description: "Bayer", sizes: .discrete([V4L2Size(width: 640, height: 480)])),
                       V4L2FormatInfo(fourcc: .rgb24, description: "RGB3", isEmulated: true, sizes: .discrete([V4L2Size(width: 640, height: 480)]))]
        let n = try negotiate(formats, V4L2Options())
        XCTAssertEqual(n.captureFormat, .rgb24)
        XCTAssertEqual(n.deviceFormat, .rgb24)
    }

    func testRateTieGoesToTheFasterRate() throws {
        let n = try negotiate(SimulatedV4L2Pattern.typicalWebcam(), V4L2Options(fps: 22.5))
        XCTAssertEqual(n.interval, V4L2Fraction(1, 30))
    }

    func testSlowYUYVAtHighResolutionPointsToMJPEG() throws {
        let n = try negotiate(SimulatedV4L2Pattern.typicalWebcam(), V4L2Options(width: 1000, height: 700, fps: 30, format: .yuyv))
        XCTAssertEqual(n.size, V4L2Size(width: 1280, height: 720))
        XCTAssertEqual(n.interval, V4L2Fraction(1, 10))
        XCTAssertEqual(n.notes.last, "asked 30 fps, YUYV at 1280x720 offers nearest 10 fps (MJPG reaches 30 fps at this size: ask for format mjpeg)")
    }

    func testMJPEGUsesItsOwnTableAndCapturesRGB24() throws {
        let n = try negotiate(SimulatedV4L2Pattern.typicalWebcam(), V4L2Options(width: 1280, height: 720, fps: 30, format: .mjpeg))
        XCTAssertEqual(n.deviceFormat, .mjpeg)
        XCTAssertEqual(n.captureFormat, .rgb24)
        XCTAssertEqual(n.interval, V4L2Fraction(1, 30))
        XCTAssertEqual(n.notes, [])
    }

    func testMissingPreferredFormatFallsBackAndSaysSo() throws {
        let onlyMJPEG = SimulatedV4L2Pattern.typicalWebcam().filter { $0.fourcc != .yuyv }
        let n = try negotiate(onlyMJPEG, V4L2Options(format: .yuyv))
        XCTAssertEqual(n.deviceFormat, .mjpeg)
        XCTAssertEqual(n.captureFormat, .rgb24)
        XCTAssertEqual(n.notes.first, "/dev/video0 has no yuyv format; using mjpeg instead")

        let onlyYUYV = SimulatedV4L2Pattern.typicalWebcam().filter { $0.fourcc == .yuyv }
        let m = try negotiate(onlyYUYV, V4L2Options(format: .rgb24))
        XCTAssertEqual(m.captureFormat, .yuyv, "without libv4l2's RGB24 we convert YUYV ourselves")
    }

    func testMJPEGWithoutAnRGB24ConversionIsNotUsable() {
        let formats = [V4L2FormatInfo(fourcc: .mjpeg, description: "Motion-JPEG", isCompressed: true,
                                      sizes: .discrete([V4L2Size(width: 640, height: 480)])),
                       V4L2FormatInfo(fourcc: FourCC("H264"), description: "H.264", isCompressed: true, sizes: .unknown)]
        XCTAssertThrowsError(try negotiate(formats, V4L2Options(format: .mjpeg))) { error in
            XCTAssertEqual(error as? V4L2Error, .noUsableFormat(path: "/dev/video0", offered: "MJPG, H264"))
        }
    }

    func testStepwiseSizesSnapToTheStep() throws {
        let formats = [V4L2FormatInfo(fourcc: .yuyv, description: "YUYV",
                                      sizes: .stepwise(min: V4L2Size(width: 16, height: 16),
                                                       max: V4L2Size(width: 1920, height: 1080), stepWidth: 8, stepHeight: 8))]
        var asked: [V4L2Size] = []
        let n = try V4L2Negotiator.negotiate(formats: formats, options: V4L2Options(width: 1001, height: 701, fps: 100),
                                             path: "/dev/video0") { _, size in
            asked.append(size)
            return .stepwise(min: V4L2Fraction(1, 60), max: V4L2Fraction(1, 5), step: V4L2Fraction(1, 1))
        }
        XCTAssertEqual(n.size, V4L2Size(width: 1000, height: 704))
        XCTAssertEqual(asked, [n.size], "intervals are asked for the chosen size")
        XCTAssertEqual(n.interval?.fps ?? 0, 60, accuracy: 0.001, "clamped to the fastest")
        XCTAssertEqual(V4L2Negotiator.nearestSize(formats[0].sizes, to: V4L2Size(width: 5000, height: 1)),
                       V4L2Size(width: 1920, height: 16))
    }

    func testOptionsDecodeFromAnySubsetOfKeys() throws {
        let o = try JSONDecoder().decode(V4L2Options.self, from: Data(#"{"width": 1280, "format": "mjpeg"}"#.utf8))
        XCTAssertEqual(o, V4L2Options(width: 1280, format: .mjpeg))
        XCTAssertThrowsError(try JSONDecoder().decode(V4L2Options.self, from: Data(#"{"format": "h264"}"#.utf8)))
    }

    func testSizeTieGoesToTheLargerSize() {
        let sizes = V4L2FrameSizes.discrete([V4L2Size(width: 600, height: 400), V4L2Size(width: 700, height: 500)])
        XCTAssertEqual(V4L2Negotiator.nearestSize(sizes, to: V4L2Size(width: 650, height: 450)), V4L2Size(width: 700, height: 500))
    }

    func testDriverAdjustmentsAreReportedBySource() throws {
        // The simulated driver snaps S_PARM to its own table: 1280x720 YUYV only does 10 or 5 fps.
        let sim = SimulatedV4L2Device()
        let src = try v4l2SimulatedSource(sim, V4L2Options(width: 1280, height: 720, fps: 30, format: .yuyv))
        XCTAssertEqual(src.info.frameRate, Rational(10, 1))
        XCTAssertEqual(src.info.width, 1280)
        XCTAssertTrue(src.notes.contains { $0.contains("offers nearest 10 fps") }, "\(src.notes)")
    }
}
