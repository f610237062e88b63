import XCTest
@testable import VSegMedia

final class V4L2YUYVConverterTests: XCTestCase {
    /// Every (Y, U, V) on a grid that includes both ends of the range: the fixed-point
    /// conversion stays within 1 of the floating-point BT.601 formula, clamps included.
    func testMatchesTheFloatFormulaWithinOne() {
        let levels = Array(stride(from: 0, through: 255, by: 5)) + [16, 128, 235, 240, 254]
        var yuyv: [UInt8] = []
        var expected: [(Int, Int, Int)] = []
        for y in levels { for u in levels { for v in levels {
            yuyv += [UInt8(y), UInt8(u), UInt8(255 - y), UInt8(v)]
            expected.append(v4l2ReferenceRGB(y: UInt8(y), u: UInt8(u), v: UInt8(v)))
            expected.append(v4l2ReferenceRGB(y: UInt8(255 - y), u: UInt8(u), v: UInt8(v)))
        } } }
        let width = expected.count
        var rgb = [UInt8](repeating: 0, count: width * 3)
        yuyv.withUnsafeBytes { src in
            rgb.withUnsafeMutableBytes { dst in
                YUYVConverter.convert(source: src.baseAddress!, sourceStride: width * 2,
                                      destination: dst.baseAddress!, destinationStride: width * 3, width: width, height: 1)
            }
        }
        var worst = 0
        for (i, e) in expected.enumerated() {
            worst = max(worst, v4l2ChannelDistance((Int(rgb[i * 3]), Int(rgb[i * 3 + 1]), Int(rgb[i * 3 + 2])), e))
        }
        XCTAssertLessThanOrEqual(worst, 1)
    }

    func testKnownColours() {
        // Limited-range black, white and the BT.601 red primary.
        let cases: [([UInt8], [UInt8])] = [
            ([16, 128, 16, 128], [0, 0, 0, 0, 0, 0]),
            ([235, 128, 235, 128], [255, 255, 255, 255, 255, 255]),
            ([81, 90, 81, 240], [255, 0, 0, 255, 0, 0]),
        ]
        for (input, want) in cases {
            var out = [UInt8](repeating: 7, count: 6)
            input.withUnsafeBytes { s in out.withUnsafeMutableBytes { d in
                YUYVConverter.convert(source: s.baseAddress!, sourceStride: 4, destination: d.baseAddress!,
                                      destinationStride: 6, width: 2, height: 1)
            } }
            XCTAssertEqual(out.map(Int.init).enumerated().map { abs($1 - Int(want[$0])) }.max()!, 0, "\(input) -> \(out)")
        }
    }

    func testStridesArePerRow() {
        // Two rows of 2 pixels, source rows padded to 8 bytes, destination rows to 9.
        let src: [UInt8] = [16, 128, 16, 128, 0xee, 0xee, 0xee, 0xee,
                            235, 128, 235, 128, 0xee, 0xee, 0xee, 0xee]
        var dst = [UInt8](repeating: 7, count: 18)
        src.withUnsafeBytes { s in dst.withUnsafeMutableBytes { d in
            YUYVConverter.convert(source: s.baseAddress!, sourceStride: 8, destination: d.baseAddress!,
                                  destinationStride: 9, width: 2, height: 2)
        } }
        XCTAssertEqual(dst, [0, 0, 0, 0, 0, 0, 7, 7, 7, 255, 255, 255, 255, 255, 255, 7, 7, 7])
    }
}
