import XCTest
import VSegCore

final class ShapeMathTests: XCTestCase {
    func testElementCountRejectsOverflowAndNegative() {
        XCTAssertEqual(ShapeMath.elementCount([1, 256, 256, 3]), 196_608)
        XCTAssertNil(ShapeMath.elementCount([1 << 20, 1 << 20]))
        XCTAssertNil(ShapeMath.elementCount([Int.max, 2]))
        XCTAssertNil(ShapeMath.elementCount([4, -1]))
        XCTAssertEqual(ShapeMath.elementCount([]), 1)
    }

    func testTimestampSeconds() {
        let t = Timestamp(value: 1001, timeBase: Rational(1, 30000))
        XCTAssertEqual(t.seconds, 1001.0 / 30000.0, accuracy: 1e-12)
        XCTAssertEqual(Timestamp(seconds: 0.5, timeBase: Rational(1, 1000)).value, 500)
    }

    func testPixelBufferPoolRecycles() {
        let pool = PixelBufferPool(width: 4, height: 2, format: .rgb24, capacity: 2)
        let a = pool.get()
        XCTAssertEqual(a.byteCount, 24)
        let addr = a.data
        a.recycle()
        let b = pool.get()
        XCTAssertEqual(b.data, addr)
    }
}
