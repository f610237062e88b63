import XCTest
@testable import VSegEngine
import VSegCore

/// Fast path vs plain-loop twin for every op with a fast path, over seeded
/// random shapes smaller than, equal to and larger than the 16-lane SIMD width,
/// odd sizes and broadcast patterns. FP32 tolerance: 1e-5 relative to
/// max(1, max|reference|) unless stated (exp-based ops: 2e-6 absolute on
/// probabilities; conv: 1e-4 since the twin accumulates in Double).
final class OpEquivalenceTests: XCTestCase {
    let channelSizes = [1, 3, 15, 16, 17, 33]

    func testBinaryBroadcastPatterns() throws {
        var r = SeededRandom(seed: 1)
        let patterns: [([Int], [Int])] = [
            ([1, 5, 7, 16], [1, 5, 7, 16]), ([1, 5, 7, 17], [17]), ([1, 5, 7, 3], [1, 1, 1, 3]),
            ([1, 4, 6, 33], [1]), ([1], [2, 3, 5, 15]), ([1, 5, 7, 15], [1, 5, 7, 1]),
            ([2, 3, 1, 16], [1, 1, 9, 16]), ([31], [31]), ([1, 1, 1, 33], [1, 8, 8, 33]), ([3, 1, 5], [4, 1]),
        ]
        for kind in [BinaryKind.add, .sub, .mul, .div, .max, .min] {
            for (a, b) in patterns {
                let da = r.floats(a.reduce(1, *)), db = r.floats(b.reduce(1, *), 0.5, 2)
                for act in [Activation.none, .relu6, .hardSwish] {
                    try assertFastMatchesReference(.binary(kind, activation: act), [.activation(a, da), .activation(b, db)],
                                                   "\(kind) \(a) \(b) \(act)")
                }
            }
        }
        // constant operand (per-channel scale from a folded weight)
        try assertFastMatchesReference(.binary(.mul, activation: .none),
                                       [.activation([1, 9, 9, 17], r.floats(9 * 9 * 17)), .constant([17], .float32(r.floats(17)))])
    }

    func testBinaryIntegerShapeMath() throws {
        let out = try runSingleNode(.binary(.div, activation: .none),
                                    [.constant([3], .int64([7, -7, 256])), .constant([1], .int64([2]))], reference: false)
        // constant inputs fold at load; the result is integer division truncating toward zero
        XCTAssertEqual(out.values, [3, -3, 128])
    }

    func testUnaryActivations() throws {
        var r = SeededRandom(seed: 2)
        for act in [Activation.relu, .relu6, .reluN1To1, .clip(min: -0.5, max: 0.25), .leakyRelu(alpha: 0.1), .sigmoid, .tanh,
                    .hardSwish, .hardSigmoid(alpha: 0.2, beta: 0.5)] {
            for n in [1, 15, 16, 17, 100, 40000] {
                try assertFastMatchesReference(.unary(act), [.activation([n], r.floats(n, -12, 12))], tol: 2e-6, "\(act) n=\(n)")
            }
        }
        // sigmoid at extreme inputs stays finite and saturates
        let s = try runSingleNode(.unary(.sigmoid), [.activation([4], [-200, -90, 90, 200])], reference: false)
        XCTAssertEqual(s.values[0], 0, accuracy: 1e-30); XCTAssertEqual(s.values[3], 1, accuracy: 1e-6)
    }

    func testPReluBroadcast() throws {
        var r = SeededRandom(seed: 3)
        for c in channelSizes {
            try assertFastMatchesReference(.prelu, [.activation([1, 5, 6, c], r.floats(30 * c)), .constant([c], .float32(r.floats(c)))])
            try assertFastMatchesReference(.prelu, [.activation([1, 5, 6, c], r.floats(30 * c)), .constant([1], .float32([0.2]))])
        }
    }

    func testPooling() throws {
        var r = SeededRandom(seed: 4)
        for c in channelSizes {
            for (k, s, pad) in [(2, 2, Padding.valid), (3, 2, .same), (3, 1, .same), (3, 2, .explicit(top: 1, left: 0, bottom: 1, right: 1)),
                                (5, 3, .sameLower)] {
                for kind in [PoolAttrs.Kind.average, .max] {
                    for include in [false, true] {
                        let a = PoolAttrs(kind: kind, kernel: (k, k), stride: (s, s), padding: pad, countIncludePad: include,
                                          ceilMode: include, activation: include ? .relu : .none)
                        try assertFastMatchesReference(.pool(a), [.activation([1, 9, 11, c], r.floats(99 * c))], "\(kind) k\(k) s\(s) c\(c)")
                    }
                }
            }
        }
    }

    func testReduce() throws {
        var r = SeededRandom(seed: 5)
        for c in channelSizes {
            let x = r.floats(2 * 7 * 5 * c)
            for kind in [ReduceKind.mean, .max, .sum] {
                for (axes, keep) in [([1, 2], true), ([1, 2], false), ([3], true), ([0, 1, 2, 3], false), ([-1], false), ([1, 3], true)] {
                    try assertFastMatchesReference(.reduce(kind, axes: axes, keepDims: keep), [.activation([2, 7, 5, c], x)], "\(kind) \(axes)")
                }
            }
        }
    }

    func testResizeAllModes() throws {
        var r = SeededRandom(seed: 6)
        let coords: [ResizeAttrs.CoordinateTransform] = [.asymmetric, .halfPixel, .pytorchHalfPixel, .alignCorners, .tfHalfPixelForNN]
        for c in [1, 3, 16, 17] {
            let x = r.floats(5 * 7 * c)
            for coord in coords {
                for (oh, ow) in [(10, 14), (3, 4), (1, 9), (16, 16)] {
                    try assertFastMatchesReference(.resize(ResizeAttrs(mode: .linear, coordinate: coord, outputSize: (oh, ow))),
                                                   [.activation([1, 5, 7, c], x)], "linear \(coord) \(oh)x\(ow)")
                    for rounding in [ResizeAttrs.NearestRounding.roundPreferFloor, .roundPreferCeil, .floor, .ceil] {
                        try assertFastMatchesReference(.resize(ResizeAttrs(mode: .nearest, coordinate: coord, nearest: rounding, outputSize: (oh, ow))),
                                                       [.activation([1, 5, 7, c], x)], "nearest \(coord) \(rounding)")
                    }
                }
            }
        }
    }

    func testPadConcatTransposeDepthToSpaceSlice() throws {
        var r = SeededRandom(seed: 7)
        for c in channelSizes {
            let x = r.floats(2 * 4 * 5 * c)
            for mode in [PadMode.constant, .reflect, .edge] {
                try assertFastMatchesReference(.pad(mode), [.activation([2, 4, 5, c], x),
                                                            .constant([4, 2], .int32([0, 0, 1, 2, 3, 1, 0, c > 1 ? 1 : 0])),
                                                            .constant([], .float32([0.5]))], "\(mode)")
            }
            try assertFastMatchesReference(.pad(.constant), [.activation([2, 4, 5, c], x), .constant([4, 2], .int64([0, 0, -1, 1, 2, -2, 0, 3]))])
            // Unpadded trailing axes are folded into the padded axis before them (crop, pad, down to rank 1).
            for p in [[0, 0, -1, 2, 1, -2, 0, 0], [0, 0, 0, 0, 2, 1, 0, 0], [1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]] {
                try assertFastMatchesReference(.pad(.constant), [.activation([2, 4, 5, c], x), .constant([4, 2], .int32(p.map(Int32.init))),
                                                                 .constant([], .float32([-1.5]))], "pads \(p)")
            }
            try assertFastMatchesReference(.concat(axis: 3), [.activation([2, 4, 5, c], x), .activation([2, 4, 5, 3], r.floats(120))])
            try assertFastMatchesReference(.concat(axis: 1), [.activation([2, 4, 5, c], x), .activation([2, 1, 5, c], r.floats(10 * c))])
            for perm in [[0, 3, 1, 2], [0, 2, 1, 3], [3, 2, 1, 0]] {
                try assertFastMatchesReference(.transpose(perm: perm), [.activation([2, 4, 5, c], x)], "\(perm)")
            }
            try assertFastMatchesReference(.slice, [.activation([2, 4, 5, c], x), .constant([2], .int64([1, -1])), .constant([2], .int64([3, 0])),
                                                    .constant([2], .int64([1, 2])), .constant([2], .int64([1, -2]))])
            try assertFastMatchesReference(.slice, [.activation([2, 4, 5, c], x), .constant([1], .int64([0])), .constant([1], .int64([Int64.max])),
                                                    .constant([1], .int64([3])), .constant([1], .int64([1]))])
        }
        for b in [2, 3] {
            for cout in [1, 3, 16, 17] {
                let x = r.floats(3 * 4 * b * b * cout)
                for dcr in [true, false] {
                    try assertFastMatchesReference(.depthToSpace(blockSize: b, dcr: dcr), [.activation([1, 3, 4, b * b * cout], x)])
                }
            }
        }
    }

    func testSoftmaxArgMax() throws {
        var r = SeededRandom(seed: 8)
        for c in [1, 15, 16, 17, 21, 40] {
            let x = r.floats(3 * 5 * c, -20, 20)
            for axis in [-1, 1, 0] {
                try assertFastMatchesReference(.softmax(axis: axis), [.activation([3, 5, c], x)], tol: 2e-6, "axis \(axis) c\(c)")
                try assertFastMatchesReference(.argMax(axis: axis, keepDims: axis == 1, selectLastIndex: false), [.activation([3, 5, c], x)])
            }
        }
        // ties: first index vs last index
        let first = try runSingleNode(.argMax(axis: -1, keepDims: false, selectLastIndex: false), [.activation([1, 4], [1, 3, 3, 0])], reference: false)
        let last = try runSingleNode(.argMax(axis: -1, keepDims: false, selectLastIndex: true), [.activation([1, 4], [1, 3, 3, 0])], reference: false)
        XCTAssertEqual(first.values, [1]); XCTAssertEqual(last.values, [2])
    }

    func testConvOpsAgainstTwin() throws {
        var r = SeededRandom(seed: 9)
        for (cin, cout) in [(1, 1), (3, 16), (16, 17), (17, 33)] {
            for (k, s, d, pad) in [(1, 1, 1, Padding.valid), (3, 1, 1, .same), (3, 2, 1, .same), (3, 1, 2, .explicit(top: 2, left: 1, bottom: 0, right: 2)),
                                   (5, 2, 1, .sameLower)] {
                let x = r.floats(9 * 11 * cin)
                let attrs = ConvAttrs(kernel: (k, k), stride: (s, s), dilation: (d, d), padding: pad, activation: .relu6)
                try assertFastMatchesReference(.conv2D(attrs), [.activation([1, 9, 11, cin], x), .constant([cout, k, k, cin], .float32(r.floats(cout * k * k * cin))),
                                                                .constant([cout], .float32(r.floats(cout)))], tol: 1e-4, "conv \(cin)->\(cout) k\(k) s\(s)")
                var hs = attrs; hs.activation = .hardSwish
                try assertFastMatchesReference(.depthwiseConv2D(hs, multiplier: 1), [.activation([1, 9, 11, cin], x), .constant([1, k, k, cin], .float32(r.floats(k * k * cin))),
                                                                                    .absent], tol: 1e-4, "dw \(cin) k\(k)")
                try assertFastMatchesReference(.depthwiseConv2D(hs, multiplier: 2), [.activation([1, 9, 11, cin], x), .constant([1, k, k, 2 * cin], .float32(r.floats(2 * k * k * cin))),
                                                                                    .constant([2 * cin], .float32(r.floats(2 * cin)))], tol: 1e-4, "dw m2 \(cin) k\(k)")
            }
            for (k, s, pad, op) in [(2, 2, Padding.valid, (0, 0)), (4, 2, .same, (0, 0)), (3, 2, .explicit(top: 1, left: 1, bottom: 1, right: 1), (1, 1))] {
                let x = r.floats(5 * 6 * cin)
                let attrs = ConvAttrs(kernel: (k, k), stride: (s, s), padding: pad, activation: .relu)
                try assertFastMatchesReference(.transposeConv2D(attrs, outputPadding: (op.0, op.1)),
                                               [.activation([1, 5, 6, cin], x), .constant([cout, k, k, cin], .float32(r.floats(cout * k * k * cin))),
                                                .constant([cout], .float32(r.floats(cout)))], tol: 1e-4, "tconv \(cin)->\(cout) k\(k)")
            }
        }
        // ONNX-style depthwise expressed as a grouped conv (groups == Cin, one input channel per group)
        let gattrs = ConvAttrs(kernel: (3, 3), padding: .same, groups: 8)
        let x = r.floats(6 * 6 * 8), w = r.floats(16 * 9)
        let grouped = try runSingleNode(.conv2D(gattrs), [.activation([1, 6, 6, 8], x), .constant([16, 3, 3, 1], .float32(w)), .absent], reference: false)
        let twin = try runSingleNode(.conv2D(gattrs), [.activation([1, 6, 6, 8], x), .constant([16, 3, 3, 1], .float32(w)), .absent], reference: true)
        XCTAssertEqual(grouped.shape, [1, 6, 6, 16])
        for i in 0 ..< grouped.values.count { XCTAssertEqual(grouped.values[i], twin.values[i], accuracy: 1e-4) }
        // 1 < groups < Cin: reference path inside the kernels module, still must match
        try assertFastMatchesReference(.conv2D(ConvAttrs(kernel: (3, 3), padding: .same, groups: 2)),
                                       [.activation([1, 6, 6, 8], x), .constant([6, 3, 3, 4], .float32(r.floats(6 * 36))), .absent], tol: 1e-4)
    }

    func testGatherCastDequantize() throws {
        var r = SeededRandom(seed: 10)
        let x = r.floats(4 * 5 * 3)
        let g = try assertFastMatchesReference(.gather(axis: 1), [.activation([4, 5, 3], x), .constant([2, 2], .int64([4, 0, -1, 2]))])
        XCTAssertEqual(g, [4, 2, 2, 3])
        let h = (0 ..< 37).map { Float16(Float($0) * 0.25 - 4).bitPattern }
        let dq = try runSingleNode(.dequantize, [.constant([37], .float16(h))], reference: false)
        XCTAssertEqual(dq.values, (0 ..< 37).map { Float($0) * 0.25 - 4 })
        let c = try runSingleNode(.cast(to: .int32), [.activation([4], [1.7, -1.7, 3.0, -0.2])], reference: false)
        XCTAssertEqual(c.values, [1, -1, 3, 0])
    }
}
