import CKernels
import Foundation
import VSegCore

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
        false
    }

    func packedFloats(_ g: ConvGeometry, kind: ConvKind) -> Int { 0 }

    func pack(_ g: ConvGeometry, kind: ConvKind, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
              into: UnsafeMutablePointer<Float>) {}

    func scratchFloats(_ g: ConvGeometry, kind: ConvKind) -> Int {
        guard hasFastPath(g, kind: kind) else { return 0 }
        return 0
    }

    func taskCount(_ g: ConvGeometry, kind: ConvKind, threads: Int) -> Int {
        if !hasFastPath(g, kind: kind) { return max(1, min(threads, g.batch * g.outH * g.outW)) }
        return 1
    }

    func run(_ g: ConvGeometry, packed: PackedConvWeights, input: UnsafePointer<Float>,
             output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, task: Int, taskCount: Int) {
        guard let w = packed.plainWeights else {
            preconditionFailure("fast path not wired")
        }
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
