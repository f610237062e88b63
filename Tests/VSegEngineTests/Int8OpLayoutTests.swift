import XCTest
@testable import VSegEngine
import VSegCore

/// INT8 Pad, Concat, DepthToSpace and Transpose against their twins and FP32.
final class Int8OpLayoutTests: XCTestCase {
    func testPadModes() throws {
        var seed: UInt64 = 2000
        let pads: [[Int64]] = [
            [0, 0, 1, 2, 3, 1, 0, 0],      // H, W
            [0, 0, 0, 0, 2, 0, 1, 3],      // W, C
            [1, 0, 1, 1, 1, 1, 0, 0],      // N too
        ]
        for mode in [PadMode.constant, .reflect, .edge] {
            for p in pads {
                for c in [5, 16] {
                    seed += 1
                    var inputs: [Int8OpInput] = [.activation([2, 5, 6, c]), .ints([8], p)]
                    if mode == .constant { inputs.append(.constant([1], [0.7])) }
                    try checkInt8Op(.pad(mode), inputs, seed: seed, "\(mode) \(p) C \(c)")
                }
            }
        }
        // Crop, the default value, and a pad value outside the input range (quantized, clamped).
        try checkInt8Op(.pad(.constant), [.activation([1, 6, 6, 8]), .ints([8], [0, 0, -1, 2, 1, -2, 0, 0])], seed: 2100)
        try checkInt8Op(.pad(.constant), [.activation([1, 4, 4, 8]), .ints([8], [0, 0, 1, 1, 1, 1, 0, 0]), .constant([1], [1000])],
                        seed: 2101)
        try checkInt8Op(.pad(.constant), [.clamped([1, 4, 4, 8], .relu), .ints([8], [0, 0, 1, 1, 1, 1, 0, 0]), .constant([1], [-5])],
                        seed: 2102)
    }

    func testConcatAxesAndParameters() throws {
        var seed: UInt64 = 2200
        try checkInt8Op(.concat(axis: 3), [.activation([1, 4, 5, 3]), .activation([1, 4, 5, 16]), .activation([1, 4, 5, 17])],
                        seed: seed)
        for axis in [0, 1, 2, -1] {
            seed += 1
            try checkInt8Op(.concat(axis: axis), [.activation([1, 3, 5, 16]), .activation([1, 3, 5, 16])], seed: seed, "axis \(axis)")
        }
        // Equal parameters everywhere (plain copies), and one input equal to the output.
        let q = ActivationQuant(min: -40, max: 40)
        try checkInt8Op(.concat(axis: 3), [.activation([1, 4, 4, 16]), .activation([1, 4, 4, 8])], seed: 2210,
                        overrides: ["conv0": q, "conv1": q, "out": q])
        try checkInt8Op(.concat(axis: 2), [.activation([1, 4, 4, 16]), .activation([1, 4, 3, 16])], seed: 2211,
                        overrides: ["conv0": q, "out": q])
        // A float constant input keeps the node FP32.
        try checkInt8Op(.concat(axis: 3), [.activation([1, 2, 2, 2]), .constant([1, 2, 2, 1], [1, 2, 3, 4])], seed: 2212,
                        expectInt8: false)
    }

    func testDepthToSpace() throws {
        var seed: UInt64 = 2300
        for dcr in [true, false] {
            for (b, c) in [(2, 4), (2, 12), (2, 64), (2, 68), (3, 18)] {
                seed += 1
                try checkInt8Op(.depthToSpace(blockSize: b, dcr: dcr), [.activation([1, 3, 5, c])], seed: seed, "b \(b) C \(c) dcr \(dcr)")
            }
        }
    }

    func testTranspose() throws {
        var seed: UInt64 = 2400
        for perm in [[0, 2, 1, 3], [0, 3, 1, 2], [3, 1, 2, 0], [0, 1, 3, 2], [2, 0, 3, 1]] {
            for shape in [[1, 3, 5, 17], [2, 4, 3, 16]] {
                seed += 1
                try checkInt8Op(.transpose(perm: perm), [.activation(shape)], seed: seed, "\(perm) \(shape)")
            }
        }
    }

    /// Big enough that the fast paths split the work over two threads.
    func testLargeShapesSplitAcrossThreads() throws {
        try checkInt8Op(.pad(.constant), [.activation([1, 40, 40, 17]), .ints([8], [0, 0, 1, 2, 2, 1, 0, 0])], seed: 2500)
        try checkInt8Op(.concat(axis: 3), [.activation([1, 40, 40, 16]), .activation([1, 40, 40, 17])], seed: 2501)
        try checkInt8Op(.depthToSpace(blockSize: 2, dcr: false), [.activation([1, 24, 24, 64])], seed: 2502)
        try checkInt8Op(.transpose(perm: [0, 3, 1, 2]), [.activation([1, 32, 40, 16])], seed: 2503)
    }
}
