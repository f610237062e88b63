import XCTest
@testable import VSegEngine
import VSegCore

/// Shape inference rules: padding resolution, transposed conv sizes, reshape
/// 0/-1, resize sizes/scales, slicing, squeeze/unsqueeze and error cases.
final class OpShapeTests: XCTestCase {
    func infer(_ op: Op, _ inputs: [(shape: [Int], data: TensorData?)]) throws -> [Int] {
        let node = Node(op: op, inputs: Array(0 ..< inputs.count), outputs: [inputs.count], name: "n")
        let c = InferContext(node: node, inputs: inputs.map { TensorMeta(shape: $0.shape, dtype: $0.data?.dtype ?? .float32) },
                             constants: inputs.map(\.data))
        return try OpRegistry.definition(for: op).inferShapes(c)[0].shape
    }

    func testSamePaddingPutsExtraPixelAfterAndSameLowerBefore() {
        let same = ConvShapes.forward(input: 8, kernel: 3, stride: 2, dilation: 1, padding: .same, vertical: true)!
        XCTAssertEqual(same.out, 4); XCTAssertEqual(same.before, 0); XCTAssertEqual(same.after, 1)
        let lower = ConvShapes.forward(input: 8, kernel: 3, stride: 2, dilation: 1, padding: .sameLower, vertical: true)!
        XCTAssertEqual(lower.before, 1); XCTAssertEqual(lower.after, 0)
        let k4 = ConvShapes.forward(input: 7, kernel: 4, stride: 1, dilation: 1, padding: .same, vertical: false)!
        XCTAssertEqual(k4.out, 7); XCTAssertEqual(k4.before, 1); XCTAssertEqual(k4.after, 2)
        let valid = ConvShapes.forward(input: 9, kernel: 3, stride: 2, dilation: 2, padding: .valid, vertical: true)!
        XCTAssertEqual(valid.out, 3)
        // ONNX ceil mode: 5 with k2 s2 -> 3, but a window starting in the right pad only is dropped.
        XCTAssertEqual(ConvShapes.forward(input: 5, kernel: 2, stride: 2, dilation: 1, padding: .explicit(top: 0, left: 0, bottom: 0, right: 0), vertical: true, ceilMode: true)!.out, 3)
        XCTAssertEqual(ConvShapes.forward(input: 4, kernel: 1, stride: 2, dilation: 1, padding: .explicit(top: 0, left: 0, bottom: 1, right: 1), vertical: true, ceilMode: true)!.out, 2)
        XCTAssertNil(ConvShapes.forward(input: 2, kernel: 3, stride: 1, dilation: 1, padding: .valid, vertical: true))
    }

    func testTransposedConvSizes() throws {
        XCTAssertEqual(ConvShapes.transposed(input: 8, kernel: 4, stride: 2, dilation: 1, padding: .same, outputPadding: 0, vertical: true)!.out, 16)
        XCTAssertEqual(ConvShapes.transposed(input: 8, kernel: 4, stride: 2, dilation: 1, padding: .same, outputPadding: 0, vertical: true)!.before, 1)
        // d2l FCN: k64 s32 p16 on 10x15 -> 320x480
        let fcn = ConvShapes.transposed(input: 10, kernel: 64, stride: 32, dilation: 1, padding: .explicit(top: 16, left: 16, bottom: 16, right: 16),
                                        outputPadding: 0, vertical: true)!
        XCTAssertEqual(fcn.out, 320); XCTAssertEqual(fcn.before, 16)
        XCTAssertEqual(ConvShapes.transposed(input: 5, kernel: 3, stride: 2, dilation: 1, padding: .explicit(top: 1, left: 1, bottom: 1, right: 1),
                                             outputPadding: 1, vertical: true)!.out, 10)
        XCTAssertEqual(try infer(.transposeConv2D(ConvAttrs(kernel: (2, 2), stride: (2, 2), padding: .valid), outputPadding: (0, 0)),
                                 [([1, 5, 6, 8], nil), ([4, 2, 2, 8], .float32(Array(repeating: 0, count: 128)))]), [1, 10, 12, 4])
    }

    func testReshapeZeroAndMinusOne() throws {
        XCTAssertEqual(try infer(.reshape(newShape: nil), [([2, 3, 4], nil), ([2], .int64([0, -1]))]), [2, 12])
        XCTAssertEqual(try infer(.reshape(newShape: [-1, 4]), [([2, 3, 4], nil)]), [6, 4])
        XCTAssertThrowsError(try infer(.reshape(newShape: [5, -1]), [([2, 3, 4], nil)]))
        XCTAssertThrowsError(try infer(.reshape(newShape: [-1, -1]), [([2, 3, 4], nil)]))
    }

    func testResizeOutputFromSizesScalesAndAttrs() throws {
        let lin = ResizeAttrs(mode: .linear, coordinate: .halfPixel)
        XCTAssertEqual(try infer(.resize(lin), [([1, 8, 8, 3], nil), ([2], .int32([16, 24]))]), [1, 16, 24, 3])
        XCTAssertEqual(try infer(.resize(lin), [([1, 8, 8, 3], nil), ([0], .int64([])), ([4], .float32([1, 2, 0.5, 1]))]), [1, 16, 4, 3])
        XCTAssertEqual(try infer(.resize(ResizeAttrs(mode: .nearest, coordinate: .asymmetric, scales: (2, 3))), [([1, 5, 5, 2], nil)]), [1, 10, 15, 2])
        XCTAssertThrowsError(try infer(.resize(lin), [([1, 8, 8, 3], nil)]))
    }

    func testSliceSqueezeUnsqueezeGatherConcat() throws {
        XCTAssertEqual(try infer(.slice, [([10, 6], nil), ([2], .int64([2, -1])), ([2], .int64([-1, -7])), ([2], .int64([0, 1])), ([2], .int64([3, -2]))]), [3, 3])
        XCTAssertEqual(try infer(.squeeze(axes: []), [([1, 3, 1, 2], nil)]), [3, 2])
        XCTAssertEqual(try infer(.squeeze(axes: [-2]), [([1, 3, 1, 2], nil)]), [1, 3, 2])
        XCTAssertThrowsError(try infer(.squeeze(axes: [1]), [([1, 3, 1, 2], nil)]))
        XCTAssertEqual(try infer(.unsqueeze(axes: [0, 3]), [([3, 4], nil)]), [1, 3, 4, 1])
        XCTAssertEqual(try infer(.gather(axis: -1), [([2, 5], nil), ([], .int64([3]))]), [2])
        XCTAssertThrowsError(try infer(.gather(axis: 0), [([2, 5], nil), ([1], .int64([2]))]))
        XCTAssertEqual(try infer(.concat(axis: -1), [([1, 2, 2, 3], nil), ([1, 2, 2, 5], nil)]), [1, 2, 2, 8])
        XCTAssertThrowsError(try infer(.concat(axis: 3), [([1, 2, 2, 3], nil), ([1, 3, 2, 5], nil)]))
    }

    func testConvShapeErrorsNameTheNode() {
        XCTAssertThrowsError(try infer(.conv2D(ConvAttrs(kernel: (3, 3))), [([1, 8, 8, 4], nil), ([6, 3, 3, 5], .float32(Array(repeating: 0, count: 270)))])) { e in
            XCTAssertTrue("\(e)".contains("node n"), "\(e)")
        }
        XCTAssertEqual(try infer(.conv2D(ConvAttrs(kernel: (3, 3), stride: (2, 2), padding: .same)),
                                 [([1, 9, 8, 4], nil), ([6, 3, 3, 4], .float32(Array(repeating: 0, count: 216)))]), [1, 5, 4, 6])
        XCTAssertEqual(try infer(.pad(.constant), [([1, 4, 4, 2], nil), ([4, 2], .int32([0, 0, 1, 1, 2, 0, 0, 0]))]), [1, 6, 6, 2])
        XCTAssertEqual(try infer(.depthToSpace(blockSize: 2, dcr: true), [([1, 3, 3, 8], nil)]), [1, 6, 6, 2])
    }
}
