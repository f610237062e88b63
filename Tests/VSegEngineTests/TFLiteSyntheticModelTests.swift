import VSegCore
import VSegEngine
import XCTest

/// Hand-built TFLite flatbuffers exercising format features one at a time.
final class TFLiteSyntheticModelTests: XCTestCase {
    enum Code {
        static let add: Int32 = 0, concatenation: Int32 = 2, conv2D: Int32 = 3, dequantize: Int32 = 6
        static let fullyConnected: Int32 = 9, softmax: Int32 = 25, custom: Int32 = 32, mean: Int32 = 40
        static let resizeNearest: Int32 = 97, densify: Int32 = 124, stablehloCase: Int32 = 209
    }

    func tensor(_ g: Graph, _ name: String) throws -> TensorInfo {
        try XCTUnwrap(g.tensors.first { $0.name == name }, "no tensor \(name)")
    }

    // MARK: sparsity

    /// CSR on the last axis of a [3,1,1,4] conv weight, fp16 values:
    /// sparse -> DENSIFY -> DEQUANTIZE -> CONV_2D.
    func testSparseCSRDensifyThenDequantize() throws {
        let dense: [Float] = [0, 1.5, 0, -2, /* row 1 empty */ 0, 0, 0, 0, 3, 0, 0, 4]
        var m = TFLiteTestModel()
        let x = m.tensor("x", [1, 2, 2, 4])
        let sparsity = TFLFBNode.table([
            .ref(.ints([0, 1, 2, 3])), nil,
            .ref(.tables([
                .table([.i8(0), .i32(3)]), .table([.i8(0), .i32(1)]), .table([.i8(0), .i32(1)]),
                // segments as Uint8Vector (type 3), indices as Uint16Vector (type 2)
                .table([.i8(1), nil, .u8(3), .ref(.table([.ref(.bytes([0, 2, 2, 4]))])),
                        .u8(2), .ref(.table([.ref(.u16s([1, 3, 0, 3]))]))]),
            ])),
        ])
        let ws = m.tensor("w_sparse", [3, 1, 1, 4], type: 1, data: tflHalfBytes([1.5, -2, 3, 4]), sparsity: sparsity)
        let wh = m.tensor("w_half", [3, 1, 1, 4], type: 1)
        let w = m.tensor("w", [3, 1, 1, 4])
        let y = m.tensor("y", [1, 2, 2, 3])
        m.op(Code.densify, [ws], [wh])
        m.op(Code.dequantize, [wh], [w])
        m.op(Code.conv2D, [x, w, -1], [y], optionsType: 1, options: [.i8(1), .i32(1), .i32(1), .i8(0)])
        m.inputs = [x]; m.outputs = [y]
        let g = try TFLiteImporter.load(data: m.build(), path: "csr.tflite")
        XCTAssertEqual(g.nodes.count, 1)
        let conv = g.nodes[0]
        guard case .conv2D(let a) = conv.op else { return XCTFail("\(conv.op)") }
        XCTAssertEqual(a.padding, .valid)
        XCTAssertEqual(conv.inputs[2], -1)
        XCTAssertEqual(g.tensors[conv.inputs[1]].name, "w")
        XCTAssertEqual(g.tensors[conv.inputs[1]].data, .float32(dense))
        XCTAssertEqual(g.tensors[conv.inputs[1]].shape, [3, 1, 1, 4])
        XCTAssertEqual(g.metadata["folded_ops"], "DENSIFY x1, DEQUANTIZE x1")
        // The sparse and fp16 sources are no longer referenced, so they are dropped.
        XCTAssertEqual(g.tensors.map(\.name), ["x", "w", "y"])
    }

    /// 2x2 block sparsity on a [4,4] matrix (block_map [0,1], blocked levels
    /// dense/CSR, block levels dense): blocks (0,1) and (1,0) are present.
    func testBlockSparseDensify() throws {
        var m = TFLiteTestModel()
        let x = m.tensor("x", [4, 4])
        let sparsity = TFLFBNode.table([
            .ref(.ints([0, 1, 2, 3])), .ref(.ints([0, 1])),
            .ref(.tables([
                .table([.i8(0), .i32(2)]),
                .table([.i8(1), nil, .u8(1), .ref(.table([.ref(.ints([0, 1, 2]))])),
                        .u8(1), .ref(.table([.ref(.ints([1, 0]))]))]),
                .table([.i8(0), .i32(2)]), .table([.i8(0), .i32(2)]),
            ])),
        ])
        let ws = m.tensor("b_sparse", [4, 4], data: tflFloatBytes([1, 2, 3, 4, 5, 6, 7, 8]), sparsity: sparsity)
        let b = m.tensor("b", [4, 4])
        let y = m.tensor("y", [4, 4])
        m.op(Code.densify, [ws], [b])
        m.op(Code.add, [x, b], [y], optionsType: 11, options: [.i8(1)])
        m.inputs = [x]; m.outputs = [y]
        let g = try TFLiteImporter.load(data: m.build(), path: "block.tflite")
        XCTAssertEqual(try tensor(g, "b").data, .float32([
            0, 0, 1, 2,
            0, 0, 3, 4,
            5, 6, 0, 0,
            7, 8, 0, 0,
        ]))
        guard case .binary(.add, let act) = g.nodes[0].op else { return XCTFail() }
        XCTAssertEqual(act, .relu)
    }

    /// pose_detection's sparse weights match what LiteRT's reference
    /// interpreter holds after its DENSIFY + DEQUANTIZE (sum, |sum|, nonzeros,
    /// first and last nonzero), printed once with ai_edge_litert 2.3.
    func testPoseDetectionDensifyMatchesLiteRT() throws {
        _ = try TFLiteRealModels.bytes("pose_detection")
        let g = try TFLiteImporter.load(path: TFLiteRealModels.path("pose_detection"))
        let cases: [(String, [Int], Double, Double, Int, (Int, Float), (Int, Float))] = [
            ("model_1/model/conv2d_1/Conv2D_dequantize2", [16, 1, 1, 24], 14.220734, 65.421906, 96,
             (2, 0.5849609375), (380, 1.279296875)),
            ("model_1/model/conv2d_2/Conv2D_dequantize2", [64, 1, 1, 16], -15.281982, 110.208069, 256,
             (0, 0.2783203125), (1023, -0.4072265625)),
        ]
        for (name, shape, sum, absSum, nnz, first, last) in cases {
            let t = try tensor(g, name)
            XCTAssertEqual(t.shape, shape)
            guard case .float32(let v)? = t.data else { return XCTFail("\(name) not float32") }
            XCTAssertEqual(v.reduce(0.0) { $0 + Double($1) }, sum, accuracy: 1e-4)
            XCTAssertEqual(v.reduce(0.0) { $0 + Double(abs($1)) }, absSum, accuracy: 1e-4)
            let nz = v.indices.filter { v[$0] != 0 }
            XCTAssertEqual(nz.count, nnz)
            XCTAssertEqual(nz.first, first.0); XCTAssertEqual(v[first.0], first.1)
            XCTAssertEqual(nz.last, last.0); XCTAssertEqual(v[last.0], last.1)
        }
    }

    func testSparseIndexOutOfRangeThrows() throws {
        var m = TFLiteTestModel()
        let x = m.tensor("x", [2, 3])
        let sparsity = TFLFBNode.table([
            .ref(.ints([0, 1])), nil,
            .ref(.tables([
                .table([.i8(0), .i32(2)]),
                .table([.i8(1), nil, .u8(1), .ref(.table([.ref(.ints([0, 1, 2]))])),
                        .u8(1), .ref(.table([.ref(.ints([0, 7]))]))]),
            ])),
        ])
        let ws = m.tensor("s", [2, 3], data: tflFloatBytes([1, 2]), sparsity: sparsity)
        let d = m.tensor("d", [2, 3]), y = m.tensor("y", [2, 3])
        m.op(Code.densify, [ws], [d])
        m.op(Code.add, [x, d], [y])
        m.inputs = [x]; m.outputs = [y]
        XCTAssertThrowsError(try TFLiteImporter.load(data: m.build(), path: "bad.tflite")) { e in
            guard case EngineError.malformedModel(_, let detail)? = e as? EngineError else { return XCTFail("\(e)") }
            XCTAssertTrue(detail.contains("index 7"), detail)
        }
    }

    /// DEQUANTIZE folding widens every one of the 65536 float16 bit patterns
    /// exactly as Swift's Float16 -> Float conversion does.
    func testFloat16DequantizeFoldingIsExact() throws {
        let all = (0...UInt16.max).map { $0 }
        var m = TFLiteTestModel()
        let x = m.tensor("x", [65536])
        let h = m.tensor("h", [65536], type: 1, data: all.flatMap { tflLE($0) })
        let w = m.tensor("w", [65536]), y = m.tensor("y", [65536])
        m.op(Code.dequantize, [h], [w])
        m.op(Code.add, [x, w], [y])
        m.inputs = [x]; m.outputs = [y]
        let g = try TFLiteImporter.load(data: m.build(), path: "f16.tflite")
        guard case .float32(let f)? = try tensor(g, "w").data else { return XCTFail() }
        XCTAssertEqual(f.count, 65536)
        var mismatches = 0
        for (bits, v) in zip(all, f) {
            let ref = Float(Float16(bitPattern: bits))
            if ref.isNaN ? !v.isNaN : ref.bitPattern != v.bitPattern { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0)
    }

    // MARK: Convolution2DTransposeBias

    func transposeConvBiasModel(padding: Int32, strides: (Int32, Int32), input: [Int32], output: [Int32],
                                options: [UInt8]? = nil) -> [UInt8] {
        var m = TFLiteTestModel()
        let x = m.tensor("x", input)
        let w = m.tensor("w", [3, 3, 3, input[3]], data: tflFloatBytes(Array(repeating: 0.5, count: 27 * Int(input[3]))))
        let b = m.tensor("b", [3], data: tflFloatBytes([1, 2, 3]))
        let y = m.tensor("y", output)
        let opts = options ?? tflInt32Bytes([padding, strides.0, strides.1])
        m.op(Code.custom, [x, w, b], [y], custom: "Convolution2DTransposeBias", customOptions: opts)
        m.inputs = [x]; m.outputs = [y]
        return m.build()
    }

    /// MediaPipe SAME: P = max(0, k - (in-1) % s - 1) removed, P/2 at the top/left.
    /// H: in 5, k 3, s 2 -> P = 2, out 9; W: in 4 -> P = 1, out 8.
    func testConvolution2DTransposeBiasSame() throws {
        let g = try TFLiteImporter.load(
            data: transposeConvBiasModel(padding: 1, strides: (2, 2), input: [1, 5, 4, 2], output: [1, 9, 8, 3]),
            path: "tcb.tflite")
        guard case .transposeConv2D(let a, let extra) = g.nodes[0].op else { return XCTFail() }
        XCTAssertEqual(a.padding, .explicit(top: 1, left: 0, bottom: 1, right: 1))
        XCTAssertEqual(a.stride.h, 2); XCTAssertEqual(a.stride.w, 2)
        XCTAssertEqual(a.kernel.h, 3); XCTAssertEqual(a.kernel.w, 3)
        XCTAssertEqual(extra.h, 0); XCTAssertEqual(extra.w, 0)
        XCTAssertEqual(g.nodes[0].inputs.map { g.tensors[$0].name }, ["x", "w", "b"])
    }

    /// VALID keeps the full (in-1)*s + k output; stride_w and stride_h are read in that order.
    func testConvolution2DTransposeBiasValid() throws {
        let g = try TFLiteImporter.load(
            data: transposeConvBiasModel(padding: 2, strides: (3, 2), input: [1, 5, 4, 2], output: [1, 11, 12, 3]),
            path: "tcb.tflite")
        guard case .transposeConv2D(let a, _) = g.nodes[0].op else { return XCTFail() }
        XCTAssertEqual(a.padding, .explicit(top: 0, left: 0, bottom: 0, right: 0))
        XCTAssertEqual(a.stride.h, 2); XCTAssertEqual(a.stride.w, 3)
    }

    func testConvolution2DTransposeBiasBadOptions() {
        let cases: [([UInt8]?, [Int32])] = [
            ([1, 0, 0, 0, 2, 0], [1, 10, 8, 3]),                    // too short
            (tflInt32Bytes([7, 2, 2]), [1, 10, 8, 3]),                 // unknown padding
            (tflInt32Bytes([1, 0, 2]), [1, 10, 8, 3]),                 // zero stride
            (tflInt32Bytes([1, 2, 2]), [1, 10, 8, 3]),                 // output shape disagrees (9x8)
        ]
        for (opts, out) in cases {
            let data = transposeConvBiasModel(padding: 1, strides: (2, 2), input: [1, 5, 4, 2], output: out, options: opts)
            XCTAssertThrowsError(try TFLiteImporter.load(data: data, path: "tcb.tflite")) { e in
                guard case EngineError.invalidOp(let node, _)? = e as? EngineError else { return XCTFail("\(e)") }
                XCTAssertEqual(node, "convolution2dtransposebias_0")
            }
        }
    }

    // MARK: quantization, dynamic shapes, metadata

    func testQuantizedTensorsLoad() throws {
        var m = TFLiteTestModel()
        let q = { (s: [Float], z: [Int64], axis: Int32) in
            TFLFBNode.table([nil, nil, .ref(.floats(s)), .ref(.longs(z)), nil, nil, .i32(axis)])
        }
        let x = m.tensor("x", [1, 4, 4, 3], type: 9, quant: q([0.5], [-3], 0))
        let w = m.tensor("w", [2, 1, 1, 3], type: 9, data: [1, 2, 3, 0xff, 0xfe, 0xfd],
                         quant: q([0.25, 0.125], [0, 0], 0))
        let b = m.tensor("b", [2], type: 2, data: tflInt32Bytes([10, -10]), quant: q([0.125, 0.0625], [0, 0], 0))
        let y = m.tensor("y", [1, 4, 4, 2], type: 9, quant: q([0.1], [5], 0))
        m.op(Code.conv2D, [x, w, b], [y], optionsType: 1, options: [.i8(0), .i32(1), .i32(1), .i8(3)])
        m.inputs = [x]; m.outputs = [y]
        let g = try TFLiteImporter.load(data: m.build(), path: "int8.tflite")
        XCTAssertEqual(try tensor(g, "x").dtype, .int8)
        XCTAssertEqual(try tensor(g, "x").quant, QuantParams(scale: [0.5], zeroPoint: [-3], axis: 0))
        XCTAssertEqual(try tensor(g, "w").quant, QuantParams(scale: [0.25, 0.125], zeroPoint: [0, 0], axis: 0))
        XCTAssertEqual(try tensor(g, "w").data, .int8([1, 2, 3, -1, -2, -3]))
        XCTAssertEqual(try tensor(g, "b").data, .int32([10, -10]))
        XCTAssertEqual(try tensor(g, "y").quant?.zeroPoint, [5])
        guard case .conv2D(let a) = g.nodes[0].op else { return XCTFail() }
        XCTAssertEqual(a.activation, .relu6)
        XCTAssertEqual(a.padding, .same)
    }

    func testQuantizationScaleZeroPointMismatchIsMalformed() {
        var m = TFLiteTestModel()
        let x = m.tensor("x", [1, 3], type: 9, quant: .table([nil, nil, .ref(.floats([0.5, 0.25])), .ref(.longs([0])), nil, nil, .i32(1)]))
        m.inputs = [x]; m.outputs = [x]
        XCTAssertThrowsError(try TFLiteImporter.load(data: m.build(), path: "q.tflite")) { e in
            guard case EngineError.malformedModel? = e as? EngineError else { return XCTFail("\(e)") }
        }
    }

    func testShapeSignatureMarksDynamicDims() throws {
        var m = TFLiteTestModel()
        let x = m.tensor("x", [1, 1, 1, 3], signature: [1, -1, -1, 3])
        let axes = m.tensor("axes", [2], type: 2, data: tflInt32Bytes([-3, 2]))
        let y = m.tensor("y", [1, 1, 1, 3], signature: [1, 1, 1, 3])
        m.op(Code.mean, [x, axes], [y], optionsType: 27, options: [.bool(true)])
        m.inputs = [x]; m.outputs = [y]
        m.metadata = [("min_runtime_version", Array("1.14.0".utf8) + [0, 0, 0])]
        let g = try TFLiteImporter.load(data: m.build(), path: "dyn.tflite")
        XCTAssertEqual(g.tensors[g.inputs[0].tensor].shape, [1, -1, -1, 3])
        guard case .reduce(.mean, let ax, let keep) = g.nodes[0].op else { return XCTFail() }
        XCTAssertEqual(ax, [1, 2]); XCTAssertTrue(keep)
        XCTAssertEqual(g.metadata["min_runtime_version"], "1.14.0")
        XCTAssertEqual(g.metadata["description"], "vseg test model")
    }

    func testSoftmaxBetaAndConcatActivation() throws {
        var m = TFLiteTestModel()
        let a = m.tensor("a", [1, 2, 2, 3]), b = m.tensor("b", [1, 2, 2, 5])
        let c = m.tensor("c", [1, 2, 2, 8]), y = m.tensor("y", [1, 2, 2, 8])
        m.op(Code.concatenation, [a, b], [c], optionsType: 10, options: [.i32(-1), .i8(3)])
        m.op(Code.softmax, [c], [y], optionsType: 9, options: [.f32(2)])
        m.inputs = [a, b]; m.outputs = [y]
        let g = try TFLiteImporter.load(data: m.build(), path: "s.tflite")
        XCTAssertEqual(g.nodes.map(\.op.name), ["Concat", "Relu6", "Mul", "Softmax"])
        guard case .concat(let axis) = g.nodes[0].op, case .softmax(let sAxis) = g.nodes[3].op else { return XCTFail() }
        XCTAssertEqual(axis, 3); XCTAssertEqual(sAxis, 3)
        XCTAssertEqual(g.nodes[1].outputs, g.nodes[2].inputs.prefix(1).map { $0 })
        XCTAssertEqual(g.tensors[g.nodes[2].inputs[1]].data, .float32([2]))
        XCTAssertEqual(g.tensors[g.nodes[3].outputs[0]].name, "y")
    }

    func testResizeNearestModes() throws {
        for (align, half, coord, rounding) in [
            (false, false, ResizeAttrs.CoordinateTransform.asymmetric, ResizeAttrs.NearestRounding.floor),
            (true, false, .alignCorners, .roundPreferCeil), (false, true, .tfHalfPixelForNN, .floor),
        ] {
            var m = TFLiteTestModel()
            let x = m.tensor("x", [1, 4, 4, 1]), size = m.tensor("size", [2], type: 2, data: tflInt32Bytes([8, 6]))
            let y = m.tensor("y", [1, 8, 6, 1])
            m.op(Code.resizeNearest, [x, size], [y], optionsType: 74, options: [.bool(align), .bool(half)])
            m.inputs = [x]; m.outputs = [y]
            let g = try TFLiteImporter.load(data: m.build(), path: "r.tflite")
            guard case .resize(let r) = g.nodes[0].op else { return XCTFail() }
            XCTAssertEqual(r, ResizeAttrs(mode: .nearest, coordinate: coord, nearest: rounding, outputSize: (8, 6)))
            XCTAssertEqual(g.nodes[0].inputs.count, 1)
        }
    }

    // MARK: unsupported ops

    func unsupportedModel() -> [UInt8] {
        var m = TFLiteTestModel()
        let x = m.tensor("x", [1, 4]), w = m.tensor("w", [2, 4], data: tflFloatBytes(Array(repeating: 1, count: 8)))
        let h = m.tensor("h", [1, 2]), y = m.tensor("y", [1, 2]), z = m.tensor("z", [1, 2])
        let xx = m.tensor("xx", [1, 4])
        m.op(Code.add, [x, x], [xx])
        m.op(Code.fullyConnected, [x, w, -1], [h])
        m.op(Code.custom, [h], [y], custom: "FooBarOp")
        m.op(Code.stablehloCase, [y], [z])
        m.inputs = [x]; m.outputs = [z]
        return m.build()
    }

    func testUnsupportedOpNamesOpIndexAndPath() {
        XCTAssertThrowsError(try TFLiteImporter.load(data: unsupportedModel(), path: "models/odd.tflite")) { e in
            guard case EngineError.unsupportedOp(let path, let op, let index)? = e as? EngineError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, "models/odd.tflite"); XCTAssertEqual(op, "FULLY_CONNECTED"); XCTAssertEqual(index, 1)
            XCTAssertTrue("\(e)".contains("FULLY_CONNECTED"))
        }
    }

    func testLenientLoadListsEveryUnsupportedOp() throws {
        let r = try TFLiteImporter.loadLenient(data: unsupportedModel(), path: "odd.tflite")
        XCTAssertEqual(r.unsupported.map(\.op), ["FULLY_CONNECTED", "FooBarOp", "STABLEHLO_CASE"])
        XCTAssertEqual(r.unsupported.map(\.index), [1, 2, 3])
        XCTAssertEqual(r.graph.nodes.map(\.op.name), ["Add"])
        let s = ModelSummary(graph: r.graph, path: "odd.tflite", unsupported: r.unsupported)
        let text = s.render()
        XCTAssertTrue(text.contains("unsupported ops (3):"), text)
        XCTAssertTrue(text.contains("FooBarOp at node 2"), text)
    }

    func testDeprecatedBuiltinCodeOnly() throws {
        var m = TFLiteTestModel()
        let x = m.tensor("x", [1, 2, 2, 1]), w = m.tensor("w", [1, 1, 1, 1], data: tflFloatBytes([2]))
        let y = m.tensor("y", [1, 2, 2, 1])
        m.op(Code.conv2D, [x, w], [y], optionsType: 1, options: [.i8(0), .i32(1), .i32(1)], deprecatedCodeOnly: true)
        m.inputs = [x]; m.outputs = [y]
        let g = try TFLiteImporter.load(data: m.build(), path: "d.tflite")
        XCTAssertEqual(g.nodes.map(\.op.name), ["Conv2D"])
        XCTAssertEqual(g.nodes[0].inputs.count, 3)
        XCTAssertEqual(g.nodes[0].inputs[2], -1)
    }

    func testMissingFileIsModelNotFound() {
        XCTAssertThrowsError(try TFLiteImporter.load(path: "/nonexistent/nothing.tflite")) { e in
            guard case EngineError.modelNotFound(let p)? = e as? EngineError else { return XCTFail("\(e)") }
            XCTAssertEqual(p, "/nonexistent/nothing.tflite")
        }
        XCTAssertThrowsError(try TFLiteImporter.load(path: "/tmp")) { e in
            guard case EngineError.modelNotFound? = e as? EngineError else { return XCTFail("\(e)") }
        }
    }
}
