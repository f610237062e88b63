import Foundation
import XCTest
import VSegCore
import VSegVision
import VSegEngine

final class DescriptorTests: XCTestCase {
    func testBuiltinNamesAndNormalization() throws {
        XCTAssertEqual(BuiltinModels.named("selfie")?.name, "selfie_segmentation")
        XCTAssertEqual(BuiltinModels.named("SELFIE_SEGMENTATION")?.file, "selfie_segmentation.tflite")
        XCTAssertEqual(BuiltinModels.named("selfie_landscape")?.input.height, 144)
        XCTAssertEqual(BuiltinModels.named("pose")?.file, "pose_landmark_full.tflite")
        XCTAssertEqual(BuiltinModels.named("pose_detection")?.input.resize, .letterbox)
        XCTAssertNil(BuiltinModels.named("nope"))
        // pose_detection: pixel 0 → -1, 255 → 1; selfie: 0 → 0, 255 → 1.
        let pd = try BuiltinModels.poseDetection.input.normalization(model: "pd")
        XCTAssertEqual(pd.offset[0], -1); XCTAssertEqual(255 * pd.scale[0] + pd.offset[0], 1, accuracy: 1e-6)
        let sf = try BuiltinModels.selfie.input.normalization(model: "s")
        XCTAssertEqual(sf.offset[1], 0); XCTAssertEqual(255 * sf.scale[1], 1, accuracy: 1e-6)
        XCTAssertEqual(BuiltinModels.poseLandmark.segmentationOutput?.index, 2)
        XCTAssertEqual(BuiltinModels.poseLandmark.segmentationOutput?.activation, .sigmoid)
        XCTAssertEqual(BuiltinModels.selfie.segmentationOutput?.activation, OutputSpec.Activation.none)
        XCTAssertNil(BuiltinModels.poseDetection.segmentationOutput)
        XCTAssertEqual(BuiltinModels.poseLandmarkNames.count, 39)
    }

    func testSidecarDecodesWithDefaults() throws {
        let json = """
        {"name": "voc_fcn", "input": {"range": [0, 1], "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "resize": "letterbox"},
         "outputs": [{"index": 0, "kind": "classes", "activation": "softmax", "palette": [[0, 0, 0], [255, 0, 0]]},
                     {"index": 1, "kind": "world_landmarks"}]}
        """
        let d = try JSONDecoder().decode(ModelDescriptor.self, from: Data(json.utf8))
        XCTAssertEqual(d.name, "voc_fcn")
        XCTAssertEqual(d.input.layout, .nhwc)
        XCTAssertNil(d.input.height)
        XCTAssertEqual(d.input.resize, .letterbox)
        XCTAssertEqual(d.outputs[0].palette, .custom([[0, 0, 0], [255, 0, 0]]))
        XCTAssertEqual(d.outputs[1].kind, .worldLandmarks)
        let n = try d.input.normalization(model: d.name)
        XCTAssertEqual(n.offset[0], -0.485 / 0.229, accuracy: 1e-6)
        XCTAssertEqual(255 * n.scale[2] + n.offset[2], (1 - 0.406) / 0.225, accuracy: 1e-5)
        // Round trip through the encoder.
        XCTAssertEqual(try JSONDecoder().decode(ModelDescriptor.self, from: JSONEncoder().encode(d)), d)
        // Errors are descriptive.
        XCTAssertThrowsError(try JSONDecoder().decode(ModelDescriptor.self, from: Data(#"{"outputs": [{"index": 0, "kind": "blob"}]}"#.utf8)))
        XCTAssertThrowsError(try InputSpec(range: [1, 1]).normalization(model: "m")) {
            XCTAssertTrue("\($0)".contains("input.range"), "\($0)")
        }
    }

    func testInferredDefaults() {
        let mask = ModelDescriptor.inferred(name: "u", inputShape: [1, 128, 96, 3], outputShapes: [[1, 128, 96, 1]], activated: [false])
        XCTAssertEqual(mask.input.height, 128); XCTAssertEqual(mask.input.width, 96)
        XCTAssertEqual(mask.outputs[0].kind, .mask); XCTAssertEqual(mask.outputs[0].activation, .sigmoid)
        let voc = ModelDescriptor.inferred(name: "f", inputShape: [1, 320, 480, 3], outputShapes: [[1, 320, 480, 21]], activated: [false])
        XCTAssertEqual(voc.outputs[0].kind, .classes); XCTAssertEqual(voc.outputs[0].palette, .voc)
        XCTAssertEqual(voc.outputs[0].labels?[15], "person")
        let city = ModelDescriptor.inferred(name: "c", inputShape: [1, 64, 64, 3], outputShapes: [[1, 64, 64, 19], [1, 2]], activated: [true])
        XCTAssertEqual(city.outputs[0].palette, .cityscapes); XCTAssertEqual(city.outputs[0].activation, OutputSpec.Activation.none)
        XCTAssertEqual(city.outputs.count, 2)
        let odd = ModelDescriptor.inferred(name: "o", inputShape: [1, 64, 64, 3], outputShapes: [[1, 64, 64, 7]], activated: [false])
        XCTAssertEqual(odd.outputs[0].palette, .generated)
    }

    func testResolverSearchOrderAndMessages() throws {
        let dir = "/tmp/vseg-models-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/selfie_segmentation.tflite", contents: Data([1]))
        let r = try ModelResolver.resolve("selfie", environment: ["VSEG_MODELS": dir], executablePath: "/nowhere/bin/vseg")
        XCTAssertEqual(r.path, dir + "/selfie_segmentation.tflite")
        XCTAssertEqual(r.builtin?.name, "selfie_segmentation")
        XCTAssertThrowsError(try ModelResolver.resolve("pose_detection", environment: ["VSEG_MODELS": dir],
                                                       localDirectory: "/nowhere/models", executablePath: "/nowhere/bin/vseg")) {
            let m = "\($0)"
            XCTAssertTrue(m.hasPrefix("model 'pose_detection' not found in \(dir), /nowhere/models, /nowhere/bin/../../models"), m)
            XCTAssertTrue(m.contains("run scripts/setup"), m)
        }
        XCTAssertThrowsError(try ModelResolver.resolve("no_such_model", environment: [:])) {
            XCTAssertTrue("\($0)".contains("built-ins: selfie_segmentation, selfie"), "\($0)")
        }
        // A user file with a sidecar.
        FileManager.default.createFile(atPath: dir + "/net.onnx", contents: Data([1]))
        XCTAssertNil(try ModelResolver.resolve(dir + "/net.onnx").sidecarPath)
        FileManager.default.createFile(atPath: dir + "/net.vseg.yaml", contents: Data("name: net\n".utf8))
        XCTAssertEqual(try ModelResolver.resolve(dir + "/net.onnx").sidecarPath, dir + "/net.vseg.yaml")
    }
}

final class ActivationDetectionTests: XCTestCase {
    func testEndsInActivationLooksAtTheProducingNode() {
        var g = Graph(format: .builtin)
        let x = g.addTensor(TensorInfo(name: "x", shape: [1, 8, 8, 3], dtype: .float32))
        let w = g.addConstant(name: "w", shape: [1, 1, 1, 3], data: .float32([1, 1, 1]))
        let logits = g.addTensor(TensorInfo(name: "logits", shape: [1, 8, 8, 1], dtype: .float32))
        let prob = g.addTensor(TensorInfo(name: "prob", shape: [1, 8, 8, 1], dtype: .float32))
        let fused = g.addTensor(TensorInfo(name: "fused", shape: [1, 8, 8, 1], dtype: .float32))
        g.nodes = [
            Node(op: .conv2D(ConvAttrs(kernel: (1, 1))), inputs: [x, w, -1], outputs: [logits], name: "conv"),
            Node(op: .unary(.sigmoid), inputs: [logits], outputs: [prob], name: "sig"),
            Node(op: .conv2D(ConvAttrs(kernel: (1, 1), activation: .sigmoid)), inputs: [x, w, -1], outputs: [fused], name: "conv_sig"),
        ]
        g.inputs = [GraphIO(tensor: x, name: "x")]
        g.outputs = [GraphIO(tensor: logits, name: "logits"), GraphIO(tensor: prob, name: "prob"), GraphIO(tensor: fused, name: "fused")]
        XCTAssertEqual(ModelDescriptor.endsInActivation(g), [false, true, true])
    }
}
