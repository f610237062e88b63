import XCTest
@testable import VSegEngine
import VSegCore

/// INT8 pooling, ReduceMean and Resize against their twins and FP32.
final class Int8OpSpatialTests: XCTestCase {
    func testPoolingGeometries() throws {
        var seed: UInt64 = 1000
        typealias P = (k: (Int, Int), s: (Int, Int), d: (Int, Int), pad: Padding, include: Bool, ceil: Bool)
        let geometries: [P] = [
            ((3, 3), (2, 2), (1, 1), .same, false, false),
            ((2, 2), (2, 2), (1, 1), .valid, false, false),
            ((3, 3), (1, 1), (1, 1), .explicit(top: 1, left: 1, bottom: 1, right: 1), true, false),
            ((3, 3), (1, 1), (1, 1), .explicit(top: 1, left: 1, bottom: 1, right: 1), false, false),
            ((3, 2), (2, 2), (1, 1), .explicit(top: 0, left: 1, bottom: 0, right: 0), false, true),
            ((3, 3), (2, 2), (1, 1), .valid, true, true),
            ((2, 3), (1, 2), (2, 2), .sameLower, false, false),
        ]
        for kind in [PoolAttrs.Kind.average, .max] {
            for g in geometries {
                for c in [1, 16, 17] {
                    seed += 1
                    let a = PoolAttrs(kind: kind, kernel: g.k, stride: g.s, dilation: g.d, padding: g.pad,
                                      countIncludePad: g.include, ceilMode: g.ceil)
                    try checkInt8Op(.pool(a), [.activation([1, 7, 9, c])], seed: seed, "\(g) C \(c)")
                }
            }
        }
    }

    func testPoolingGlobalAndFusedClamp() throws {
        for (i, kind) in [PoolAttrs.Kind.average, .max].enumerated() {
            let global = PoolAttrs(kind: kind, kernel: (6, 7), stride: (1, 1), padding: .valid)
            try checkInt8Op(.pool(global), [.activation([2, 6, 7, 65])], seed: 1100 + UInt64(i), "global")
            for act in [Activation.relu, .relu6, .clip(min: -0.5, max: 0.5)] {
                let a = PoolAttrs(kind: kind, kernel: (3, 3), stride: (2, 2), padding: .same, activation: act)
                try checkInt8Op(.pool(a), [.activation([1, 9, 8, 17])], seed: 1110 + UInt64(i), "\(act.name)")
            }
            // Input zero point 0 and 255.
            let a = PoolAttrs(kind: kind, kernel: (2, 2), stride: (2, 2), padding: .valid)
            try checkInt8Op(.pool(a), [.clamped([1, 6, 6, 16], .relu)], seed: 1120 + UInt64(i))
            try checkInt8Op(.pool(a), [.clamped([1, 6, 6, 16], .clip(min: -4, max: 0))], seed: 1130 + UInt64(i))
        }
        // A non-clamp activation on a pool stays FP32.
        let sig = PoolAttrs(kind: .average, kernel: (2, 2), stride: (2, 2), padding: .valid, activation: .sigmoid)
        try checkInt8Op(.pool(sig), [.activation([1, 4, 4, 3])], seed: 1140, expectInt8: false)
    }

    func testReduceMean() throws {
        var seed: UInt64 = 1200
        for (axes, keep) in [([1, 2], true), ([1, 2], false), ([-3, -2], true), ([3], true), ([2, 3], false), ([0, 1, 2, 3], false)] {
            for shape in [[1, 7, 9, 17], [2, 5, 3, 64], [1, 1, 1, 3]] {
                seed += 1
                try checkInt8Op(.reduce(.mean, axes: axes, keepDims: keep), [.activation(shape)], seed: seed, "\(axes) \(shape)")
            }
        }
        // Large channel count with one batch: split over channels.
        try checkInt8Op(.reduce(.mean, axes: [1, 2], keepDims: true), [.activation([1, 40, 40, 96])], seed: 1290)
        try checkInt8Op(.reduce(.mean, axes: [1, 2], keepDims: true), [.activation([1, 9, 9, 16])], seed: 1291,
                        outputQuant: ActivationQuant(scale: 1e-3, zeroPoint: 200))
        // Non-contiguous axes and other reductions stay FP32.
        try checkInt8Op(.reduce(.mean, axes: [1, 3], keepDims: true), [.activation([1, 4, 5, 6])], seed: 1292, expectInt8: false)
        try checkInt8Op(.reduce(.max, axes: [1, 2], keepDims: true), [.activation([1, 4, 5, 6])], seed: 1293, expectInt8: false)
    }

    func testResizeEveryTransformAndRounding() throws {
        var seed: UInt64 = 1300
        let transforms: [ResizeAttrs.CoordinateTransform] = [.asymmetric, .halfPixel, .pytorchHalfPixel, .alignCorners, .tfHalfPixelForNN]
        let sizes: [(Int, Int)] = [(10, 14), (8, 11), (4, 5), (1, 3)]
        for t in transforms {
            for (oh, ow) in sizes {
                seed += 1
                let lin = ResizeAttrs(mode: .linear, coordinate: t, outputSize: (oh, ow))
                try checkInt8Op(.resize(lin), [.activation([1, 5, 7, 17])], seed: seed, "linear \(t) \(oh)x\(ow)")
                for r in [ResizeAttrs.NearestRounding.roundPreferFloor, .roundPreferCeil, .floor, .ceil] {
                    let near = ResizeAttrs(mode: .nearest, coordinate: t, nearest: r, outputSize: (oh, ow))
                    try checkInt8Op(.resize(near), [.activation([1, 5, 7, 3])], seed: seed, "nearest \(t) \(r) \(oh)x\(ow)")
                }
            }
        }
    }

    func testResizeSizesAndScalesInputs() throws {
        // Scales attribute, a sizes input and a scales input.
        let bySc = ResizeAttrs(mode: .linear, coordinate: .halfPixel, scales: (2, 2))
        try checkInt8Op(.resize(bySc), [.activation([2, 6, 5, 64])], seed: 1400)
        let plain = ResizeAttrs(mode: .nearest, coordinate: .asymmetric, nearest: .floor)
        try checkInt8Op(.resize(plain), [.activation([1, 4, 6, 16]), .ints([2], [9, 13])], seed: 1401)
        try checkInt8Op(.resize(ResizeAttrs(mode: .linear, coordinate: .alignCorners)),
                        [.activation([1, 4, 6, 16]), .absent, .constant([4], [1, 2.5, 1.5, 1])], seed: 1402)
        // Input zero point 0 (bilinear keeps the input's parameters).
        try checkInt8Op(.resize(bySc), [.clamped([1, 5, 5, 16], .relu6)], seed: 1403)
    }

    /// Big enough that the fast paths split the work over two threads.
    func testLargeShapesSplitAcrossThreads() throws {
        for kind in [PoolAttrs.Kind.average, .max] {
            let a = PoolAttrs(kind: kind, kernel: (3, 3), stride: (1, 1), padding: .same)
            try checkInt8Op(.pool(a), [.activation([1, 32, 33, 16])], seed: 1500)
        }
        try checkInt8Op(.reduce(.mean, axes: [1, 2], keepDims: false), [.activation([4, 20, 20, 64])], seed: 1501)
        try checkInt8Op(.resize(ResizeAttrs(mode: .linear, coordinate: .halfPixel, outputSize: (48, 64))),
                        [.activation([1, 24, 32, 17])], seed: 1502)
        try checkInt8Op(.resize(ResizeAttrs(mode: .nearest, coordinate: .asymmetric, nearest: .floor, outputSize: (48, 64))),
                        [.activation([1, 24, 32, 17])], seed: 1503)
    }
}
