import VSegCore
import VSegEngine
import XCTest

/// The quantization helpers end to end: float conv quantized with
/// ActivationQuant / WeightQuantization / QuantScheme, run on the INT8 kernels,
/// dequantized, lands within a few output steps of the FP32 reference conv.
final class Int8SchemeTests: XCTestCase {
    func testQuantizedConvTracksFloatConv() {
        var rng = Int8Rng(seed: 0x5EED_0010)
        func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * Float(rng.next() % 1_000_001) / 1_000_000 }
        for (k, stride, pad, inC, outC, depthwise) in [(3, 1, 1, 8, 24, false), (1, 1, 0, 48, 17, false),
                                                      (3, 2, 1, 24, 24, true), (5, 1, 2, 16, 16, true)] {
            var g = int8ConvGeometry(h: 10, w: 9, inC: inC, outC: outC, k: k, stride: stride, pad: pad,
                                     depthwise: depthwise)
            g.outMin = 0; g.outMax = 6  // fused ReLU6
            let x = (0..<(g.inH * g.inW * inC)).map { _ in uniform(-1, 3) }
            let wCount = depthwise ? k * k * inC : outC * k * k * inC
            let w = (0..<wCount).map { _ in uniform(-0.4, 0.4) }
            let b = (0..<g.outC).map { _ in uniform(-0.5, 0.5) }
            var y = [Float](repeating: 0, count: g.outH * g.outW * g.outC)
            if depthwise {
                ReferenceConv.depthwise(g, weights: w, bias: b, input: x, output: &y)
            } else {
                ReferenceConv.dense(g, weights: w, bias: b, input: x, output: &y)
            }

            let inQ = ActivationQuant(min: -1, max: 3)
            let outQ = ActivationQuant(min: 0, max: y.max()!)
            let qw = w.withUnsafeBufferPointer {
                depthwise ? WeightQuantization.quantizeDepthwise($0, channels: inC)
                          : WeightQuantization.quantizeOHWI($0, outChannels: outC)
            }
            XCTAssertEqual(qw.scales.count, g.outC)
            XCTAssertTrue(qw.values.contains(127) || qw.values.contains(-127), "per-channel max maps to +-127")
            let qb = QuantScheme.quantizeBias(b, inputScale: inQ.scale, weightScales: qw.scales)
            let scales = QuantScheme.requantScales(inputScale: inQ.scale, weightScales: qw.scales,
                                                   outputScale: outQ.scale)
            let params = Int8OutputParams(output: outQ, fusedMin: 0, fusedMax: 6)
            XCTAssertEqual(params.qmin, outQ.zeroPoint)
            let qx = x.map { inQ.quantize($0) }
            let packed = depthwise
                ? Int8ConvKernels.packDepthwise(g, weights: qw.values, bias: qb, scales: scales,
                                                inputZeroPoint: inQ.zeroPoint, output: params)
                : Int8ConvKernels.packDense(g, weights: qw.values, bias: qb, scales: scales,
                                            inputZeroPoint: inQ.zeroPoint, output: params)
            let qy = runInt8(packed, input: qx, outCount: y.count, tasks: 2)
            var maxErr: Float = 0, sumErr: Float = 0
            for i in 0..<y.count {
                let e = abs(outQ.dequantize(qy[i]) - y[i])
                maxErr = max(maxErr, e); sumErr += e
            }
            let steps = maxErr / outQ.scale, meanSteps = sumErr / Float(y.count) / outQ.scale
            XCTAssertLessThanOrEqual(steps, 3, "k\(k) dw \(depthwise): max error \(steps) output steps")
            XCTAssertLessThanOrEqual(meanSteps, 0.75, "k\(k) dw \(depthwise): mean error \(meanSteps) output steps")
        }
    }

    func testActivationAndClampParams() {
        let q = ActivationQuant(min: -2, max: 6)
        XCTAssertEqual(q.scale, 8 / 255, accuracy: 1e-7)
        XCTAssertEqual(q.zeroPoint, 64)  // rne(2 / (8/255)) = rne(63.75)
        XCTAssertEqual(q.dequantize(q.quantize(0)), 0)
        let positive = ActivationQuant(min: 1, max: 5)  // widened to include 0
        XCTAssertEqual(positive.zeroPoint, 0)
        let relu6 = Int8OutputParams(output: q, fusedMin: 0, fusedMax: 6)
        XCTAssertEqual(relu6.qmin, 64)
        XCTAssertEqual(relu6.qmax, 255)
        let relu = Int8OutputParams(output: ActivationQuant(min: -10, max: 10), fusedMin: 0)
        XCTAssertEqual(relu.qmin, relu.zeroPoint)
        XCTAssertEqual(relu.qmax, 255)
    }

    func testWeightQuantizationIsSymmetricPerChannel() {
        // Two output channels with very different ranges keep their own scales.
        let w: [Float] = [0.6, -1.0, 0.25, 100, -40, 0]
        let q = w.withUnsafeBufferPointer { WeightQuantization.quantizeOHWI($0, outChannels: 2) }
        XCTAssertEqual(q.scales[0], 1.0 / 127, accuracy: 1e-9)
        XCTAssertEqual(q.scales[1], 100.0 / 127, accuracy: 1e-6)
        XCTAssertEqual(q.values, [76, -127, 32, 127, -51, 0])  // 76.2, 31.75, -50.8 rounded
        let dw: [Float] = [1.5, 0, -2, 0]  // [kH*kW = 2][C = 2]
        let qd = dw.withUnsafeBufferPointer { WeightQuantization.quantizeDepthwise($0, channels: 2) }
        XCTAssertEqual(qd.scales, [2.0 / 127, 1])  // channel 1 is all zero
        XCTAssertEqual(qd.values, [95, 0, -127, 0])  // 95.25 rounded
    }
}
