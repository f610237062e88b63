// Int8Bench: GOP/s (2 ops per multiply-add) of the INT8 GEMM and conv kernels,
// every variant this CPU runs, 1 and 2 threads.
//
//   swift build -c release --product Int8Bench --scratch-path .build-int8
//   .build-int8/release/Int8Bench                       # all variants but portable
//   BENCH_ISA=avx512vnni .build-int8/release/Int8Bench  # one variant (also: avxvnni, avx2, portable)
//   BENCH_FILTER=pose .build-int8/release/Int8Bench     # only cases whose name contains it
//
// The machine is shared with other builds, so each number is the best
// (minimum time) of 25 timed batches of >= 3 ms. Two threads: the tasks of one
// call are run by DispatchQueue.concurrentPerform, i.e. two pool threads.
import CKernels
import Dispatch
import Foundation
import VSegCore
import VSegEngine

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func bestTime(repeats: Int = 25, minBatch: Double = 0.003, _ body: () -> Void) -> Double {
    body()
    var iters = 1
    while true {
        let t0 = now()
        for _ in 0..<iters { body() }
        if now() - t0 >= minBatch { break }
        iters *= 2
    }
    var best = Double.infinity
    for _ in 0..<repeats {
        let t0 = now()
        for _ in 0..<iters { body() }
        best = min(best, (now() - t0) / Double(iters))
    }
    return best
}

struct Case {
    var name: String
    var g: ConvGeometry
    var depthwise: Bool
    var ops: Double {
        let taps = Double(g.kH * g.kW), pixels = Double(g.batch * g.outH * g.outW)
        return 2 * pixels * taps * Double(g.outC) * (depthwise ? 1 : Double(g.inC))
    }
}

func conv(_ name: String, hw: Int, inC: Int, outC: Int, k: Int, stride: Int, depthwise: Bool = false) -> Case {
    let pad = (k - 1) / 2, out = (hw + 2 * pad - k) / stride + 1
    let g = ConvGeometry(inH: hw, inW: hw, inC: inC, outH: out, outW: out, outC: depthwise ? inC : outC, kH: k, kW: k,
                         strideH: stride, strideW: stride, padTop: pad, padLeft: pad, groups: depthwise ? inC : 1)
    return Case(name: name, g: g, depthwise: depthwise)
}

var cases: [Case] = []
// GEMM as a 1x1 conv over 64x64 = 4096 pixels: M = 4096, K = inC, N = outC.
for n in [64, 128, 256] {
    for k in [64, 144, 288, 576] {
        cases.append(conv("gemm M4096 N\(n) K\(k)", hw: 64, inC: k, outC: n, k: 1, stride: 1))
    }
}
// pose_landmark_full layers at its 256x256 input (the same shapes as Benchmarks/kernels, for an FP32 peer).
cases += [
    conv("pose conv 3x3 s2 256x256x3 -> 24", hw: 256, inC: 3, outC: 24, k: 3, stride: 2),
    conv("pose conv 1x1 16x16x88 -> 528", hw: 16, inC: 88, outC: 528, k: 1, stride: 1),
    conv("pose conv 1x1 8x8x864 -> 144", hw: 8, inC: 864, outC: 144, k: 1, stride: 1),
    conv("pose conv 1x1 64x64x24 -> 144", hw: 64, inC: 24, outC: 144, k: 1, stride: 1),
    conv("pose conv 1x1 128x128x16 -> 64", hw: 128, inC: 16, outC: 64, k: 1, stride: 1),
    conv("pose conv 1x1 64x64x144 -> 24", hw: 64, inC: 144, outC: 24, k: 1, stride: 1),
    conv("pose dw 3x3 s1 256x256x8", hw: 256, inC: 8, outC: 8, k: 3, stride: 1, depthwise: true),
    conv("pose dw 3x3 s1 64x64x144", hw: 64, inC: 144, outC: 144, k: 3, stride: 1, depthwise: true),
    conv("pose dw 5x5 s1 16x16x528", hw: 16, inC: 528, outC: 528, k: 5, stride: 1, depthwise: true),
    conv("pose dw 5x5 s2 64x64x144", hw: 64, inC: 144, outC: 144, k: 5, stride: 2, depthwise: true),
]

let env = ProcessInfo.processInfo.environment
let filter = env["BENCH_FILTER"]
let isas: [Int8ISA] = Int8ISA.supported.filter { isa in
    if let want = env["BENCH_ISA"] { return isa.name == want }
    return isa != .portable
}

var rng: UInt64 = 0x1234_5678
func nextByte() -> UInt8 {
    rng = rng &* 6364136223846793005 &+ 1442695040888963407
    return UInt8(truncatingIfNeeded: rng >> 33)
}

print("INT8 kernels, GOP/s (best of 25 batches; machine shared). Variants: \(isas.map(\.name).joined(separator: ", "))")
print("case".padding(toLength: 36, withPad: " ", startingAt: 0) + isas.map { "\($0.name) 1T / 2T".padding(toLength: 24, withPad: " ", startingAt: 0) }.joined())
for c in cases where filter.map({ c.name.contains($0) }) ?? true {
    let g = c.g
    let input = (0..<(g.inH * g.inW * g.inC)).map { _ in nextByte() }
    let wCount = c.depthwise ? g.kH * g.kW * g.inC : g.outC * g.kH * g.kW * g.inC
    let weights = (0..<wCount).map { _ in Int8(truncatingIfNeeded: nextByte()) }
    let bias = [Int32](repeating: 100, count: g.outC), scales = [Float](repeating: 1e-3, count: g.outC)
    var output = [UInt8](repeating: 0, count: g.outH * g.outW * g.outC)
    var line = c.name.padding(toLength: 36, withPad: " ", startingAt: 0)
    for isa in isas {
        let p = c.depthwise
            ? Int8ConvKernels.packDepthwise(g, weights: weights, bias: bias, scales: scales, inputZeroPoint: 3,
                                            output: Int8OutputParams(zeroPoint: 5), isa: isa)
            : Int8ConvKernels.packDense(g, weights: weights, bias: bias, scales: scales, inputZeroPoint: 3,
                                        output: Int8OutputParams(zeroPoint: 5), isa: isa)
        var cells: [String] = []
        input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                let ip = i.baseAddress!, op = o.baseAddress!
                let t1 = bestTime { Int8ConvKernels.run(p, input: ip, output: op, task: 0, taskCount: 1) }
                let n2 = Int8ConvKernels.taskCount(p, threads: 2)
                let t2 = bestTime {
                    DispatchQueue.concurrentPerform(iterations: n2) { t in
                        Int8ConvKernels.run(p, input: ip, output: op, task: t, taskCount: n2)
                    }
                }
                cells.append(String(format: "%6.0f / %6.0f", c.ops / t1 * 1e-9, c.ops / t2 * 1e-9))
            }
        }
        line += cells.joined().padding(toLength: 24, withPad: " ", startingAt: 0)
    }
    print(line)
}
