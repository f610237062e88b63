import CV4L2
import XCTest
@testable import VSegMedia

final class V4L2RequestTests: XCTestCase {
    /// Values from a C program printing the macros on x86-64 Linux (also in the V4L2 docs' tables).
    func testKnownRequestNumbers() {
        XCTAssertEqual(V4L2Request.querycap.code, 0x8068_5600)
        XCTAssertEqual(V4L2Request.sFmt.code, 0xc0d0_5605)
        XCTAssertEqual(V4L2Request.dqbuf.code, 0xc058_5611)
        XCTAssertEqual(V4L2Request.qbuf.code, 0xc058_560f)
        XCTAssertEqual(V4L2Request.streamon.code, 0x4004_5612)
        XCTAssertEqual(V4L2Request.reqbufs.code, 0xc014_5608)
    }

    /// Every Swift-computed number equals what the C headers' macros expand to.
    func testEveryRequestMatchesTheCHeaders() {
        let c: [V4L2Request: UInt] = [
            .querycap: vseg_c_vidioc_querycap(), .enumFmt: vseg_c_vidioc_enum_fmt(),
            .gFmt: vseg_c_vidioc_g_fmt(), .sFmt: vseg_c_vidioc_s_fmt(),
            .reqbufs: vseg_c_vidioc_reqbufs(), .querybuf: vseg_c_vidioc_querybuf(),
            .qbuf: vseg_c_vidioc_qbuf(), .dqbuf: vseg_c_vidioc_dqbuf(),
            .streamon: vseg_c_vidioc_streamon(), .streamoff: vseg_c_vidioc_streamoff(),
            .gParm: vseg_c_vidioc_g_parm(), .sParm: vseg_c_vidioc_s_parm(),
            .enumFramesizes: vseg_c_vidioc_enum_framesizes(), .enumFrameintervals: vseg_c_vidioc_enum_frameintervals(),
        ]
        XCTAssertEqual(c.count, V4L2Request.all.count)
        for r in V4L2Request.all {
            XCTAssertEqual(r.code, c[r], "\(r.name)")
        }
        XCTAssertEqual(Set(V4L2Request.all.map(\.code)).count, V4L2Request.all.count, "codes are distinct")
    }

    func testIOCEncoding() {
        // _IOW('V', 18, int): write, size 4.
        XCTAssertEqual(V4L2Request.ioc(.write, type: "V", number: 18, size: 4), 0x4004_5612)
        XCTAssertEqual(V4L2Request.ioc(.none, type: "V", number: 0, size: 0), 0x5600)
        XCTAssertEqual(V4L2Request.ioc(.readWrite, type: "a", number: 0xff, size: 0x3fff), 0xffff_61ff)
    }

    func testFourCC() {
        XCTAssertEqual(FourCC("YUYV").rawValue, 0x5659_5559)
        XCTAssertEqual(FourCC.yuyv.rawValue, vseg_c_pix_fmt_yuyv())
        XCTAssertEqual(FourCC.mjpeg.rawValue, vseg_c_pix_fmt_mjpeg())
        XCTAssertEqual(FourCC.rgb24.rawValue, vseg_c_pix_fmt_rgb24())
        XCTAssertEqual(FourCC(rawValue: 0x3347_504d).description, "MPG3")
        XCTAssertEqual(FourCC("Y8  ").description, "Y8")
    }
}
