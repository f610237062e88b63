#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
import VSegCore
@testable import VSegMedia

/// The real device's poll and wake-up, on a pipe standing in for the camera fd.
final class V4L2LibDeviceTests: XCTestCase {
    func testPollTimesOutIsReadyAndIsWoken() throws {
        let device = LibV4L2Device()
        XCTAssertGreaterThanOrEqual(device.wakeDescriptor, 0, "eventfd available")
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { Glibc.close(fds[0]); Glibc.close(fds[1]) }
        let set = UnsafeMutablePointer<pollfd>.allocate(capacity: 2)
        defer { set.deallocate() }

        let start = Clock.nanos()
        XCTAssertEqual(try LibV4L2Device.poll(fd: fds[0], wakeFD: device.wakeDescriptor, pollSet: set, timeoutMilliseconds: 50), .timedOut)
        XCTAssertGreaterThanOrEqual(Clock.nanos() - start, 45_000_000)

        var byte: UInt8 = 1
        XCTAssertEqual(write(fds[1], &byte, 1), 1)
        XCTAssertEqual(try LibV4L2Device.poll(fd: fds[0], wakeFD: device.wakeDescriptor, pollSet: set, timeoutMilliseconds: 1000), .ready)
        XCTAssertEqual(read(fds[0], &byte, 1), 1)

        // wake() from another thread ends a long wait at once, and stays set.
        let t = Thread { usleep(50_000); device.wake() }
        t.start()
        let waitStart = Clock.nanos()
        XCTAssertEqual(try LibV4L2Device.poll(fd: fds[0], wakeFD: device.wakeDescriptor, pollSet: set, timeoutMilliseconds: 10_000), .woken)
        XCTAssertLessThan(Clock.nanos() - waitStart, 2_000_000_000)
        XCTAssertEqual(try LibV4L2Device.poll(fd: fds[0], wakeFD: device.wakeDescriptor, pollSet: set, timeoutMilliseconds: 0), .woken)
    }

    func testCallsOnAClosedDeviceFailWithEBADF() {
        let device = LibV4L2Device()
        XCTAssertThrowsError(try device.poll(timeoutMilliseconds: 0)) { XCTAssertEqual($0 as? V4L2Errno, V4L2Errno(EBADF)) }
        var cap = [UInt8](repeating: 0, count: 128)
        XCTAssertThrowsError(try device.ioctl(.querycap, &cap)) { XCTAssertEqual($0 as? V4L2Errno, V4L2Errno(EBADF)) }
    }
}
