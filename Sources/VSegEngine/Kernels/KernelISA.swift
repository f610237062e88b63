import CKernels
import Foundation
import VSegCore
import VSegKernelsAVX2
import VSegKernelsAVX512
import VSegKernelsPortable

/// The kernel set `ConvKernels` dispatches to, chosen once from CPU features.
enum KernelISA: Sendable {
    case avx512, avx2, portable, reference

    var name: String {
        switch self {
        case .avx512: return "avx512"
        case .avx2: return "avx2"
        case .portable: return "portable"
        case .reference: return "reference"
        }
    }

    /// Best ISA the CPU runs; `VSEG_ISA` may only lower it (asking for more than
    /// the CPU has would crash with SIGILL).
    static func select() -> KernelISA {
        var best: KernelISA = .portable
        if vseg_cpu_has_avx512f() != 0 { best = .avx512 }
        else if vseg_cpu_has_avx2_fma() != 0 { best = .avx2 }
        guard let requested = ProcessInfo.processInfo.environment["VSEG_ISA"]?.lowercased() else { return best }
        let rank: [KernelISA] = [.reference, .portable, .avx2, .avx512]
        guard let want = rank.first(where: { $0.name == requested }) else { return best }
        return rank.firstIndex(of: want)! <= rank.firstIndex(of: best)! ? want : best
    }

    func hasFastPath(_ g: ConvGeometry, kind: ConvKind) -> Bool {
        switch (self, kind) {
        case (.reference, _): return false
        case (_, .dense): return VSegKernelsPortable.ISAConv.denseSupported(g)
        case (_, .depthwise): return VSegKernelsPortable.ISAConv.depthwiseSupported(g)
        case (_, .transposed): return VSegKernelsPortable.ISAConv.transposedSupported(g)
        }
    }

    func packedFloats(_ g: ConvGeometry, kind: ConvKind) -> Int {
        switch (self, kind) {
        case (.reference, _): return 0
        case (.avx512, .dense): return VSegKernelsAVX512.ISAConv.densePackedFloats(g)
        case (.avx512, .depthwise): return VSegKernelsAVX512.ISAConv.depthwisePackedFloats(g)
        case (.avx512, .transposed): return VSegKernelsAVX512.ISAConv.transposedPackedFloats(g)
        case (.avx2, .dense): return VSegKernelsAVX2.ISAConv.densePackedFloats(g)
        case (.avx2, .depthwise): return VSegKernelsAVX2.ISAConv.depthwisePackedFloats(g)
        case (.avx2, .transposed): return VSegKernelsAVX2.ISAConv.transposedPackedFloats(g)
        case (.portable, .dense): return VSegKernelsPortable.ISAConv.densePackedFloats(g)
        case (.portable, .depthwise): return VSegKernelsPortable.ISAConv.depthwisePackedFloats(g)
        case (.portable, .transposed): return VSegKernelsPortable.ISAConv.transposedPackedFloats(g)
        }
    }

    func pack(_ g: ConvGeometry, kind: ConvKind, weights w: UnsafePointer<Float>, bias b: UnsafePointer<Float>?,
              into p: UnsafeMutablePointer<Float>) {
        switch (self, kind) {
        case (.reference, _): break
        case (.avx512, .dense): VSegKernelsAVX512.ISAConv.packDense(g, weights: w, bias: b, into: p)
        case (.avx512, .depthwise): VSegKernelsAVX512.ISAConv.packDepthwise(g, weights: w, bias: b, into: p)
        case (.avx512, .transposed): VSegKernelsAVX512.ISAConv.packTransposed(g, weights: w, bias: b, into: p)
        case (.avx2, .dense): VSegKernelsAVX2.ISAConv.packDense(g, weights: w, bias: b, into: p)
        case (.avx2, .depthwise): VSegKernelsAVX2.ISAConv.packDepthwise(g, weights: w, bias: b, into: p)
        case (.avx2, .transposed): VSegKernelsAVX2.ISAConv.packTransposed(g, weights: w, bias: b, into: p)
        case (.portable, .dense): VSegKernelsPortable.ISAConv.packDense(g, weights: w, bias: b, into: p)
        case (.portable, .depthwise): VSegKernelsPortable.ISAConv.packDepthwise(g, weights: w, bias: b, into: p)
        case (.portable, .transposed): VSegKernelsPortable.ISAConv.packTransposed(g, weights: w, bias: b, into: p)
        }
    }

    func scratchFloats(_ g: ConvGeometry, kind: ConvKind) -> Int {
        guard hasFastPath(g, kind: kind) else { return 0 }
        switch (self, kind) {
        case (.reference, _): return 0
        case (.avx512, .dense): return VSegKernelsAVX512.ISAConv.denseScratchFloats(g)
        case (.avx512, .depthwise): return VSegKernelsAVX512.ISAConv.depthwiseScratchFloats(g)
        case (.avx512, .transposed): return VSegKernelsAVX512.ISAConv.transposedScratchFloats(g)
        case (.avx2, .dense): return VSegKernelsAVX2.ISAConv.denseScratchFloats(g)
        case (.avx2, .depthwise): return VSegKernelsAVX2.ISAConv.depthwiseScratchFloats(g)
        case (.avx2, .transposed): return VSegKernelsAVX2.ISAConv.transposedScratchFloats(g)
        case (.portable, .dense): return VSegKernelsPortable.ISAConv.denseScratchFloats(g)
        case (.portable, .depthwise): return VSegKernelsPortable.ISAConv.depthwiseScratchFloats(g)
        case (.portable, .transposed): return VSegKernelsPortable.ISAConv.transposedScratchFloats(g)
        }
    }

    func taskCount(_ g: ConvGeometry, kind: ConvKind, threads: Int) -> Int {
        let threads = max(1, threads)
        if !hasFastPath(g, kind: kind) { return max(1, min(threads, g.batch * g.outH * g.outW)) }
        switch (self, kind) {
        case (.reference, _): return 1
        case (.avx512, .dense): return VSegKernelsAVX512.ISAConv.denseTaskCount(g, threads: threads)
        case (.avx512, .depthwise): return VSegKernelsAVX512.ISAConv.depthwiseTaskCount(g, threads: threads)
        case (.avx512, .transposed): return VSegKernelsAVX512.ISAConv.transposedTaskCount(g, threads: threads)
        case (.avx2, .dense): return VSegKernelsAVX2.ISAConv.denseTaskCount(g, threads: threads)
        case (.avx2, .depthwise): return VSegKernelsAVX2.ISAConv.depthwiseTaskCount(g, threads: threads)
        case (.avx2, .transposed): return VSegKernelsAVX2.ISAConv.transposedTaskCount(g, threads: threads)
        case (.portable, .dense): return VSegKernelsPortable.ISAConv.denseTaskCount(g, threads: threads)
        case (.portable, .depthwise): return VSegKernelsPortable.ISAConv.depthwiseTaskCount(g, threads: threads)
        case (.portable, .transposed): return VSegKernelsPortable.ISAConv.transposedTaskCount(g, threads: threads)
        }
    }

    func run(_ g: ConvGeometry, packed: PackedConvWeights, input: UnsafePointer<Float>,
             output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, task: Int, taskCount: Int) {
        if let p = packed.packed {
            let i = input, o = output, s = scratch, t = task, n = taskCount
            switch (self, packed.kind) {
            case (.reference, _): preconditionFailure("reference ISA has no packed weights")
            case (.avx512, .dense):
                VSegKernelsAVX512.ISAConv.dense(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            case (.avx512, .depthwise):
                VSegKernelsAVX512.ISAConv.depthwise(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            case (.avx512, .transposed):
                VSegKernelsAVX512.ISAConv.transposed(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            case (.avx2, .dense):
                VSegKernelsAVX2.ISAConv.dense(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            case (.avx2, .depthwise):
                VSegKernelsAVX2.ISAConv.depthwise(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            case (.avx2, .transposed):
                VSegKernelsAVX2.ISAConv.transposed(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            case (.portable, .dense):
                VSegKernelsPortable.ISAConv.dense(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            case (.portable, .depthwise):
                VSegKernelsPortable.ISAConv.depthwise(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            case (.portable, .transposed):
                VSegKernelsPortable.ISAConv.transposed(g, packed: p, input: i, output: o, scratch: s, task: t, taskCount: n)
            }
            return
        }
        guard let w = packed.plainWeights else { preconditionFailure("packed weights hold neither form") }
        let pixels = g.batch * g.outH * g.outW
        let range = (pixels * task / taskCount)..<(pixels * (task + 1) / taskCount)
        switch packed.kind {
        case .dense:
            ReferenceConv.dense(g, weights: w, bias: packed.plainBias, input: input, output: output, pixels: range)
        case .depthwise:
            ReferenceConv.depthwise(g, weights: w, bias: packed.plainBias, input: input, output: output, pixels: range)
        case .transposed:
            ReferenceConv.transposed(g, weights: w, bias: packed.plainBias, input: input, output: output, pixels: range)
        }
    }
}
