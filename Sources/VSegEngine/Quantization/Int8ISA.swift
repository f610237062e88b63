import CKernels

/// The instruction-set variant of the INT8 C kernels (Sources/CKernels/int8_*.c).
public enum Int8ISA: Int32, Sendable, CaseIterable {
    case portable = 0      // VSEG_Q8_ISA_PORTABLE
    case avx2 = 1          // u8/s8 widened to int16, vpmaddwd
    case avxVNNI = 2       // vpdpbusd ymm
    case avx512VNNI = 3    // vpdpbusd zmm
    case neonDot = 4       // arm64 sdot

    /// Picked once from CPU features; `VSEG_INT8_ISA=avx512vnni|avxvnni|avx2|neondot|portable`
    /// selects another variant the CPU supports.
    public static let selected: Int8ISA = Int8ISA(rawValue: vseg_q8_select_isa()) ?? .portable

    /// Every variant this CPU can run (always includes `.portable`).
    public static var supported: [Int8ISA] { allCases.filter(\.isSupported) }

    public var isSupported: Bool { vseg_q8_isa_supported(rawValue) != 0 }

    public var name: String { String(cString: vseg_q8_isa_name(rawValue)) }

    /// Whether the depthwise kernel has a SIMD path for this variant (up to 64 taps; otherwise portable C).
    public var hasDepthwiseSIMD: Bool { self == .avx512VNNI || self == .avxVNNI || self == .avx2 }
}
