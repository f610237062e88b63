// KernelBench: GFLOP/s of the GEMM microkernel and of MediaPipe-shaped convs.
//
//   swift build -c release --product KernelBench
//   .build/release/KernelBench                 # best ISA the CPU has
//   VSEG_ISA=avx2 .build/release/KernelBench   # or portable / reference
//   BENCH_FILTER="dw 3x3" .build/release/KernelBench  # only cases whose name contains it
//
// Each number is the best of 40 short timed batches (the machine is shared),
// one thread and two threads (two tasks on a spinning helper thread).
import Foundation
import Synchronization
import VSegCore
import VSegEngine
import VSegKernelsAVX2
import VSegKernelsAVX512
import VSegKernelsPortable

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Best seconds per call of `body`: batches of at least `minBatch` seconds, `repeats` batches.
func bestTime(repeats: Int = 40, minBatch: Double = 0.002, _ body: () -> Void) -> Double {
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

/// One helper thread that spins waiting for work (so sub-millisecond halves
/// really run in parallel); it exists only while two-thread timings run.
@available(macOS 15.0, *)
final class Helper: @unchecked Sendable {
    let generation = Atomic<Int>(0)
    let done = Atomic<Int>(0)
    var work: () -> Void = {}
    static let stop = -1

    init() {
        Thread { [self] in
            var seen = 0
            while true {
                var g = generation.load(ordering: .acquiring)
                while g == seen { g = generation.load(ordering: .acquiring) }
                if g == Helper.stop { return }
                seen = g
                work()
                done.store(g, ordering: .releasing)
            }
        }.start()
    }

    func run(_ mine: () -> Void, _ theirs: @escaping () -> Void) {
        work = theirs
        let g = generation.load(ordering: .relaxed) + 1
        generation.store(g, ordering: .releasing)
        mine()
        while done.load(ordering: .acquiring) != g {}
    }

    func finish() { generation.store(Helper.stop, ordering: .releasing) }
}


func randomFloats(_ n: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
    var s = seed
    let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
    for i in 0..<n {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        p[i] = Float(Int32(truncatingIfNeeded: s >> 33)) / Float(Int32.max)
    }
    return p
}

func gemmBench(_ name: String, tile: (mr: Int, nr: Int), packedFloats: (Int, Int) -> Int,
               pack: (Int, Int, UnsafePointer<Float>, UnsafePointer<Float>?, UnsafeMutablePointer<Float>) -> Void,
               scratchFloats: Int,
               gemm: (Int, Int, Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
    // Sized to stay in L1/L2 so the number is the microkernel's.
    let m = tile.mr * 24, n = tile.nr * 4, k = 256
    let a = randomFloats(m * k, seed: 1), b = randomFloats(k * n, seed: 2), bias = randomFloats(n, seed: 3)
    let packed = UnsafeMutablePointer<Float>.allocate(capacity: packedFloats(n, k))
    pack(n, k, b, bias, packed)
    let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchFloats)
    let t = bestTime { gemm(m, n, k, a, packed, c, scratch) }
    print(String(format: "gemm %-9@ tile %dx%-3d  M=%d N=%d K=%d  %8.1f GFLOP/s", name as NSString, tile.mr, tile.nr,
                 m, n, k, 2.0 * Double(m * n * k) / t * 1e-9))
}

struct Case {
    let name: String
    let kind: ConvKind
    let g: ConvGeometry
}

@available(macOS 15.0, *)
func convBench(_ c: Case) {
    let g = c.g
    let wCount = c.kind == .depthwise ? g.kH * g.kW * g.outC : g.outC * g.kH * g.kW * g.inC / g.groups
    let w = randomFloats(wCount, seed: 4), bias = randomFloats(g.outC, seed: 5)
    let input = randomFloats(g.batch * g.inH * g.inW * g.inC, seed: 6)
    let output = UnsafeMutablePointer<Float>.allocate(capacity: g.batch * g.outH * g.outW * g.outC)
    let packed: PackedConvWeights
    switch c.kind {
    case .dense: packed = ConvKernels.packDense(g, weights: w, bias: bias)
    case .depthwise: packed = ConvKernels.packDepthwise(g, weights: w, bias: bias)
    case .transposed: packed = ConvKernels.packTransposed(g, weights: w, bias: bias)
    }
    let sc = ConvKernels.scratchFloats(g, kind: c.kind) + 1
    let s0 = UnsafeMutablePointer<Float>.allocate(capacity: sc), s1 = UnsafeMutablePointer<Float>.allocate(capacity: sc)
    let macs: Double
    switch c.kind {
    case .dense: macs = Double(g.batch * g.outH * g.outW * g.outC * g.kH * g.kW * g.inC / g.groups)
    case .depthwise: macs = Double(g.batch * g.outH * g.outW * g.outC * g.kH * g.kW)
    case .transposed: macs = Double(g.batch * g.inH * g.inW * g.inC * g.kH * g.kW * g.outC)
    }
    let t1 = bestTime {
        ConvKernels.run(g, kind: c.kind, packed: packed, input: input, output: output, scratch: s0, task: 0, taskCount: 1)
    }
    let n2 = ConvKernels.taskCount(g, kind: c.kind, threads: 2)
    let helper = Helper()
    defer { helper.finish() }
    let t2 = bestTime {
        helper.run({
            for t in stride(from: 0, to: n2, by: 2) {
                ConvKernels.run(g, kind: c.kind, packed: packed, input: input, output: output, scratch: s0, task: t, taskCount: n2)
            }
        }, {
            for t in stride(from: 1, to: n2, by: 2) {
                ConvKernels.run(g, kind: c.kind, packed: packed, input: input, output: output, scratch: s1, task: t, taskCount: n2)
            }
        })
    }
    print(String(format: "%-46@ %7.1f MMAC  1T %8.3f ms %7.1f GFLOP/s | 2T %8.3f ms x%.2f", c.name as NSString,
                 macs * 1e-6, t1 * 1e3, 2 * macs / t1 * 1e-9, t2 * 1e3, t1 / t2))
}

func conv(_ h: Int, _ w: Int, _ ci: Int, _ co: Int, k: Int, s: Int = 1, relu: Bool = false) -> ConvGeometry {
    let p = (k - 1) / 2
    let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
    return ConvGeometry(inH: h, inW: w, inC: ci, outH: oh, outW: ow, outC: co, kH: k, kW: k, strideH: s, strideW: s,
                        padTop: p, padLeft: p, outMin: relu ? 0 : -.infinity)
}

func dw(_ h: Int, _ w: Int, _ c: Int, k: Int, s: Int = 1) -> ConvGeometry {
    var g = conv(h, w, c, c, k: k, s: s, relu: true)
    g.groups = c
    return g
}

func tconv(_ h: Int, _ w: Int, _ ci: Int, _ co: Int, k: Int, s: Int) -> ConvGeometry {
    let crop = (k - s) / 2
    return ConvGeometry(inH: h, inW: w, inC: ci, outH: h * s, outW: w * s, outC: co, kH: k, kW: k, strideH: s, strideW: s,
                        padTop: crop, padLeft: crop)
}

print("KernelBench: dispatcher ISA = \(ConvKernels.isaName)")
let isa = ConvKernels.isaName
let filter = ProcessInfo.processInfo.environment["BENCH_FILTER"]
if filter == nil || filter == "gemm" {
if isa == "avx512" {
    gemmBench("avx512", tile: VSegKernelsAVX512.ISAGemm.tile, packedFloats: VSegKernelsAVX512.ISAGemm.packedFloats,
              pack: VSegKernelsAVX512.ISAGemm.pack, scratchFloats: VSegKernelsAVX512.ISAGemm.scratchFloats(),
              gemm: VSegKernelsAVX512.ISAGemm.gemm)
}
if isa == "avx512" || isa == "avx2" {
    gemmBench("avx2", tile: VSegKernelsAVX2.ISAGemm.tile, packedFloats: VSegKernelsAVX2.ISAGemm.packedFloats,
              pack: VSegKernelsAVX2.ISAGemm.pack, scratchFloats: VSegKernelsAVX2.ISAGemm.scratchFloats(),
              gemm: VSegKernelsAVX2.ISAGemm.gemm)
}
gemmBench("portable", tile: VSegKernelsPortable.ISAGemm.tile, packedFloats: VSegKernelsPortable.ISAGemm.packedFloats,
          pack: VSegKernelsPortable.ISAGemm.pack, scratchFloats: VSegKernelsPortable.ISAGemm.scratchFloats(),
          gemm: VSegKernelsPortable.ISAGemm.gemm)

}

// Layer shapes from MediaPipe pose_landmark_full (the heaviest by MACs) and
// selfie_segmentation (256x256 input), read from the .tflite files.
let cases: [Case] = [
    Case(name: "pose conv 3x3 s2 256x256x3 -> 24", kind: .dense, g: conv(256, 256, 3, 24, k: 3, s: 2, relu: true)),
    Case(name: "pose conv 1x1 16x16x88 -> 528", kind: .dense, g: conv(16, 16, 88, 528, k: 1, relu: true)),
    Case(name: "pose conv 1x1 8x8x144 -> 864", kind: .dense, g: conv(8, 8, 144, 864, k: 1, relu: true)),
    Case(name: "pose conv 1x1 64x64x24 -> 144", kind: .dense, g: conv(64, 64, 24, 144, k: 1, relu: true)),
    Case(name: "pose conv 1x1 8x8x864 -> 144", kind: .dense, g: conv(8, 8, 864, 144, k: 1)),
    Case(name: "pose conv 1x1 16x16x528 -> 88", kind: .dense, g: conv(16, 16, 528, 88, k: 1)),
    Case(name: "pose conv 1x1 128x128x16 -> 64", kind: .dense, g: conv(128, 128, 16, 64, k: 1, relu: true)),
    Case(name: "pose conv 1x1 64x64x144 -> 24", kind: .dense, g: conv(64, 64, 144, 24, k: 1)),
    Case(name: "pose conv 1x1 4x4x288 -> 288", kind: .dense, g: conv(4, 4, 288, 288, k: 1)),
    Case(name: "pose conv 1x1 256x256x8 -> 8", kind: .dense, g: conv(256, 256, 8, 8, k: 1)),
    Case(name: "pose conv 3x3 256x256x8 -> 1", kind: .dense, g: conv(256, 256, 8, 1, k: 3)),
    Case(name: "pose dw 3x3 s1 256x256x8", kind: .depthwise, g: dw(256, 256, 8, k: 3)),
    Case(name: "pose dw 3x3 s1 64x64x144", kind: .depthwise, g: dw(64, 64, 144, k: 3)),
    Case(name: "pose dw 5x5 s1 16x16x528", kind: .depthwise, g: dw(16, 16, 528, k: 5)),
    Case(name: "pose dw 5x5 s2 68x68x144 (padded)", kind: .depthwise, g: {
        var g = dw(68, 68, 144, k: 5, s: 2); g.padTop = 0; g.padLeft = 0; g.outH = 32; g.outW = 32; return g }()),
    Case(name: "pose dw 5x5 s1 8x8x864", kind: .depthwise, g: dw(8, 8, 864, k: 5)),
    Case(name: "selfie conv 1x1 128x128x16 -> 16", kind: .dense, g: conv(128, 128, 16, 16, k: 1, relu: true)),
    Case(name: "selfie dw 3x3 s1 128x128x16", kind: .depthwise, g: dw(128, 128, 16, k: 3)),
    Case(name: "selfie dw 5x5 s2 32x32x96", kind: .depthwise, g: dw(32, 32, 96, k: 5, s: 2)),
    Case(name: "selfie tconv 2x2 s2 128x128x16 -> 1 (mask)", kind: .transposed, g: tconv(128, 128, 16, 1, k: 2, s: 2)),
    Case(name: "tconv 2x2 s2 32x32x64 -> 32", kind: .transposed, g: tconv(32, 32, 64, 32, k: 2, s: 2)),
    Case(name: "tconv 4x4 s2 64x64x16 -> 16", kind: .transposed, g: tconv(64, 64, 16, 16, k: 4, s: 2)),
    // d2l FCN head: ConvTranspose k=64 s=32 p=16, 10x15x21 -> 320x480x21.
    Case(name: "fcn tconv 64x64 s32 10x15x21 -> 21", kind: .transposed, g: tconv(10, 15, 21, 21, k: 64, s: 32)),
]
if #available(macOS 15.0, *) {
    for c in cases where filter.map({ c.name.contains($0) }) ?? true { convBench(c) }
}
exit(0)
