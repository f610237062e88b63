import XCTest
import VSegCore
import VSegEngine

/// Op mapping and layout tests on small hand-built models (no fixtures needed).
final class ONNXImporterTests: XCTestCase {
    typealias B = ONNXBuild

    private func load(_ bytes: [UInt8], _ shapes: [String: [Int]]? = nil) throws -> Graph {
        try ONNXImporter.load(bytes: bytes, path: "/tmp/vseg-onnx-test/model.onnx", inputShapes: shapes)
    }

    func testConvWeightsBecomeOHWIAndInputIsNHWC() throws {
        let w = (0..<12).map(Float.init)                       // [2, 3, 1, 2] OIHW
        let model = B.model(nodes: [B.node("Conv", ["x", "w", "b"], ["y"], [B.attr("pads", ints: [0, 0, 0, 1], packed: false),
                                                                          B.attr("strides", ints: [1, 2])])],
                            initializers: [B.floatTensor("w", [2, 3, 1, 2], w), B.floatTensor("b", [2], [0.5, -0.5], raw: false)],
                            inputs: [B.valueInfo("x", [1, 3, 4, 5])], outputs: [B.valueInfo("y", [1, 2, 4, 3])])
        let g = try load(model)
        XCTAssertEqual(g.inputs.first?.toSourceLayout, [0, 3, 1, 2])
        XCTAssertEqual(g.tensors[g.inputs[0].tensor].shape, [1, 4, 5, 3])
        let conv = try XCTUnwrap(g.onnxNodes(named: "Conv2D").first)
        guard case .conv2D(let a) = conv.op else { return XCTFail() }
        XCTAssertEqual(a.padding, .explicit(top: 0, left: 0, bottom: 0, right: 1))
        XCTAssertEqual(a.stride.w, 2)
        let wt = g.tensors[conv.inputs[1]]
        XCTAssertEqual(wt.shape, [2, 1, 2, 3])
        // OHWI[o, 0, kw, c] == OIHW[o, c, 0, kw]
        let data = try XCTUnwrap(wt.data?.asFloats)
        for o in 0..<2 { for kw in 0..<2 { for c in 0..<3 {
            XCTAssertEqual(data[(o * 2 + kw) * 3 + c], w[(o * 3 + c) * 2 + kw])
        } } }
        XCTAssertEqual(g.tensors[conv.inputs[2]].data?.asFloats, [0.5, -0.5])
        XCTAssertEqual(g.tensors[g.outputs[0].tensor].shape, [1, 4, 3, 2])
        XCTAssertEqual(g.outputs[0].toSourceLayout, [0, 3, 1, 2])
    }

    func testDepthwiseConvWithMultiplier() throws {
        let w = (0..<36).map(Float.init)                        // [4, 1, 3, 3], group 2: multiplier 2
        let model = B.model(nodes: [B.node("Conv", ["x", "w"], ["y"], [B.attr("group", int: 2), B.attr("auto_pad", string: "SAME_UPPER"),
                                                                        B.attr("dilations", ints: [2, 2])])],
                            initializers: [B.floatTensor("w", [4, 1, 3, 3], w)],
                            inputs: [B.valueInfo("x", [1, 2, 6, 6])], outputs: [B.valueInfo("y", [1, 4, 6, 6])])
        let g = try load(model)
        let node = try XCTUnwrap(g.nodes.first)
        guard case .depthwiseConv2D(let a, let m) = node.op else { return XCTFail("expected depthwise, got \(node.op.name)") }
        XCTAssertEqual(m, 2)
        XCTAssertEqual(a.padding, .same)
        XCTAssertEqual(a.dilation.h, 2)
        XCTAssertEqual(node.inputs[2], -1)
        let wt = g.tensors[node.inputs[1]]
        XCTAssertEqual(wt.shape, [1, 3, 3, 4])
        let d = try XCTUnwrap(wt.data?.asFloats)
        for o in 0..<4 { for k in 0..<9 { XCTAssertEqual(d[k * 4 + o], w[o * 9 + k]) } }
    }

    func testBroadcastConstantsAreRemappedToNHWC() throws {
        let model = B.model(nodes: [B.node("Add", ["x", "c3"], ["a"]), B.node("Mul", ["a", "c4"], ["m"]),
                                    B.node("Sub", ["m", "s"], ["y"])],
                            initializers: [B.floatTensor("c3", [3, 1, 1], [1, 2, 3]), B.floatTensor("c4", [1, 3, 1, 1], [4, 5, 6]),
                                           B.floatTensor("s", [5], [1, 2, 3, 4, 5])],
                            inputs: [B.valueInfo("x", [1, 3, 4, 5])], outputs: [B.valueInfo("y", [1, 3, 4, 5])])
        let g = try load(model)
        XCTAssertEqual(g.nodes.count, 3, "\(g.onnxOpCounts())")
        let add = g.nodes[0], mul = g.nodes[1], sub = g.nodes[2]
        XCTAssertEqual(g.tensors[add.inputs[1]].shape, [1, 1, 1, 3])
        XCTAssertEqual(g.tensors[add.inputs[1]].data?.asFloats, [1, 2, 3])
        XCTAssertEqual(g.tensors[mul.inputs[1]].shape, [1, 1, 1, 3])
        // [5] broadcasts along W: NCHW [1,1,1,5] -> NHWC [1,1,5,1]
        XCTAssertEqual(g.tensors[sub.inputs[1]].shape, [1, 1, 5, 1])
        XCTAssertEqual(g.tensors[sub.outputs[0]].shape, [1, 4, 5, 3])
        XCTAssertEqual(g.outputs[0].toSourceLayout, [0, 3, 1, 2])
    }

    func testBatchNormFoldsIntoConvAndOtherwiseBecomesAffine() throws {
        let bn = [B.floatTensor("g", [2], [2, 3]), B.floatTensor("be", [2], [1, -1]),
                  B.floatTensor("mu", [2], [0.5, 0.25]), B.floatTensor("var", [2], [4, 9])]
        let model = B.model(nodes: [B.node("Conv", ["x", "w"], ["c"], [B.attr("kernel_shape", ints: [1, 1])]),
                                    B.node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["y"], [B.attr("epsilon", float: 0)]),
                                    B.node("BatchNormalization", ["x", "g", "be", "mu", "var"], ["z"], [B.attr("epsilon", float: 0)])],
                            initializers: [B.floatTensor("w", [2, 2, 1, 1], [1, 1, 1, 1])] + bn,
                            inputs: [B.valueInfo("x", [1, 2, 3, 3])],
                            outputs: [B.valueInfo("y", [1, 2, 3, 3]), B.valueInfo("z", [1, 2, 3, 3])])
        let g = try load(model)
        XCTAssertEqual(g.onnxOpCounts(), ["Conv2D": 1, "Mul": 1, "Add": 1])
        let conv = g.nodes[0]
        // scale = gamma / sqrt(var) = [1, 1]; shift = beta - mean * scale
        XCTAssertEqual(g.tensors[conv.inputs[1]].data?.asFloats, [1, 1, 1, 1])
        XCTAssertEqual(g.tensors[conv.inputs[2]].data?.asFloats, [0.5, -1.25])
        let mul = g.onnxNodes(named: "Mul")[0]
        XCTAssertEqual(g.tensors[mul.inputs[1]].shape, [1, 1, 1, 2])
        XCTAssertEqual(g.outputs.map { g.tensors[$0.tensor].shape }, [[1, 3, 3, 2], [1, 3, 3, 2]])
    }

    /// PyTorch's Shape→Gather→Unsqueeze→Concat feeding Reshape and Resize folds to constants,
    /// and Shape of an NHWC-held tensor reports NCHW dims.
    private func shapeSubgraphModel() -> [UInt8] {
        B.model(nodes: [B.node("Shape", ["x"], ["s"]),
                        B.node("Gather", ["s", "i1"], ["c"], [B.attr("axis", int: 0)]),
                        B.node("Unsqueeze", ["c", "ax0"], ["cu"]),
                        B.node("Concat", ["one", "cu", "m1"], ["target"], [B.attr("axis", int: 0)]),
                        B.node("Reshape", ["x", "target"], ["flat"]),
                        B.node("Slice", ["s", "st", "en"], ["hw"]),
                        B.node("Mul", ["hw", "two"], ["hw2"]),
                        B.node("Concat", ["nc", "hw2"], ["sizes"], [B.attr("axis", int: 0)]),
                        B.node("Resize", ["x", "", "", "sizes"], ["up"], [B.attr("mode", string: "linear"),
                                                                          B.attr("coordinate_transformation_mode", string: "pytorch_half_pixel")])],
                initializers: [B.int64Tensor("i1", [], [1]), B.int64Tensor("ax0", [1], [0]), B.int64Tensor("one", [1], [1]),
                               B.int64Tensor("m1", [1], [-1]), B.int64Tensor("st", [1], [2]), B.int64Tensor("en", [1], [4]),
                               B.int64Tensor("two", [1], [2]), B.int64Tensor("nc", [2], [1, 3])],
                inputs: [B.valueInfo("x", [1, 3, nil, nil])],
                outputs: [B.valueInfo("flat", [1, 3, nil]), B.valueInfo("up", [1, 3, nil, nil])])
    }

    func testShapeSubgraphFoldsForAStaticInput() throws {
        let g = try load(shapeSubgraphModel(), ["x": [1, 3, 4, 6]])
        XCTAssertEqual(g.onnxOpCounts(), ["Transpose": 1, "Reshape": 1, "Resize": 1], "shape ops must be folded")
        let reshape = g.onnxNodes(named: "Reshape")[0]
        guard case .reshape(let newShape) = reshape.op else { return XCTFail() }
        XCTAssertEqual(newShape, [1, 3, 24])
        // Reshape reads memory order: its input is the NCHW transpose of x.
        let tr = g.onnxNodes(named: "Transpose")[0]
        guard case .transpose(let perm) = tr.op else { return XCTFail() }
        XCTAssertEqual(perm, [0, 3, 1, 2])
        XCTAssertEqual(reshape.inputs[0], tr.outputs[0])
        let resize = g.onnxNodes(named: "Resize")[0]
        guard case .resize(let a) = resize.op else { return XCTFail() }
        XCTAssertEqual(a.outputSize?.h, 8)
        XCTAssertEqual(a.outputSize?.w, 12)
        XCTAssertNil(a.scales)
        XCTAssertEqual(a.coordinate, .pytorchHalfPixel)
        XCTAssertEqual(g.outputs.map(\.toSourceLayout), [nil, [0, 3, 1, 2]])
        XCTAssertEqual(g.tensors[g.outputs[1].tensor].shape, [1, 8, 12, 3])
    }

    func testShapeSubgraphStaysDynamicWithoutAnInputSize() throws {
        let g = try load(shapeSubgraphModel())
        XCTAssertEqual(g.tensors[g.inputs[0].tensor].shape, [1, -1, -1, 3])
        let shapes = g.onnxNodes(named: "Shape")
        XCTAssertFalse(shapes.isEmpty)
        // .shape on the NHWC tensor, then a gather that reorders to NCHW
        let gather = try XCTUnwrap(g.nodes.first { $0.op.name == "Gather" && $0.inputs[0] == shapes[0].outputs[0] })
        XCTAssertEqual(g.tensors[gather.inputs[1]].data?.asInts, [0, 3, 1, 2])
        let resize = g.onnxNodes(named: "Resize")[0]
        XCTAssertEqual(resize.inputs.count, 2, "runtime sizes input")
        // and a re-import at a size resolves everything
        let h = try load(shapeSubgraphModel(), ["x": [1, 3, 5, 7]])
        guard case .resize(let a) = h.onnxNodes(named: "Resize")[0].op else { return XCTFail() }
        XCTAssertEqual(a.outputSize?.h, 10)
        XCTAssertEqual(a.outputSize?.w, 14)
    }

    func testTransposeOfNHWCHeldValueIsComposed() throws {
        let model = B.model(nodes: [B.node("Relu", ["x"], ["r"]), B.node("Transpose", ["r"], ["t"], [B.attr("perm", ints: [0, 2, 3, 1])]),
                                    B.node("Flatten", ["t"], ["y"], [B.attr("axis", int: 3)])],
                            inputs: [B.valueInfo("x", [1, 3, 4, 5])], outputs: [B.valueInfo("y", [20, 3])])
        let g = try load(model)
        XCTAssertEqual(g.onnxOpCounts(), ["Relu": 1, "Reshape": 1], "NCHW->NHWC transpose of an NHWC-held value is free")
        XCTAssertEqual(g.tensors[g.outputs[0].tensor].shape, [20, 3])
        XCTAssertNil(g.outputs[0].toSourceLayout)
    }

    func testConcatSoftmaxArgMaxPadAxesAreRemapped() throws {
        let model = B.model(nodes: [B.node("Concat", ["x", "x"], ["c"], [B.attr("axis", int: 1)]),
                                    B.node("Softmax", ["c"], ["s"], [B.attr("axis", int: 1)]),
                                    B.node("ArgMax", ["s"], ["a"], [B.attr("axis", int: 1), B.attr("keepdims", int: 0)]),
                                    B.node("Pad", ["s", "pads"], ["p"], [B.attr("mode", string: "reflect")]),
                                    B.node("GlobalAveragePool", ["p"], ["gp"])],
                            initializers: [B.int64Tensor("pads", [8], [0, 0, 1, 2, 0, 0, 0, 1])],
                            inputs: [B.valueInfo("x", [1, 3, 4, 5])],
                            outputs: [B.valueInfo("a", [1, 4, 5], elemType: 7), B.valueInfo("gp", [1, 6, 1, 1])])
        let g = try load(model)
        guard case .concat(let ca) = g.onnxNodes(named: "Concat")[0].op,
              case .softmax(let sa) = g.onnxNodes(named: "Softmax")[0].op,
              case .argMax(let aa, let keep, _) = g.onnxNodes(named: "ArgMax")[0].op,
              case .pad(let mode) = g.onnxNodes(named: "Pad")[0].op,
              case .reduce(.mean, let axes, true) = g.onnxNodes(named: "ReduceMean")[0].op else { return XCTFail("\(g.onnxOpCounts())") }
        XCTAssertEqual([ca, sa, aa], [3, 3, 3])
        XCTAssertFalse(keep)
        XCTAssertEqual(mode, .reflect)
        XCTAssertEqual(axes, [1, 2])
        let pad = g.onnxNodes(named: "Pad")[0]
        XCTAssertEqual(g.tensors[pad.inputs[1]].shape, [4, 2])
        XCTAssertEqual(g.tensors[pad.inputs[1]].data?.asInts, [0, 0, 1, 0, 2, 1, 0, 0])
        XCTAssertEqual(g.tensors[pad.outputs[0]].shape, [1, 5, 8, 6])
        XCTAssertEqual(g.outputs.map(\.toSourceLayout), [nil, [0, 3, 1, 2]])
        XCTAssertEqual(g.tensors[g.outputs[0].tensor].shape, [1, 4, 5])
        XCTAssertEqual(g.tensors[g.outputs[0].tensor].dtype, .int64)
        XCTAssertEqual(g.onnxNodes(named: "Transpose").count, 0)
    }

    func testMemoryOrderOpsRunInNCHW() throws {
        let model = B.model(nodes: [B.node("Relu", ["x"], ["r"]),
                                    B.node("Gather", ["r", "idx"], ["g"], [B.attr("axis", int: 1)]),          // [1, 4, 5]
                                    B.node("Unsqueeze", ["g", "ax"], ["u"]),                                  // [1, 1, 4, 5]
                                    B.node("Squeeze", ["u", "ax"], ["y"]),
                                    B.node("ReduceMean", ["r"], ["m"], [B.attr("axes", ints: [2, 3]), B.attr("keepdims", int: 1)])],
                            initializers: [B.int64Tensor("idx", [], [2]), B.int64Tensor("ax", [1], [1])],
                            inputs: [B.valueInfo("x", [1, 3, 4, 5])],
                            outputs: [B.valueInfo("y", [1, 4, 5]), B.valueInfo("m", [1, 3, 1, 1])])
        let g = try load(model)
        let gather = g.onnxNodes(named: "Gather")[0]
        guard case .gather(1) = gather.op, case .transpose([0, 3, 1, 2]) = g.onnxNodes(named: "Transpose")[0].op else {
            return XCTFail("\(g.onnxOpCounts())")
        }
        XCTAssertEqual(gather.inputs[0], g.onnxNodes(named: "Transpose")[0].outputs[0])
        guard case .unsqueeze([1]) = g.onnxNodes(named: "Unsqueeze")[0].op, case .squeeze([1]) = g.onnxNodes(named: "Squeeze")[0].op,
              case .reduce(.mean, [1, 2], true) = g.onnxNodes(named: "ReduceMean")[0].op else { return XCTFail("\(g.onnxOpCounts())") }
        XCTAssertEqual(g.outputs.map { g.tensors[$0.tensor].shape }, [[1, 4, 5], [1, 1, 1, 3]])
        XCTAssertEqual(g.outputs.map(\.toSourceLayout), [nil, [0, 3, 1, 2]])
    }

    func testOldOpsetClipAttributesAndSoftmaxCoercion() throws {
        let model = B.model(nodes: [B.node("Clip", ["x"], ["c"], [B.attr("min", float: -1), B.attr("max", float: 1)]),
                                    B.node("Softmax", ["c"], ["y"], [B.attr("axis", int: 1)])],
                            inputs: [B.valueInfo("x", [1, 3, 4, 5])], outputs: [B.valueInfo("y", [1, 3, 4, 5])], opset: 9)
        let g = try load(model)
        guard case .unary(.clip(-1, 1)) = g.nodes[0].op else { return XCTFail("\(g.nodes[0].op)") }
        // Softmax-9 with axis 1 normalizes over C*H*W together: reshape to [1, 60], softmax, reshape back.
        let reshapes = g.onnxNodes(named: "Reshape").compactMap { n -> [Int]? in if case .reshape(let s) = n.op { return s } else { return nil } }
        XCTAssertEqual(reshapes, [[1, 60], [1, 3, 4, 5]])
        guard case .softmax(1) = g.onnxNodes(named: "Softmax")[0].op else { return XCTFail() }
        XCTAssertNil(g.outputs[0].toSourceLayout)
    }

    func testUnsupportedOpNamesOpAndIndex() throws {
        let model = B.model(nodes: [B.node("Relu", ["x"], ["r"]), B.node("FancyOp", ["r"], ["y"])],
                            inputs: [B.valueInfo("x", [1, 3, 4, 5])], outputs: [B.valueInfo("y", [1, 3, 4, 5])])
        XCTAssertThrowsError(try load(model)) { e in
            guard case EngineError.unsupportedOp(_, let op, let index) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(op, "FancyOp")
            XCTAssertEqual(index, 1)
        }
    }

    func testUnknownInputNameIsAnInputMismatch() throws {
        let model = B.model(nodes: [B.node("Relu", ["x"], ["y"])], inputs: [B.valueInfo("x", [1, 3, 4, 5])],
                            outputs: [B.valueInfo("y", [1, 3, 4, 5])])
        XCTAssertThrowsError(try load(model, ["image": [1, 3, 8, 8]])) { e in
            guard case EngineError.inputMismatch = e else { return XCTFail("\(e)") }
        }
        let g = try load(model, ["x": [1, 3, 8, 2]])
        XCTAssertEqual(g.tensors[g.inputs[0].tensor].shape, [1, 8, 2, 3])
    }

    func testClipResizeScalesAndConvTransposeShapes() throws {
        let model = B.model(nodes: [B.node("Clip", ["x", "lo", "hi"], ["c"]),
                                    B.node("Resize", ["c", "", "sc"], ["r"], [B.attr("mode", string: "nearest"),
                                                                               B.attr("coordinate_transformation_mode", string: "asymmetric"),
                                                                               B.attr("nearest_mode", string: "floor")]),
                                    B.node("ConvTranspose", ["r", "w"], ["y"], [B.attr("strides", ints: [2, 2]), B.attr("pads", ints: [1, 1, 1, 1]),
                                                                                 B.attr("output_padding", ints: [1, 0])])],
                            initializers: [B.floatTensor("lo", [], [0]), B.floatTensor("hi", [], [6]),
                                           B.floatTensor("sc", [4], [1, 1, 2, 1.5]),
                                           B.floatTensor("w", [3, 2, 3, 3], (0..<54).map(Float.init))],
                            inputs: [B.valueInfo("x", [1, 3, 4, 4])], outputs: [B.valueInfo("y", [1, 2, 16, 11])])
        let g = try load(model)
        guard case .unary(.relu6) = g.nodes[0].op, case .resize(let ra) = g.nodes[1].op,
              case .transposeConv2D(let ta, let op) = g.nodes[2].op else { return XCTFail("\(g.onnxOpCounts())") }
        XCTAssertEqual(ra.scales?.h, 2); XCTAssertEqual(ra.scales?.w, 1.5)
        XCTAssertNil(ra.outputSize, "scales given: the coordinate transform must use them, not a size ratio")
        XCTAssertEqual(g.tensors[g.nodes[1].outputs[0]].shape, [1, 8, 6, 3])
        XCTAssertEqual(ra.nearest, .floor)
        XCTAssertEqual(op.h, 1); XCTAssertEqual(op.w, 0)
        XCTAssertEqual(ta.padding, .explicit(top: 1, left: 1, bottom: 1, right: 1))
        // out = 2*(in-1) + op + 3 - 2
        XCTAssertEqual(g.tensors[g.nodes[2].outputs[0]].shape, [1, 16, 11, 2])
        let w = try XCTUnwrap(g.tensors[g.nodes[2].inputs[1]].data?.asFloats)
        XCTAssertEqual(g.tensors[g.nodes[2].inputs[1]].shape, [2, 3, 3, 3])
        // OHWI[o, kh, kw, i] == IOHW[i, o, kh, kw]
        for o in 0..<2 { for k in 0..<9 { for i in 0..<3 { XCTAssertEqual(w[(o * 9 + k) * 3 + i], Float((i * 2 + o) * 9 + k)) } } }
    }
}
