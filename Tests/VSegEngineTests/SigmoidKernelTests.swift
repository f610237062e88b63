import CKernels
import XCTest
@testable import VSegEngine

/// The C Sigmoid (f32_activation.c) must give exactly the Swift SigmoidFn's bits:
/// FP32 outputs must not depend on which path ran.
final class SigmoidKernelTests: XCTestCase {
    func testCSigmoidMatchesSwiftBitForBit() {
        var rng = SeededRandom(seed: 0x51C)
        var x = rng.floats(10_007, -30, 30)
        x += [0, -0, 1e-8, -1e-8, 87.3, -87.3, 88.3, -88.3, 100, -100, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
              .infinity, -.infinity, 0.5, -0.5, 15.9, -15.9]
        for n in [0, 1, 15, 16, 17, 1000, x.count] {
            let src = Array(x.prefix(n))
            var want = [Float](repeating: 0, count: n), got = [Float](repeating: 0, count: n)
            src.withUnsafeBufferPointer { s in
                want.withUnsafeMutableBufferPointer { w in if n > 0 { mapFloats(SigmoidFn(), s.baseAddress!, w.baseAddress!, n) } }
                got.withUnsafeMutableBufferPointer { g in vseg_f32_sigmoid(s.baseAddress, g.baseAddress, n) }
            }
            XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), "n \(n)")
            // In place, as the fused post-op runs it.
            var inPlace = src
            inPlace.withUnsafeMutableBufferPointer { b in vseg_f32_sigmoid(b.baseAddress, b.baseAddress, n) }
            XCTAssertEqual(inPlace.map(\.bitPattern), want.map(\.bitPattern), "in place, n \(n)")
        }
    }
}
