import VSegEngine
import XCTest

/// The four MediaPipe models load with the inputs/outputs LiteRT reports
/// (ai_edge_litert 2.3 `get_input_details`/`get_output_details`), with every
/// op mapped and every conv weight a float32 constant.
final class TFLiteRealModelTests: XCTestCase {
    struct Expected {
        var name: String
        var inputs: [(String, [Int])]
        var outputs: [(String, [Int])]
        /// Operators in the file (LiteRT's op count) and how many are folded at import.
        var fileOps: Int
        var foldedOps: Int
        /// MACs published in ANCHORS.md, in millions.
        var anchorMMAC: Double
    }

    static let models: [Expected] = [
        Expected(name: "selfie_segmentation", inputs: [("input_1", [1, 256, 256, 3])],
                 outputs: [("activation_10", [1, 256, 256, 1])], fileOps: 246, foldedOps: 110, anchorMMAC: 59),
        Expected(name: "selfie_segmentation_landscape", inputs: [("input_1", [1, 144, 256, 3])],
                 outputs: [("segment_back", [1, 144, 256, 1])], fileOps: 246, foldedOps: 110, anchorMMAC: 0),
        Expected(name: "pose_detection", inputs: [("input_1", [1, 224, 224, 3])],
                 outputs: [("Identity", [1, 2254, 12]), ("Identity_1", [1, 2254, 1])],
                 fileOps: 291, foldedOps: 144 + 38, anchorMMAC: 430),
        Expected(name: "pose_landmark_full", inputs: [("input_1", [1, 256, 256, 3])],
                 outputs: [("Identity", [1, 195]), ("Identity_1", [1, 1]), ("Identity_2", [1, 256, 256, 1]),
                           ("Identity_3", [1, 64, 64, 39]), ("Identity_4", [1, 117])],
                 fileOps: 332, foldedOps: 192, anchorMMAC: 386),
    ]

    func testModelsLoadWithLiteRTShapes() throws {
        for m in Self.models {
            _ = try TFLiteRealModels.bytes(m.name)
            let g = try TFLiteImporter.load(path: TFLiteRealModels.path(m.name))
            XCTAssertEqual(g.format, .tflite)
            XCTAssertEqual(g.inputs.map(\.name), m.inputs.map(\.0), m.name)
            XCTAssertEqual(g.inputs.map { g.tensors[$0.tensor].shape }, m.inputs.map(\.1), m.name)
            XCTAssertEqual(g.outputs.map(\.name), m.outputs.map(\.0), m.name)
            XCTAssertEqual(g.outputs.map { g.tensors[$0.tensor].shape }, m.outputs.map(\.1), m.name)
            for io in g.inputs + g.outputs {
                XCTAssertEqual(g.tensors[io.tensor].dtype, .float32, "\(m.name) \(io.name)")
                XCTAssertFalse(g.tensors[io.tensor].isConstant)
            }
            XCTAssertEqual(g.nodes.count, m.fileOps - m.foldedOps, m.name)
            XCTAssertFalse(g.nodes.contains { if case .dequantize = $0.op { return true } else { return false } })
            try checkWeights(g, model: m.name)
            try checkTopology(g, model: m.name)
        }
    }

    /// Conv weights/bias are float32 constants in the documented layouts.
    private func checkWeights(_ g: Graph, model: String) throws {
        for n in g.nodes {
            switch n.op {
            case .conv2D(let a), .depthwiseConv2D(let a, _), .transposeConv2D(let a, _):
                let w = g.tensors[n.inputs[1]]
                guard case .float32(let values)? = w.data else { return XCTFail("\(model) \(n.name): weights not float32 constant") }
                XCTAssertEqual(values.count, w.shape.reduce(1, *))
                XCTAssertTrue(values.allSatisfy(\.isFinite))
                XCTAssertEqual(w.shape[1], a.kernel.h)
                XCTAssertEqual(w.shape[2], a.kernel.w)
                if n.inputs.count > 2, n.inputs[2] >= 0 {
                    let b = g.tensors[n.inputs[2]]
                    guard case .float32? = b.data else { return XCTFail("\(model) \(n.name): bias not float32") }
                    XCTAssertEqual(b.shape.count, 1)
                }
            default: break
            }
        }
    }

    /// Every node input is a constant, a graph input or an earlier node's output.
    private func checkTopology(_ g: Graph, model: String) throws {
        var ready = Set(g.inputs.map(\.tensor))
        for (i, t) in g.tensors.enumerated() where t.isConstant { ready.insert(i) }
        for n in g.nodes {
            for i in n.inputs where i >= 0 { XCTAssertTrue(ready.contains(i), "\(model) \(n.name) reads an unproduced tensor") }
            for o in n.outputs { ready.insert(o) }
        }
        for o in g.outputs { XCTAssertTrue(ready.contains(o.tensor), "\(model) output \(o.name) never produced") }
    }

    func testOpsPerModel() throws {
        _ = try TFLiteRealModels.bytes("selfie_segmentation")
        func histogram(_ name: String) throws -> [String: Int] {
            let g = try TFLiteImporter.load(path: TFLiteRealModels.path(name))
            return Dictionary(g.nodes.map { ($0.op.name, 1) }, uniquingKeysWith: +)
        }
        XCTAssertEqual(try histogram("selfie_segmentation"), [
            "Conv2D": 43, "HardSwish": 11, "Relu": 22, "DepthwiseConv2D": 11, "AveragePool": 10, "Sigmoid": 11,
            "Mul": 10, "Add": 14, "Resize": 3, "TransposeConv2D": 1,
        ])
        XCTAssertEqual(try histogram("selfie_segmentation_landscape")["ReduceMean"], 10)
        XCTAssertEqual(try histogram("pose_detection"), [
            "Pad": 8, "Conv2D": 45, "DepthwiseConv2D": 28, "Add": 15, "DepthToSpace": 3, "Resize": 2,
            "Reshape": 6, "Concat": 2,
        ])
        XCTAssertEqual(try histogram("pose_landmark_full"), [
            "Pad": 5, "Conv2D": 58, "DepthwiseConv2D": 38, "Add": 28, "Resize": 5, "MaxPool": 2, "Reshape": 3,
            "Sigmoid": 1,
        ])
    }

    /// pose_detection's head: RESHAPE by constant [1,-1,1] / [1,-1,12], CONCATENATION on axis 1.
    func testPoseDetectionHeadAttributes() throws {
        _ = try TFLiteRealModels.bytes("pose_detection")
        let g = try TFLiteImporter.load(path: TFLiteRealModels.path("pose_detection"))
        var shapes: Set<[Int]> = []
        for n in g.nodes {
            switch n.op {
            case .reshape(let s):
                XCTAssertEqual(n.inputs.count, 1)
                shapes.insert(try XCTUnwrap(s))
            case .concat(let axis):
                XCTAssertEqual(axis, 1)
                XCTAssertEqual(n.inputs.count, 3)
            case .resize(let r):
                XCTAssertEqual(r.mode, .linear)
                XCTAssertNotNil(r.outputSize)
            default: break
            }
        }
        XCTAssertEqual(shapes, [[1, -1, 1], [1, -1, 12]])
    }

    /// The selfie model's Convolution2DTransposeBias: SAME, stride 2, 2x2 kernel,
    /// 128x128 -> 256x256, so nothing is cropped.
    func testSelfieTransposeConvBias() throws {
        _ = try TFLiteRealModels.bytes("selfie_segmentation")
        let g = try TFLiteImporter.load(path: TFLiteRealModels.path("selfie_segmentation"))
        let tc = g.nodes.filter { if case .transposeConv2D = $0.op { return true } else { return false } }
        XCTAssertEqual(tc.count, 1)
        guard let n = tc.first, case .transposeConv2D(let a, let op) = n.op else { return }
        XCTAssertEqual(a.stride.h, 2); XCTAssertEqual(a.stride.w, 2)
        XCTAssertEqual(a.kernel.h, 2); XCTAssertEqual(a.kernel.w, 2)
        XCTAssertEqual(a.padding, .explicit(top: 0, left: 0, bottom: 0, right: 0))
        XCTAssertEqual(op.h, 0); XCTAssertEqual(op.w, 0)
        XCTAssertEqual(g.tensors[n.inputs[0]].shape, [1, 128, 128, 16])
        XCTAssertEqual(g.tensors[n.inputs[1]].shape, [1, 2, 2, 16])
        XCTAssertEqual(g.tensors[n.outputs[0]].shape, [1, 256, 256, 1])
        XCTAssertTrue(n.name.hasPrefix("convolution2dtransposebias_"))
    }

    func testMetadata() throws {
        _ = try TFLiteRealModels.bytes("pose_detection")
        let g = try TFLiteImporter.load(path: TFLiteRealModels.path("pose_detection"))
        XCTAssertEqual(g.metadata["min_runtime_version"], "2.2.0")
        XCTAssertEqual(g.metadata["description"], "MLIR Converted.")
        XCTAssertEqual(g.metadata["sparse_constants"], "38")
        let s = try TFLiteImporter.load(path: TFLiteRealModels.path("selfie_segmentation"))
        XCTAssertEqual(s.metadata["description"]?.hasPrefix("keras2tflite_selfiesegmentation"), true)
        XCTAssertEqual(s.metadata["folded_ops"], "DEQUANTIZE x110")
    }

    /// MAC counts agree with ANCHORS.md within 3%.
    func testMACsMatchAnchors() throws {
        for m in Self.models where m.anchorMMAC > 0 {
            _ = try TFLiteRealModels.bytes(m.name)
            let s = try ModelSummary.tflite(path: TFLiteRealModels.path(m.name))
            let mmac = Double(s.convMACs) / 1e6
            XCTAssertEqual(mmac, m.anchorMMAC, accuracy: m.anchorMMAC * 0.03, "\(m.name): \(mmac) MMAC")
            XCTAssertEqual(s.nodesWithUnknownShape, 0)
            XCTAssertTrue(s.unsupported.isEmpty)
            XCTAssertGreaterThan(s.elementwiseOps, 0)
        }
    }

    func testSummaryRender() throws {
        _ = try TFLiteRealModels.bytes("selfie_segmentation")
        var s = try ModelSummary.tflite(path: TFLiteRealModels.path("selfie_segmentation"))
        XCTAssertEqual(s.inputs.first?.shape, [1, 256, 256, 3])
        XCTAssertEqual(s.opHistogram.first?.op, "Conv2D")
        XCTAssertEqual(s.opHistogram.first?.count, 43)
        // Every float weight element of the file, widened from fp16.
        XCTAssertGreaterThan(s.parameterCount, 100_000)
        XCTAssertEqual(s.parameterBytes, s.parameterCount * 4)
        var text = s.render()
        XCTAssertTrue(text.contains("input_1  [1, 256, 256, 3]  float32"), text)
        XCTAssertTrue(text.contains("activation_10  [1, 256, 256, 1]  float32"), text)
        XCTAssertTrue(text.contains("unsupported ops: none"), text)
        XCTAssertTrue(text.contains("peak activation memory: not planned"), text)
        XCTAssertTrue(text.contains("folded at import: DEQUANTIZE x110"), text)
        s.peakActivationBytes = 3 << 20
        text = s.render()
        XCTAssertTrue(text.contains("peak activation memory: 3.0 MiB"), text)
        if ProcessInfo.processInfo.environment["VSEG_PRINT_SUMMARY"] != nil {
            for m in Self.models { print(try ModelSummary.tflite(path: TFLiteRealModels.path(m.name)).render()) }
        }
    }
}
