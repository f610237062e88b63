import XCTest
import VSegCore
import VSegEngine

/// Imports the generated models in .fixtures/onnx (scripts/fixtures/onnx.sh) and checks
/// the op mapping, shapes and layout permutations.
final class ONNXModelImportTests: XCTestCase {
    private func load(_ name: String, _ shapes: [String: [Int]]? = nil) throws -> Graph {
        try ONNXImporter.load(path: try ONNXFixtures.model(name), inputShapes: shapes)
    }

    func testFCNResNet18() throws {
        let g = try load("fcn_resnet18")
        XCTAssertEqual(g.tensors[g.inputs[0].tensor].shape, [1, 320, 480, 3])
        XCTAssertEqual(g.inputs[0].toSourceLayout, [0, 3, 1, 2])
        XCTAssertEqual(g.tensors[g.outputs[0].tensor].shape, [1, 320, 480, 21])
        XCTAssertEqual(g.outputs[0].toSourceLayout, [0, 3, 1, 2])
        // 20 trunk convs (BN folded into every one) + the 1x1 classifier; 8 residual adds; no layout transposes
        XCTAssertEqual(g.onnxOpCounts(), ["Conv2D": 21, "Relu": 17, "MaxPool": 1, "Add": 8, "TransposeConv2D": 1])
        let up = g.onnxNodes(named: "TransposeConv2D")[0]
        guard case .transposeConv2D(let a, let op) = up.op else { return XCTFail() }
        XCTAssertTrue(a.kernel == (64, 64) && a.stride == (32, 32))
        XCTAssertEqual(a.padding, .explicit(top: 16, left: 16, bottom: 16, right: 16))
        XCTAssertTrue(op == (0, 0))
        // bilinear upsampling weights, diagonal in channels: OHWI [21, 64, 64, 21]
        let w = try XCTUnwrap(g.tensors[up.inputs[1]].data?.asFloats)
        XCTAssertEqual(g.tensors[up.inputs[1]].shape, [21, 64, 64, 21])
        func bilinear(_ k: Int) -> Float { 1 - abs(Float(k) - 31.5) / 32 }
        for (o, kh, kw, i) in [(0, 0, 0, 0), (5, 31, 40, 5), (20, 63, 2, 20), (3, 10, 10, 4), (7, 31, 31, 0)] {
            let v = w[((o * 64 + kh) * 64 + kw) * 21 + i]
            XCTAssertEqual(v, o == i ? bilinear(kh) * bilinear(kw) : 0, accuracy: 1e-6)
        }
        let strided = g.onnxNodes(named: "Conv2D").filter { if case .conv2D(let a) = $0.op { return a.stride.h == 2 } else { return false } }
        XCTAssertEqual(strided.count, 7)   // stem, 3 downsampling blocks (3x3 + 1x1 shortcut each)
    }

    func testUNetSkipConcatsAndTwoOutputs() throws {
        let g = try load("unet")
        let h = g.onnxOpCounts()
        XCTAssertEqual(h["TransposeConv2D"], 3)
        XCTAssertEqual(h["Concat"], 3)
        XCTAssertEqual(h["MaxPool"], 3)
        XCTAssertEqual(h["Conv2D"], 15)
        XCTAssertNil(h["Transpose"])
        for n in g.onnxNodes(named: "Concat") { guard case .concat(3) = n.op else { return XCTFail("concat axis must be C in NHWC") } }
        guard case .softmax(3) = g.onnxNodes(named: "Softmax")[0].op else { return XCTFail() }
        XCTAssertEqual(g.outputs.map(\.name), ["logits", "probs"])
        XCTAssertEqual(g.outputs.map { g.tensors[$0.tensor].shape }, [[1, 256, 256, 4], [1, 256, 256, 4]])
        XCTAssertEqual(g.outputs.map(\.toSourceLayout), [[0, 3, 1, 2], [0, 3, 1, 2]])
    }

    func testExternalDataMatchesEmbedded() throws {
        let a = try load("unet"), b = try load("unet_external")
        XCTAssertEqual(a.nodes.count, b.nodes.count)
        var compared = 0
        for (x, y) in zip(a.nodes, b.nodes) {
            XCTAssertEqual(x.op.name, y.op.name)
            for (i, j) in zip(x.inputs, y.inputs) where i >= 0 && a.tensors[i].isConstant {
                XCTAssertEqual(a.tensors[i].data, b.tensors[j].data)
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 30)
    }

    func testTypedUnpackedFloatDataMatchesRawData() throws {
        let a = try load("lraspp"), b = try load("lraspp_typed")
        XCTAssertEqual(a.nodes.count, b.nodes.count)
        var compared = 0
        for (x, y) in zip(a.nodes, b.nodes) {
            for (i, j) in zip(x.inputs, y.inputs) where i >= 0 && a.tensors[i].isConstant {
                XCTAssertEqual(a.tensors[i].data, b.tensors[j].data)
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 30)
    }

    func testLRASPPHead() throws {
        for (name, coord) in [("lraspp", ResizeAttrs.CoordinateTransform.halfPixel), ("lraspp_opset11", .pytorchHalfPixel)] {
            let g = try load(name)
            let h = g.onnxOpCounts()
            XCTAssertEqual(h["HardSwish"] ?? 0 > 0, name == "lraspp", name)
            XCTAssertGreaterThan(h["HardSigmoid"] ?? 0, 0)
            XCTAssertGreaterThan(h["DepthwiseConv2D"] ?? 0, 0)
            XCTAssertEqual(h["ReduceMean"], 4, "3 squeeze-excite + 1 head GlobalAveragePool")
            for n in g.onnxNodes(named: "ReduceMean") { guard case .reduce(.mean, [1, 2], true) = n.op else { return XCTFail() } }
            let sizes = g.onnxNodes(named: "Resize").compactMap { n -> [Int]? in
                guard case .resize(let a) = n.op, a.mode == .linear, a.coordinate == coord, let s = a.outputSize else { return nil }
                return [s.h, s.w]
            }
            XCTAssertEqual(sizes, [[56, 72], [224, 288]], name)
            XCTAssertEqual(g.tensors[g.outputs[0].tensor].shape, [1, 224, 288, 6])
            XCTAssertNil(h["Transpose"])
        }
    }

    func testPyTorchExportFoldsForEachInputSize() throws {
        for (h, w) in [(64, 96), (48, 40)] {
            let g = try load("pytorch_resize", ["input": [1, 3, h, w]])
            let hist = g.onnxOpCounts()
            for op in ["Shape", "Gather", "Concat", "Cast", "Slice", "Unsqueeze"] { XCTAssertNil(hist[op], "\(op) must be folded") }
            guard case .resize(let a) = g.onnxNodes(named: "Resize")[0].op else { return XCTFail() }
            XCTAssertEqual(a.outputSize?.h, h); XCTAssertEqual(a.outputSize?.w, w)
            guard case .reshape(let ns) = g.onnxNodes(named: "Reshape")[0].op else { return XCTFail() }
            XCTAssertEqual(ns, [1, 8, h * w])
            XCTAssertEqual(g.outputs.map { g.tensors[$0.tensor].shape }, [[1, h, w, 8], [1, 8, h * w]])
            XCTAssertEqual(g.outputs.map(\.toSourceLayout), [[0, 3, 1, 2], nil])
        }
        let dynamic = try load("pytorch_resize")
        XCTAssertEqual(dynamic.tensors[dynamic.inputs[0].tensor].shape, [1, -1, -1, 3])
        XCTAssertFalse(dynamic.onnxNodes(named: "Shape").isEmpty)
    }

    func testOpsMisc() throws {
        let g = try load("ops_misc")
        let h = g.onnxOpCounts()
        XCTAssertEqual(h["DepthwiseConv2D"], 1)
        XCTAssertEqual(h["Transpose"], nil, "Transpose(0,2,3,1) of an NHWC value composes to nothing")
        let convs = g.onnxNodes(named: "Conv2D").compactMap { n -> ConvAttrs? in if case .conv2D(let a) = n.op { return a } else { return nil } }
        XCTAssertEqual(convs.map(\.groups), [2, 1])
        XCTAssertEqual(convs.map(\.dilation.h), [2, 1])
        XCTAssertEqual(convs[1].padding, .same)
        guard case .depthwiseConv2D(_, 2) = g.onnxNodes(named: "DepthwiseConv2D")[0].op else { return XCTFail() }
        let pools = g.nodes.compactMap { n -> PoolAttrs? in if case .pool(let p) = n.op { return p } else { return nil } }
        XCTAssertEqual(pools.map(\.ceilMode), [true, false, false])
        XCTAssertEqual(pools.map(\.countIncludePad), [false, true, false])
        let prelu = g.onnxNodes(named: "PRelu")[0]
        XCTAssertEqual(g.tensors[prelu.inputs[1]].shape, [1, 1, 1, 16])
        let pads = g.onnxNodes(named: "Pad").compactMap { n -> PadMode? in if case .pad(let m) = n.op { return m } else { return nil } }
        XCTAssertEqual(pads, [.reflect, .edge])
        let resizes = g.onnxNodes(named: "Resize").compactMap { n -> ResizeAttrs? in if case .resize(let a) = n.op { return a } else { return nil } }
        XCTAssertEqual(resizes.map(\.coordinate), [.asymmetric, .alignCorners, .halfPixel])
        XCTAssertEqual(resizes.map(\.nearest), [.floor, .roundPreferFloor, .roundPreferCeil])
        XCTAssertEqual(resizes[0].scales?.h, 2)
        XCTAssertEqual(g.outputs.map { g.tensors[$0.tensor].shape }, [[1, 16, 22, 36], [8, 396]])
        XCTAssertEqual(g.outputs.map(\.toSourceLayout), [[0, 3, 1, 2], nil])
    }

    func testConvTransposeVariants() throws {
        let g = try load("deconv_misc")
        let t = g.onnxNodes(named: "TransposeConv2D").compactMap { n -> (ConvAttrs, Int, Int)? in
            if case .transposeConv2D(let a, let op) = n.op { return (a, op.h, op.w) } else { return nil }
        }
        XCTAssertEqual(t.map(\.0.padding), [.explicit(top: 1, left: 0, bottom: 1, right: 2),
                                            .explicit(top: 1, left: 1, bottom: 0, right: 1),   // from output_shape [14, 17]
                                            .explicit(top: 1, left: 1, bottom: 0, right: 2)])
        XCTAssertEqual(t.map(\.0.groups), [1, 1, 2])
        XCTAssertEqual(t.map { [$0.1, $0.2] }, [[1, 0], [0, 0], [0, 1]])
        XCTAssertEqual(g.onnxNodes(named: "TransposeConv2D").map { g.tensors[$0.outputs[0]].shape }, Array(repeating: [1, 14, 17, 6], count: 3))
        XCTAssertEqual(g.onnxNodes(named: "TransposeConv2D").map { g.tensors[$0.inputs[1]].shape }, [[6, 3, 3, 8], [6, 3, 3, 8], [6, 3, 3, 4]])
        XCTAssertEqual(g.outputs.map { g.tensors[$0.tensor].dtype }, [.float32, .int64, .float32])
        XCTAssertEqual(g.outputs.map(\.toSourceLayout), [[0, 3, 1, 2], [0, 3, 1, 2], [0, 3, 1, 2]])
    }

    func testUpsampleOpset9() throws {
        let g = try load("upsample9")
        let r = g.onnxNodes(named: "Resize").compactMap { n -> ResizeAttrs? in if case .resize(let a) = n.op { return a } else { return nil } }
        XCTAssertEqual(r.map(\.mode), [.nearest, .linear])
        XCTAssertEqual(r.map(\.coordinate), [.asymmetric, .asymmetric])
        XCTAssertEqual(r.map { $0.scales?.w }, [3, 3])
        XCTAssertEqual(g.onnxNodes(named: "Resize").map { g.tensors[$0.outputs[0]].shape }, [[1, 16, 30, 4], [1, 16, 30, 4]])
        XCTAssertEqual(g.metadata["opset"], "9")
    }
}
