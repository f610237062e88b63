import Foundation
import XCTest
import VSegCore
import VSegEngine

/// Runs the generated ONNX models on the engine and compares every output with
/// onnxruntime's (.fixtures/onnx/<model>/out*.npy from scripts/fixtures/onnx.sh):
/// relative L2 error ≤ 1e-5.
final class ONNXOracleTests: XCTestCase {
    static let tolerance = 1e-5

    /// out dim i = in dim perm[i].
    private func transpose(_ data: [Float], shape: [Int], perm: [Int]) -> [Float] {
        let outShape = perm.map { shape[$0] }
        var inStrides = [Int](repeating: 1, count: shape.count)
        for i in stride(from: shape.count - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        var out = [Float](repeating: 0, count: data.count)
        var idx = [Int](repeating: 0, count: shape.count)
        for o in 0..<data.count {
            var src = 0
            for d in 0..<outShape.count { src += idx[d] * inStrides[perm[d]] }
            out[o] = data[src]
            var d = outShape.count - 1
            while d >= 0 { idx[d] += 1; if idx[d] < outShape[d] { break }; idx[d] = 0; d -= 1 }
        }
        return out
    }

    private func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
        var num = 0.0, den = 0.0
        for (x, y) in zip(a, b) { let d = Double(x) - Double(y); num += d * d; den += Double(y) * Double(y) }
        return (num / max(den, 1e-30)).squareRoot()
    }

    /// Loads `model` (at `inputShape` if given), feeds the reference input, and compares outputs.
    private func check(_ model: String, reference: String? = nil, inputShape: [Int]? = nil, symbolic: Bool = false,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try ONNXFixtures.model(model, file: file, line: line)
        let dir = ONNXFixtures.referenceDir(reference ?? model)
        let inputPath = dir.appendingPathComponent("input.npy").path
        guard FileManager.default.fileExists(atPath: inputPath) else {
            return XCTFail("missing \(inputPath): run scripts/fixtures/onnx.sh", file: file, line: line)
        }
        let input = try NPY.read(path: inputPath)
        let m: Model
        if symbolic {
            // Import with symbolic H/W (shape subgraph kept as IR ops), then fix the input size
            // in the imported graph and let the engine's passes resolve everything.
            var g = try ONNXImporter.load(path: path)
            let io = g.inputs[0]
            XCTAssertTrue(g.tensors[io.tensor].shape.contains(-1), "\(model) should import with symbolic dims", file: file, line: line)
            let p = io.toSourceLayout ?? Array(0..<input.shape.count)
            for (j, src) in p.enumerated() { g.tensors[io.tensor].shape[src] = input.shape[j] }
            m = try Model(graph: g, path: path)
        } else {
            m = try Model.load(path: path, inputShapes: inputShape.map { ["input": $0] })
        }
        let session = try Session(model: m, threads: 1)
        let perm = session.graph.inputs[0].toSourceLayout ?? Array(0..<input.shape.count)
        var inverse = perm
        for (j, p) in perm.enumerated() { inverse[p] = j }
        let internalInput = transpose(input.floats, shape: input.shape, perm: inverse)
        let buffer = session.input(0)
        XCTAssertEqual(buffer.count, internalInput.count, "\(model): input size", file: file, line: line)
        guard buffer.count == internalInput.count else { return }
        _ = buffer.update(fromContentsOf: internalInput)
        try session.run()
        XCTAssertEqual(session.outputCount, m.sourceGraph.outputs.count)
        for i in 0..<session.outputCount {
            let refPath = dir.appendingPathComponent("out\(i).npy").path
            let ref = try NPY.read(path: refPath)
            let shape = session.outputShape(i)
            let outPerm = session.graph.outputs[i].toSourceLayout ?? Array(0..<shape.count)
            let values: [Float]
            switch session.outputDType(i) {
            case .float32: values = Array(session.output(i))
            case .int64: values = session.outputRaw(i).bindMemory(to: Int64.self).map { Float($0) }   // ArgMax indices
            default: return XCTFail("\(model) output \(i): unexpected dtype \(session.outputDType(i))", file: file, line: line)
            }
            let got = transpose(values, shape: shape, perm: outPerm)
            XCTAssertEqual(outPerm.map { shape[$0] }, ref.shape, "\(model) output \(i) shape", file: file, line: line)
            let err = relativeL2(got, ref.floats)
            print("ONNX oracle \(reference ?? model) out\(i) \(ref.shape): relative L2 \(err)")
            XCTAssertLessThanOrEqual(err, Self.tolerance, "\(model) output \(i): relative L2 \(err)", file: file, line: line)
        }
    }

    func testFCNResNet18() throws { try check("fcn_resnet18") }
    func testUNet() throws { try check("unet") }
    func testUNetExternalData() throws { try check("unet_external") }
    func testLRASPP() throws { try check("lraspp") }
    func testLRASPPOpset11() throws { try check("lraspp_opset11") }
    func testLRASPPTypedData() throws { try check("lraspp_typed") }
    func testOpsMisc() throws { try check("ops_misc") }
    func testUpsampleOpset9() throws { try check("upsample9") }
    func testConvTransposeVariants() throws { try check("deconv_misc") }

    /// Dynamic H/W: import at each size (the shape subgraph folds to constants).
    func testPyTorchExportAtTwoSizes() throws {
        try check("pytorch_resize", inputShape: [1, 3, 64, 96])
        try check("pytorch_resize", reference: "pytorch_resize_48x40", inputShape: [1, 3, 48, 40])
    }

    /// Dynamic H/W without a size at import: the runtime shape ops the importer emits
    /// (Shape + NCHW reorder gather, Gather, Slice, Concat, Reshape/Resize with runtime inputs)
    /// must compute the same thing once the engine knows the size.
    func testPyTorchExportImportedWithSymbolicDims() throws {
        try check("pytorch_resize", reference: "pytorch_resize_48x40", symbolic: true)
    }
}
