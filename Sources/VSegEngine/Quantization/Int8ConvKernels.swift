import CKernels
import VSegCore

/// How a packed INT8 conv runs.
public enum Int8ConvKind: Sendable {
    /// 1x1, stride 1, no padding: the NHWC input is the GEMM's A matrix.
    case gemm
    /// Any other dense conv (groups 1): indirect GEMM over an indirection buffer made at prepare.
    case indirect
    /// Depthwise, multiplier 1.
    case depthwise
}

/// INT8 conv weights packed for the C kernels plus everything `run` needs
/// (indirection offsets, the zero-point padding row, output params), all made
/// once at prepare. The geometry is fixed: a new input size needs a new pack.
public final class Int8PackedConv: @unchecked Sendable {
    public let geometry: ConvGeometry
    public let kind: Int8ConvKind
    public let isa: Int8ISA
    public let inputZeroPoint: Int32
    public let output: Int8OutputParams
    let packed: UnsafeMutableRawPointer
    /// `.indirect`: byte offsets into the input, `[batch * outH * outW][kH * kW]`, -1 for padding.
    let offsets: UnsafeMutablePointer<Int64>?
    /// `inC` bytes of `inputZeroPoint`: what padding taps read.
    let zero: UnsafeMutablePointer<UInt8>
    let params: UnsafeMutablePointer<vseg_q8_output_params>
    let dw: UnsafeMutablePointer<vseg_q8_dw_geometry>?
    /// Dense convs with a row-flat pack: the geometry that kernel reads.
    var denseFlat: UnsafeMutablePointer<vseg_q8_conv_geometry>?
    /// Weights in the row-flat layout (stride 1 on AVX-512 VNNI: depthwise, or dense
    /// with few output channels), nil when that kernel does not apply.
    var flat: UnsafeMutableRawPointer?
    /// Depthwise weights for the per-pixel four-tap kernel (AVX-512 VNNI), packed when
    /// the row-flat kernel does not apply (stride > 1); nil otherwise.
    var tap4: UnsafeMutableRawPointer?
    /// Scratch bytes one task of the row-flat kernel needs (0: no row-flat kernel).
    public internal(set) var scratchBytes = 0

    init(geometry g: ConvGeometry, kind: Int8ConvKind, isa: Int8ISA, inputZeroPoint: Int32, output: Int8OutputParams,
         packedBytes: Int) {
        precondition(isa.isSupported, "INT8 ISA \(isa.name) does not run on this CPU")
        precondition((0...255).contains(inputZeroPoint), "input zero point \(inputZeroPoint) outside 0...255")
        geometry = g
        self.kind = kind
        self.isa = isa
        self.inputZeroPoint = inputZeroPoint
        self.output = output
        packed = UnsafeMutableRawPointer.allocate(byteCount: max(packedBytes, 1), alignment: 64)
        zero = UnsafeMutablePointer<UInt8>.allocate(capacity: max(g.inC, 1))
        zero.initialize(repeating: UInt8(inputZeroPoint), count: max(g.inC, 1))
        params = UnsafeMutablePointer<vseg_q8_output_params>.allocate(capacity: 1)
        params.initialize(to: output.c)
        if kind == .indirect {
            let taps = g.kH * g.kW, pixels = g.batch * g.outH * g.outW
            let o = UnsafeMutablePointer<Int64>.allocate(capacity: max(pixels * taps, 1))
            for p in 0..<pixels {
                let b = p / (g.outH * g.outW), oy = (p / g.outW) % g.outH, ox = p % g.outW
                for ky in 0..<g.kH {
                    let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                    for kx in 0..<g.kW {
                        let ix = ox * g.strideW - g.padLeft + kx * g.dilationW
                        let inside = iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW
                        o[p * taps + ky * g.kW + kx] = inside ? Int64(((b * g.inH + iy) * g.inW + ix) * g.inC) : -1
                    }
                }
            }
            offsets = o
        } else {
            offsets = nil
        }
        if kind == .depthwise {
            let d = UnsafeMutablePointer<vseg_q8_dw_geometry>.allocate(capacity: 1)
            d.initialize(to: vseg_q8_dw_geometry(
                in_h: Int32(g.inH), in_w: Int32(g.inW), channels: Int32(g.inC), out_h: Int32(g.outH),
                out_w: Int32(g.outW), k_h: Int32(g.kH), k_w: Int32(g.kW), stride_h: Int32(g.strideH),
                stride_w: Int32(g.strideW), dilation_h: Int32(g.dilationH), dilation_w: Int32(g.dilationW),
                pad_top: Int32(g.padTop), pad_left: Int32(g.padLeft)))
            dw = d
        } else {
            dw = nil
        }
    }

    deinit {
        flat?.deallocate()
        tap4?.deallocate()
        denseFlat?.deallocate()
        packed.deallocate()
        offsets?.deallocate()
        zero.deallocate()
        params.deallocate()
        dw?.deallocate()
    }
}

/// The INT8 convolution kernels (scheme: QuantScheme.swift), shaped like the
/// FP32 `ConvKernels`: pack once at prepare, then per inference call `run` every
/// task in `0..<taskCount(…)` (independent, any thread). `run` makes no heap
/// allocation and its result does not depend on the task split.
///
/// Inputs and outputs are NHWC uint8. Dense weights are int8 OHWI
/// `[outC, kH, kW, inC]`, depthwise weights `[kH, kW, C]`; bias is int32 in units
/// of `inputScale * weightScale[c]`; `scales[c]` is the requantization scale
/// (`QuantScheme.requantScales`).
public enum Int8ConvKernels {
    /// The variant new packs use by default.
    public static var isaName: String { Int8ISA.selected.name }

    /// Rows of output pixels per task are a multiple of this (lcm of the variants' MR).
    static let rowAlign = 12

    public static func packDense(_ g: ConvGeometry, weights: UnsafePointer<Int8>, bias: UnsafePointer<Int32>?,
                                 scales: UnsafePointer<Float>, inputZeroPoint: Int32, output: Int8OutputParams,
                                 isa: Int8ISA = .selected) -> Int8PackedConv {
        precondition(g.groups == 1, "INT8 dense conv kernels need groups == 1: \(g)")
        let direct = g.kH == 1 && g.kW == 1 && g.strideH == 1 && g.strideW == 1 && g.padTop == 0 && g.padLeft == 0
            && g.outH == g.inH && g.outW == g.inW
        let taps = g.kH * g.kW
        let bytes = vseg_q8_packed_gemm_size(g.outC, taps, g.inC)
        let p = Int8PackedConv(geometry: g, kind: direct ? .gemm : .indirect, isa: isa,
                               inputZeroPoint: inputZeroPoint, output: output, packedBytes: bytes)
        vseg_q8_pack_gemm(g.outC, taps, g.inC, weights, bias, scales, inputZeroPoint, p.packed)
        if denseFlatApplies(g, output: output, isa: isa), var cg = flatGeometry(g) {
            let f = UnsafeMutableRawPointer.allocate(byteCount: vseg_q8_packed_convflat_size(g.outC, taps), alignment: 64)
            vseg_q8_pack_convflat(g.outC, taps, g.inC, weights, bias, scales, inputZeroPoint, f)
            p.flat = f
            p.denseFlat = .allocate(capacity: 1)
            p.denseFlat!.initialize(to: cg)
            p.scratchBytes = vseg_q8_convflat_scratch_size(&cg)
        }
        return p
    }

    /// Whether a dense conv of geometry `g` with `output` runs the row-flat kernel
    /// on `isa` (stride 1, few output channels; see ckernels_int8.h) when given scratch.
    public static func denseFlatApplies(_ g: ConvGeometry, output: Int8OutputParams, isa: Int8ISA = .selected) -> Bool {
        guard g.groups == 1, var cg = flatGeometry(g) else { return false }
        var params = output.c
        return vseg_q8_convflat_supported(isa.rawValue, &cg, &params) != 0
    }

    static func flatGeometry(_ g: ConvGeometry) -> vseg_q8_conv_geometry? {
        let dims = [g.inH, g.inW, g.inC, g.outH, g.outW, g.outC, g.kH, g.kW, g.strideH, g.strideW,
                    g.dilationH, g.dilationW, g.padTop, g.padLeft]
        guard dims.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }) else { return nil }
        return vseg_q8_conv_geometry(
            in_h: Int32(g.inH), in_w: Int32(g.inW), in_c: Int32(g.inC), out_h: Int32(g.outH), out_w: Int32(g.outW),
            out_c: Int32(g.outC), k_h: Int32(g.kH), k_w: Int32(g.kW), stride_h: Int32(g.strideH),
            stride_w: Int32(g.strideW), dilation_h: Int32(g.dilationH), dilation_w: Int32(g.dilationW),
            pad_top: Int32(g.padTop), pad_left: Int32(g.padLeft))
    }

    public static func packDepthwise(_ g: ConvGeometry, weights: UnsafePointer<Int8>, bias: UnsafePointer<Int32>?,
                                     scales: UnsafePointer<Float>, inputZeroPoint: Int32, output: Int8OutputParams,
                                     isa: Int8ISA = .selected) -> Int8PackedConv {
        precondition(g.groups == g.inC && g.outC == g.inC, "INT8 depthwise kernels need multiplier 1: \(g)")
        precondition(!output.floatOutput, "INT8 depthwise kernels write uint8 only")
        let taps = g.kH * g.kW
        let p = Int8PackedConv(geometry: g, kind: .depthwise, isa: isa, inputZeroPoint: inputZeroPoint,
                               output: output, packedBytes: vseg_q8_packed_dw_size(g.inC, taps))
        vseg_q8_pack_dw(g.inC, taps, weights, bias, scales, inputZeroPoint, p.packed)
        if let d = p.dw, vseg_q8_dwflat_supported(isa.rawValue, d) != 0 {
            let f = UnsafeMutableRawPointer.allocate(byteCount: max(vseg_q8_packed_dwflat_size(g.inC, taps), 1), alignment: 64)
            vseg_q8_pack_dwflat(g.inC, taps, weights, bias, scales, inputZeroPoint, f)
            p.flat = f
            p.scratchBytes = vseg_q8_dwflat_scratch_size(d)
        } else if let d = p.dw, vseg_q8_dwtap4_supported(isa.rawValue, d) != 0 {
            let f = UnsafeMutableRawPointer.allocate(byteCount: max(vseg_q8_packed_dwtap4_size(g.inC, taps), 1), alignment: 64)
            vseg_q8_pack_dwtap4(g.inC, taps, weights, bias, scales, inputZeroPoint, f)
            p.tap4 = f
        }
        return p
    }

    /// Work units the rows are split into (`.gemm`/`.indirect`: blocks of `rowAlign` output
    /// pixels, or output rows when the pack has a row-flat form; `.depthwise`: output rows).
    static func units(_ p: Int8PackedConv) -> Int {
        let g = p.geometry
        return p.kind == .depthwise || p.flat != nil ? g.batch * g.outH : (g.batch * g.outH * g.outW + rowAlign - 1) / rowAlign
    }

    /// How many tasks to split one run into for `threads` worker threads: one
    /// on a single thread, otherwise four per thread (so a thread that lost its
    /// core to another process delays a quarter share, not a whole one).
    /// Row-flat kernels (`p.flat`) first pad the `kH - 1` input rows above a
    /// task's first output row into their ring: a task gets at least `2 (kH - 1)`
    /// output rows, so re-padding stays under half of its copying, but there are
    /// still at least as many tasks as threads. Before, 16x16 5x5 depthwise
    /// layers split into 8 tasks of 2 rows padded 3x the rows they used, and
    /// pose_landmark_full's depthwise layers ran only 1.29x faster on 2 threads
    /// than on 1 (1.63x with this; `vseg bench --profile`, same session).
    public static func taskCount(_ p: Int8PackedConv, threads: Int) -> Int {
        let units = units(p)
        guard p.flat != nil, threads > 1 else { return tasks(units: units, threads: threads) }
        let minRows = max(1, 2 * (p.geometry.kH - 1))
        return max(min(threads, units), tasks(units: units / minRows, threads: threads))
    }

    static func tasks(units: Int, threads: Int) -> Int {
        max(1, min(threads <= 1 ? 1 : threads * 4, units))
    }

    /// Computes task `task` of `taskCount` into `output` (uint8, or the bytes of a
    /// float32 buffer when the pack's output params are `.float`). No heap allocation.
    /// `scratch` (`p.scratchBytes` bytes, one per concurrently running task)
    /// enables the row-flat kernel (depthwise, or dense with few output channels);
    /// without it the per-pixel depthwise kernel or the GEMM runs.
    public static func run(_ p: Int8PackedConv, input: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>,
                           task: Int, taskCount: Int, scratch: UnsafeMutableRawPointer? = nil) {
        precondition(taskCount >= 1 && (0..<taskCount).contains(task), "task \(task) of \(taskCount)")
        let g = p.geometry
        let units = units(p)
        let u0 = units * task / taskCount, u1 = units * (task + 1) / taskCount
        if u0 >= u1 { return }
        let isa = p.isa.rawValue
        switch p.kind {
        case .gemm, .indirect:
            let es = p.output.floatOutput ? 4 : 1  // float32 output: `output` holds floats, strides in bytes
            if let flat = p.flat, let cg = p.denseFlat {
                if let scratch, p.scratchBytes > 0 {
                    var r = u0
                    while r < u1 {
                        let b = r / g.outH, y0 = r % g.outH
                        let y1 = min(g.outH, y0 + (u1 - r))
                        vseg_q8_convflat(cg, input + b * g.inH * g.inW * g.inC, flat,
                                         output + b * g.outH * g.outW * g.outC * es, Int32(y0), Int32(y1), p.params,
                                         scratch.assumingMemoryBound(to: UInt8.self), p.inputZeroPoint)
                        r += y1 - y0
                    }
                    return
                }
            }
            let pixels = g.batch * g.outH * g.outW
            let perUnit = p.flat != nil ? g.outW : rowAlign
            let m0 = u0 * perUnit, m1 = min(pixels, u1 * perUnit)
            let out = output + m0 * g.outC * es
            if let offsets = p.offsets {
                let taps = g.kH * g.kW
                vseg_q8_igemm(isa, m1 - m0, g.outC, taps, g.inC, offsets + m0 * taps, input, p.zero,
                              p.packed, out, g.outC * es, p.params)
            } else {
                vseg_q8_gemm(isa, m1 - m0, g.outC, g.inC, input + m0 * g.inC, g.inC, p.packed, out, g.outC * es,
                             p.params)
            }
        case .depthwise:
            if let flat = p.flat, let scratch, p.scratchBytes > 0 {
                var r = u0
                while r < u1 {
                    let b = r / g.outH, y0 = r % g.outH
                    let y1 = min(g.outH, y0 + (u1 - r))
                    vseg_q8_dwconv_flat(p.dw!, input + b * g.inH * g.inW * g.inC, flat, output + b * g.outH * g.outW * g.outC,
                                        Int32(y0), Int32(y1), p.params, scratch.assumingMemoryBound(to: UInt8.self),
                                        p.inputZeroPoint)
                    r += y1 - y0
                }
                return
            }
            var r = u0
            while r < u1 {
                let b = r / g.outH, y0 = r % g.outH
                let y1 = min(g.outH, y0 + (u1 - r))
                let x = input + b * g.inH * g.inW * g.inC, y = output + b * g.outH * g.outW * g.outC
                if let tap4 = p.tap4 {
                    vseg_q8_dwconv_tap4(p.dw!, x, p.zero, tap4, y, Int32(y0), Int32(y1), p.params)
                } else {
                    vseg_q8_dwconv(isa, p.dw!, x, p.zero, p.packed, y, Int32(y0), Int32(y1), p.params)
                }
                r += y1 - y0
            }
        }
    }
}
