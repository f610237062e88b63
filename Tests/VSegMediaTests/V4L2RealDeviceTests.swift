import XCTest
@testable import VSegMedia

/// Through the real libv4l2 path. There is no camera on CI machines, so these
/// check what a user without the device sees.
final class V4L2RealDeviceTests: XCTestCase {
    func testMissingDeviceGivesTheNoSuchDeviceError() {
        let error = v4l2Error { try V4L2Source(path: "/dev/video99") }
        XCTAssertEqual(error, .noSuchDevice(path: "/dev/video99"))
        XCTAssertEqual(error?.description,
                       "/dev/video99: no such device; list cameras with `ls /dev/video*` and check one with `vseg probe /dev/videoN`")
        XCTAssertEqual(error?.exitCode, .input)
    }

    func testProbeOfAMissingDevice() {
        XCTAssertEqual(v4l2Error { try V4L2Probe.describe(path: "/dev/video99") }, .noSuchDevice(path: "/dev/video99"))
    }

    func testANodeThatIsNotV4L2() {
        // /dev/null opens fine but does not understand QUERYCAP.
        XCTAssertEqual(v4l2Error { try V4L2Source(path: "/dev/null") }, .notV4L2Device(path: "/dev/null"))
    }
}
