import XCTest
@testable import VSegEngine
import VSegCore

/// INT8 binary ops, activations (lookup tables) and PRelu against their twins and FP32.
final class Int8OpElementwiseTests: XCTestCase {
    /// Channel counts around the 16-lane tile.
    let channels = [1, 3, 16, 17, 64, 65]

    func testBinarySameShapeEveryKind() throws {
        var seed: UInt64 = 100
        for kind in [BinaryKind.add, .sub, .mul, .max, .min] {
            for c in channels {
                seed += 1
                let shape = [1, 3, 5 + c % 4, c]
                try checkInt8Op(.binary(kind, activation: .none), [.activation(shape), .activation(shape)], seed: seed,
                                steps: kind == .mul ? 3 : 2, "\(shape)")
            }
        }
    }

    func testBinaryBroadcasts() throws {
        var seed: UInt64 = 200
        let cases: [([Int], [Int])] = [
            ([1, 4, 5, 16], [1, 1, 1, 16]),   // squeeze-excite Mul: per-channel operand
            ([1, 3, 7, 17], [1, 1, 1, 17]),
            ([1, 3, 7, 65], [1, 1, 1, 65]),
            ([1, 4, 6, 8], [1, 1, 1, 1]),     // scalar operand
            ([1, 1, 1, 33], [1, 5, 3, 33]),   // input 0 is the broadcast one
            ([1, 4, 1, 3], [1, 1, 6, 3]),     // general: both broadcast
            ([1, 5, 3, 17], [1, 5, 1, 17]),   // broadcast over W only
            ([2, 3, 4, 5], [1, 3, 1, 1]),     // batch and H
        ]
        for kind in [BinaryKind.add, .sub, .mul, .max, .min] {
            for (a, b) in cases {
                seed += 1
                try checkInt8Op(.binary(kind, activation: .none), [.activation(a), .activation(b)], seed: seed,
                                steps: kind == .mul ? 3 : 2, "\(a) x \(b)")
            }
        }
    }

    func testBinaryFloatConstantOperand() throws {
        var seed: UInt64 = 300
        var rng = SplitMix64(seed: 301)
        func values(_ n: Int) -> [Float] { (0 ..< n).map { _ in Float(rng.int(-2000 ... 2000)) / 1000 } }
        for kind in [BinaryKind.add, .sub, .mul, .max, .min] {
            for (x, k) in [([1, 4, 5, 17], [17]), ([1, 3, 3, 64], [1, 1, 1, 64]), ([1, 2, 9, 3], [1]), ([1, 3, 4, 5], [1, 3, 4, 5])] {
                seed += 1
                let n = k.reduce(1, *)
                try checkInt8Op(.binary(kind, activation: .none), [.activation(x), .constant(k, values(n))], seed: seed,
                                steps: 2, "\(x) x const \(k)")
            }
        }
    }

    func testBinaryFusedClampAndExtremeParameters() throws {
        var seed: UInt64 = 400
        let shape = [1, 5, 6, 17]
        for act in [Activation.relu, .relu6, .reluN1To1, .clip(min: -0.25, max: 0.5)] {
            for kind in [BinaryKind.add, .mul] {
                seed += 1
                // Mul: input rounding errors scale with the other operand (|a| sb/2 + |b| sa/2).
                try checkInt8Op(.binary(kind, activation: act), [.activation(shape), .activation([1, 1, 1, 17])], seed: seed,
                                steps: kind == .mul ? 5 : 2, "\(act.name)")
            }
        }
        // Inputs with zero point 0 (ReLU before) and 255 (all values <= 0).
        seed += 1
        try checkInt8Op(.binary(.add, activation: .none),
                        [.clamped(shape, .relu), .clamped(shape, .clip(min: -3, max: 0))], seed: seed)
        // Tiny and huge output scales, zero points at both ends (saturation is compared to clamped FP32).
        for q in [ActivationQuant(scale: 1e-4, zeroPoint: 0), ActivationQuant(scale: 1e-4, zeroPoint: 255),
                  ActivationQuant(scale: 50, zeroPoint: 3), ActivationQuant(scale: 0.02, zeroPoint: 250)] {
            seed += 1
            try checkInt8Op(.binary(.sub, activation: .none), [.activation(shape), .activation(shape)], seed: seed,
                            outputQuant: q, "out \(q)")
        }
    }

    func testUnaryEveryActivation() throws {
        var seed: UInt64 = 500
        let acts: [Activation] = [.sigmoid, .tanh, .hardSwish, .hardSigmoid(alpha: 0.2, beta: 0.5), .leakyRelu(alpha: 0.1),
                                  .relu, .relu6, .reluN1To1, .clip(min: -0.5, max: 1.5), .none]
        for act in acts {
            for c in [3, 17, 64] {
                seed += 1
                try checkInt8Op(.unary(act), [.activation([1, 7, 9, c])], seed: seed, "\(act.name) C \(c)")
            }
        }
        // Extreme output parameters.
        try checkInt8Op(.unary(.sigmoid), [.activation([1, 5, 5, 16])], seed: 599,
                        outputQuant: ActivationQuant(scale: 1e-3, zeroPoint: 0))
    }

    func testPReluPerChannelAndScalar() throws {
        var seed: UInt64 = 600
        var rng = SplitMix64(seed: 601)
        for c in channels {
            seed += 1
            let slope = (0 ..< c).map { _ in Float(rng.int(-500 ... 1500)) / 1000 }
            try checkInt8Op(.prelu, [.activation([1, 4, 5, c]), .constant([1, 1, c], slope)], seed: seed, "C \(c)")
        }
        try checkInt8Op(.prelu, [.activation([1, 6, 5, 16]), .constant([1], [0.25])], seed: 690)
        // A slope over H (not per channel) is not a table per channel: stays FP32.
        try checkInt8Op(.prelu, [.activation([1, 3, 5, 4]), .constant([3, 1, 1], [0.1, 0.2, 0.3])], seed: 691, expectInt8: false)
    }

    /// Big enough that the fast paths split the work over two threads.
    func testLargeShapesSplitAcrossThreads() throws {
        try checkInt8Op(.binary(.add, activation: .relu), [.activation([1, 48, 64, 17]), .activation([1, 48, 64, 17])], seed: 700)
        try checkInt8Op(.binary(.mul, activation: .none), [.activation([1, 40, 48, 33]), .activation([1, 1, 1, 33])], seed: 701,
                        steps: 3)
        try checkInt8Op(.binary(.max, activation: .none), [.activation([1, 64, 48, 16]), .constant([1], [0.3])], seed: 702)
        try checkInt8Op(.unary(.hardSwish), [.activation([1, 64, 64, 33])], seed: 703)
        var rng = SplitMix64(seed: 704)
        try checkInt8Op(.prelu, [.activation([1, 48, 40, 24]), .constant([24], (0 ..< 24).map { _ in Float(rng.int(0 ... 100)) / 100 })],
                        seed: 705)
    }
}
