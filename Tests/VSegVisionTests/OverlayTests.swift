import XCTest
import VSegCore
import VSegVision

final class OverlayTests: XCTestCase {
    func testSoftBlendExactValues() {
        // 10 pixels (exercises the 8-wide chunk and the tail), all (100, 50, 0).
        var px = [UInt8](repeating: 0, count: 30)
        for i in 0..<10 { px[3 * i] = 100; px[3 * i + 1] = 50; px[3 * i + 2] = 0 }
        let prob: [Float] = [0, 1, 0.5, 2, -1, 0.25, 1, 1, 0.5, 1]
        px.withUnsafeMutableBufferPointer { p in prob.withUnsafeBufferPointer { q in
            Overlay.blendSoft(pixels: p.baseAddress!, count: 10, probability: q.baseAddress!, colour: SIMD3(200, 250, 255), alpha: 0.5)
        } }
        // a = clamp(p) * 0.5: 0, .5, .25, .5, 0, .125, .5, .5, .25, .5
        let expect: [[UInt8]] = [[100, 50, 0], [150, 150, 128], [125, 100, 64], [150, 150, 128], [100, 50, 0],
                                 [113, 75, 32], [150, 150, 128], [150, 150, 128], [125, 100, 64], [150, 150, 128]]
        for i in 0..<10 { XCTAssertEqual(Array(px[(3 * i)..<(3 * i + 3)]), expect[i], "pixel \(i)") }
    }

    func testSoftBlendBGRSwapsTheColour() {
        var px: [UInt8] = [0, 0, 0]
        let prob: [Float] = [1]
        px.withUnsafeMutableBufferPointer { p in prob.withUnsafeBufferPointer { q in
            Overlay.blendSoft(pixels: p.baseAddress!, count: 1, bgr: true, probability: q.baseAddress!, colour: SIMD3(255, 0, 10), alpha: 1)
        } }
        XCTAssertEqual(px, [10, 0, 255])
    }

    func testHardBlendOnlyTouchesForeground() {
        var px: [UInt8] = [10, 20, 30, 10, 20, 30]
        let labels: [UInt8] = [0, 1]
        px.withUnsafeMutableBufferPointer { p in labels.withUnsafeBufferPointer { l in
            Overlay.blendHard(pixels: p.baseAddress!, count: 2, labels: l.baseAddress!, colour: SIMD3(0, 255, 0), alpha: 0.6)
        } }
        // 10 + (0 - 10) * .6 = 4; 20 + 235 * .6 = 161; 30 - 18 = 12
        XCTAssertEqual(px, [10, 20, 30, 4, 161, 12])
    }

    func testPaletteBlendSkipsBackgroundAndUnknownLabels() throws {
        var px = [UInt8](repeating: 0, count: 12)
        let labels: [UInt8] = [0, 15, 1, 30]
        let palette = try Palette.resolve(.voc, classCount: 21, model: "t")
        px.withUnsafeMutableBufferPointer { p in labels.withUnsafeBufferPointer { l in palette.withUnsafeBufferPointer { pal in
            Overlay.blendLabels(pixels: p.baseAddress!, count: 4, labels: l.baseAddress!, palette: pal, alpha: 1)
        } } }
        XCTAssertEqual(px, [0, 0, 0, 192, 128, 128, 128, 0, 0, 0, 0, 0])
    }

    func testPalettes() throws {
        let voc = Palette.voc()
        XCTAssertEqual(voc.count, 63)
        XCTAssertEqual(Array(voc[0..<9]), [0, 0, 0, 128, 0, 0, 0, 128, 0])
        XCTAssertEqual(Array(voc[60..<63]), [0, 64, 128])  // tvmonitor
        XCTAssertEqual(Palette.vocLabels.count, 21)
        XCTAssertEqual(Palette.cityscapes.count, 19 * 3)
        XCTAssertEqual(Palette.cityscapesLabels.count, 19)
        XCTAssertEqual(Array(Palette.cityscapes[33..<36]), [220, 20, 60])  // person
        // Default for 19 classes is Cityscapes; a short custom palette is completed.
        XCTAssertEqual(try Palette.resolve(nil, classCount: 19, model: "m"), Palette.cityscapes)
        let custom = try Palette.resolve(.custom([[1, 2, 3]]), classCount: 3, model: "m")
        XCTAssertEqual(custom, [1, 2, 3] + Array(voc[3..<9]))
        // Generated palettes give distinct colours for all 256 labels.
        let g = try Palette.resolve(.generated, classCount: 256, model: "m")
        XCTAssertEqual(Set(stride(from: 0, to: 768, by: 3).map { [g[$0], g[$0 + 1], g[$0 + 2]] }).count, 256)
        XCTAssertThrowsError(try Palette.resolve(.voc, classCount: 300, model: "m"))
        XCTAssertThrowsError(try Palette.resolve(.custom([[1, 2]]), classCount: 2, model: "m"))
    }
}
