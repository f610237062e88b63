import CKernels
import VSegCore

/// Which convolution a geometry describes.
public enum ConvKind: Sendable {
    /// Dense conv, `groups >= 1`.
    case dense
    /// Depthwise conv: `groups == inC`, `outC == inC * multiplier`.
    case depthwise
    /// Transposed conv; `padTop`/`padLeft` are cropped from the full output.
    case transposed
}

/// The FP32 convolution kernels of the engine.
///
/// Use: at prepare, `pack…` the weights once and allocate `scratchFloats` floats
/// per task that can run at the same time; per inference call `run` for every
/// task in `0..<taskCount(…)` (tasks are independent and may run on any thread).
/// `run` makes no heap allocation. Results do not depend on the task split.
///
/// Fast paths (Swift SIMD, one source compiled per ISA in VSegKernelsAVX512 /
/// VSegKernelsAVX2 / VSegKernelsPortable, see Sources/VSegKernelsShared):
/// - dense, any groups: indirect GEMM, register tile 8x32 (AVX-512), 6x16
///   (AVX2), 6x8 (portable); a 1x1 stride-1 conv reads the NHWC input as the
///   GEMM's A matrix; one output channel (per group) uses a dot-product kernel.
/// - depthwise, multiplier 1: direct, vectorized over channels.
/// - transposed, groups == 1: gather form, one indirect GEMM per output phase.
/// Grouped transposed convs and depthwise multiplier > 1 run the
/// `ReferenceConv` twin (split into tasks by output pixels).
public enum ConvKernels {
    /// "avx512" | "avx2" | "portable" (or "reference"), picked once from CPU
    /// features. `VSEG_ISA=avx2|portable|reference` lowers it, for testing.
    public static var isaName: String { selectedISA.name }

    static let selectedISA: KernelISA = KernelISA.select()

    public static func packDense(_ g: ConvGeometry, weights: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>?) -> PackedConvWeights {
        precondition(g.groups >= 1 && g.inC % g.groups == 0 && g.outC % g.groups == 0, "bad groups in \(g)")
        return PackedConvWeights(kind: .dense, geometry: g, isa: selectedISA, weights: weights,
                                 weightCount: g.outC * g.kH * g.kW * (g.inC / g.groups), bias: bias)
    }

    public static func packDepthwise(_ g: ConvGeometry, weights: UnsafePointer<Float>,
                                     bias: UnsafePointer<Float>?) -> PackedConvWeights {
        precondition(g.groups == g.inC && g.outC % g.inC == 0, "depthwise needs groups == inC, outC = inC * m: \(g)")
        return PackedConvWeights(kind: .depthwise, geometry: g, isa: selectedISA, weights: weights,
                                 weightCount: g.kH * g.kW * g.outC, bias: bias)
    }

    public static func packTransposed(_ g: ConvGeometry, weights: UnsafePointer<Float>,
                                      bias: UnsafePointer<Float>?) -> PackedConvWeights {
        precondition(g.groups >= 1 && g.inC % g.groups == 0 && g.outC % g.groups == 0, "bad groups in \(g)")
        return PackedConvWeights(kind: .transposed, geometry: g, isa: selectedISA, weights: weights,
                                 weightCount: g.outC * g.kH * g.kW * (g.inC / g.groups), bias: bias)
    }

    /// Floats of scratch one task needs; allocate once per concurrently running task.
    public static func scratchFloats(_ g: ConvGeometry, kind: ConvKind) -> Int {
        selectedISA.scratchFloats(g, kind: kind)
    }

    /// How many tasks to split one run into for `threads` worker threads.
    public static func taskCount(_ g: ConvGeometry, kind: ConvKind, threads: Int) -> Int {
        selectedISA.taskCount(g, kind: kind, threads: threads)
    }

    /// Computes task `task` of `taskCount` into `output` (NHWC). No heap allocation.
    /// `g` may differ from the packing geometry in batch and spatial sizes (a
    /// re-planned input size), not in channels, kernel or groups; a transposed
    /// conv also keeps its strides, dilations and crops.
    public static func run(_ g: ConvGeometry, kind: ConvKind, packed: PackedConvWeights,
                           input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                           scratch: UnsafeMutablePointer<Float>, task: Int, taskCount: Int) {
        let p = packed.geometry
        precondition(packed.kind == kind && p.outC == g.outC && p.kH == g.kH && p.kW == g.kW && p.inC == g.inC
                     && p.groups == g.groups,
                     "packed weights were made for another conv")
        // Transposed weights are packed per output phase, which depends on these.
        precondition(kind != .transposed || (p.strideH == g.strideH && p.strideW == g.strideW
                     && p.dilationH == g.dilationH && p.dilationW == g.dilationW
                     && p.padTop == g.padTop && p.padLeft == g.padLeft),
                     "transposed conv weights were packed for other strides/dilations/crops")
        packed.isa.run(g, packed: packed, input: input, output: output, scratch: scratch,
                       task: task, taskCount: taskCount)
    }
}
