import VSegCore

/// Convolution weights laid out for one ISA's kernels, made once at prepare.
/// Opaque: only `ConvKernels.run` reads it.
public final class PackedConvWeights: @unchecked Sendable {
    let kind: ConvKind
    let geometry: ConvGeometry
    let isa: KernelISA
    /// ISA-specific packed panels (nil when this conv runs on the reference path).
    let packed: UnsafeMutablePointer<Float>?
    let packedCount: Int
    /// Plain copies for the reference path (nil when the fast path covers the conv).
    let plainWeights: UnsafeMutablePointer<Float>?
    let plainBias: UnsafeMutablePointer<Float>?

    init(kind: ConvKind, geometry g: ConvGeometry, isa: KernelISA, weights: UnsafePointer<Float>,
         weightCount: Int, bias: UnsafePointer<Float>?) {
        self.kind = kind
        self.geometry = g
        self.isa = isa
        let fast = isa.hasFastPath(g, kind: kind)
        if fast {
            let count = isa.packedFloats(g, kind: kind)
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            isa.pack(g, kind: kind, weights: weights, bias: bias, into: p)
            packed = p; packedCount = count
            plainWeights = nil; plainBias = nil
        } else {
            packed = nil; packedCount = 0
            let w = UnsafeMutablePointer<Float>.allocate(capacity: max(weightCount, 1))
            w.initialize(from: weights, count: weightCount)
            plainWeights = w
            if let bias {
                let b = UnsafeMutablePointer<Float>.allocate(capacity: g.outC)
                b.initialize(from: bias, count: g.outC)
                plainBias = b
            } else {
                plainBias = nil
            }
        }
    }

    deinit {
        packed?.deallocate()
        plainWeights?.deallocate()
        plainBias?.deallocate()
    }
}
