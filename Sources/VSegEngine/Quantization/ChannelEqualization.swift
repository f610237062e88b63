// Channel equalization: per-channel activation ranges inside a per-tensor scheme.
//
// Per-tensor uint8 activations give every channel of a tensor the same step,
// sized by the widest channel. In MobileNet-style nets (BlazePose's landmark
// net most of all) one ReLU6 channel reaches 6 while its neighbours stay under
// 0.2, so those neighbours get a handful of levels and the error they carry
// grows through the net. Quantizing each channel's activation with its own
// range removed most of that error in an experiment on pose_landmark_full
// (11.9 -> 1.4 px with float weights), but the integer kernels need one scale
// per tensor.
//
// The two are reconciled by rescaling the float graph before it is quantized,
// as in cross-layer equalization (Nagel et al. 2019), with the scales taken
// from the calibration frames instead of from the weights:
//
// - Channel c of an equalized tensor T is multiplied by f_c >= 1: the conv
//   producing T has its output channel c's weights and bias multiplied by f_c.
// - Every reader undoes it: a dense conv divides the weights reading input
//   channel c by f_c; a depthwise conv divides channel c's taps. Pad (no
//   padding across channels, constant 0) and pooling pass the scaled channels
//   through, and their readers undo it in turn.
// - f_c = clamp((hi / max_c)^strength, 1, maxFactor), also limited by lo / min_c
//   when the channel goes negative, where [lo, hi] is T's calibrated per-tensor
//   range and [min_c, max_c] the range channel c reached on the calibration
//   frames. So on those frames every scaled channel still lies in [lo, hi]: the
//   per-tensor range, the uint8 parameters and every other tensor are exactly
//   what they were, and a channel that used 1/30 of the range now uses all of it.
//
// Exactness in float: the rescaled graph computes the same function for every
// input whose activations stay in the calibrated per-channel ranges. Fused
// clamps (ReLU, ReLU6, clip) commute with a factor >= 1 on those values; above
// max_c the rescaled ReLU6 channel saturates earlier (at 6 / f_c >= max_c), where
// INT8 would have clipped it at the tensor's range anyway.
//
// Cost: a dense reader's weights for channel c shrink by f_c while its per-
// output-channel int8 scale stays set by the other channels, so that channel's
// weight rounding error grows by f_c. Depthwise readers have one scale per
// channel and lose nothing. `strength` (0...1) trades the two errors for dense
// readers; readers that are all depthwise always get the full factor.
//
// The factors are the table's `equalize` lines; `apply` runs before
// `QuantizationPass` in INT8 sessions and in `Precision.fp32Equalized` (the float
// twin bias correction measures against).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-channel min and max of one activation over the calibration frames
/// (channels-last, so channel = flat index % channels).
public struct ChannelRange: Sendable, Equatable {
    public private(set) var min: [Float]
    public private(set) var max: [Float]

    public init(channels: Int) {
        min = [Float](repeating: .infinity, count: channels)
        max = [Float](repeating: -.infinity, count: channels)
    }

    public var channels: Int { min.count }

    /// Adds one batch (a whole tensor); non-finite values are skipped.
    public mutating func add(_ values: UnsafeBufferPointer<Float>) {
        let n = min.count
        guard n > 0, values.count % n == 0 else { return }
        min.withUnsafeMutableBufferPointer { lo in
            max.withUnsafeMutableBufferPointer { hi in
                var i = 0
                while i < values.count {
                    for c in 0 ..< n {
                        let v = values[i + c]
                        if v.isFinite {
                            lo[c] = Swift.min(lo[c], v)
                            hi[c] = Swift.max(hi[c], v)
                        }
                    }
                    i += n
                }
            }
        }
    }
}

public enum ChannelEqualization {
    /// Strength for tensors read by a dense conv (see the file header).
    public static let defaultStrength: Float = 0.5
    /// Largest factor given to a channel (a nearly dead channel is not blown up).
    public static let maxFactor: Float = 64

    /// How the channels of one tensor reach the convs that undo the scaling.
    struct Site {
        var producer: Int
        var tensor: Int
        /// Nodes whose weights divide by the factors (dense or depthwise convs).
        var readers: [Int]
        /// Pad / pooling outputs carrying the scaled channels.
        var passThrough: [Int]
        var denseReader: Bool
    }

    /// Tensors that can be equalized in `g` (an FP32 graph after `PassPipeline`,
    /// clamps only), keyed by `Session.tensorKeys`, with their channel counts.
    public static func candidates(_ g: Graph) -> [String: Int] {
        let keys = Session.tensorKeys(g)
        var out: [String: Int] = [:]
        for s in sites(g) { out[keys[s.tensor]] = g.tensors[s.tensor].shape.last ?? 0 }
        return out
    }

    static func sites(_ g: Graph) -> [Site] {
        let uses = GraphUses(g)
        var out: [Site] = []
        for (i, node) in g.nodes.enumerated() {
            guard node.outputs.count == 1, let site = site(i, node, g, uses) else { continue }
            out.append(site)
        }
        return out
    }

    private static func floatConstant(_ g: Graph, _ t: Int) -> Bool {
        t >= 0 && t < g.tensors.count && g.tensors[t].data?.dtype == .float32
    }

    private static func site(_ i: Int, _ node: Node, _ g: Graph, _ uses: GraphUses) -> Site? {
        let attrs: ConvAttrs
        switch node.op {
        case let .conv2D(a), let .depthwiseConv2D(a, _): attrs = a
        default: return nil
        }
        guard let clamp = attrs.activation.clampRange, clamp.lo <= 0, clamp.hi >= 0 else { return nil }
        guard node.inputs.count >= 2, floatConstant(g, node.inputs[1]) else { return nil }
        if node.inputs.count > 2, node.inputs[2] >= 0, !floatConstant(g, node.inputs[2]) { return nil }
        let t = node.outputs[0]
        guard g.tensors[t].shape.count == 4, let channels = g.tensors[t].shape.last, channels > 1 else { return nil }
        var readers: [Int] = [], pass: [Int] = []
        var dense = false
        func follow(_ t: Int, depth: Int) -> Bool {
            guard !uses.graphOutputs.contains(t), let cs = uses.consumers[t], !cs.isEmpty, depth < 4 else { return false }
            for c in cs {
                let n = g.nodes[c]
                guard n.inputs.firstIndex(of: t) == 0, n.inputs.dropFirst().allSatisfy({ $0 != t }) else { return false }
                switch n.op {
                case let .conv2D(a) where a.groups == 1:
                    guard floatConstant(g, n.inputs[1]) else { return false }
                    dense = true
                    readers.append(c)
                case .depthwiseConv2D:
                    guard floatConstant(g, n.inputs[1]) else { return false }
                    readers.append(c)
                case let .pad(mode):
                    guard let p = g.tensors[n.inputs[1]].data?.asInts, p.count == 8, p[6] == 0, p[7] == 0 else { return false }
                    if mode == .constant, n.inputs.count > 2, n.inputs[2] >= 0 {
                        guard let v = g.tensors[n.inputs[2]].data?.asFloats, v.allSatisfy({ $0 == 0 }) else { return false }
                    }
                    pass.append(n.outputs[0])
                    guard follow(n.outputs[0], depth: depth + 1) else { return false }
                case let .pool(a) where a.activation == .none:
                    pass.append(n.outputs[0])
                    guard follow(n.outputs[0], depth: depth + 1) else { return false }
                default:
                    return false
                }
            }
            return true
        }
        guard follow(t, depth: 0) else { return nil }
        return Site(producer: i, tensor: t, readers: readers, passThrough: pass, denseReader: dense)
    }

    /// The factors for one tensor, nil when every factor would be 1.
    /// `lo`/`hi`: the tensor's calibrated range; `range`: its channels' ranges.
    public static func factors(lo: Float, hi: Float, range: ChannelRange, strength: Float,
                               maxFactor: Float = maxFactor) -> [Float]? {
        var f = [Float](repeating: 1, count: range.channels)
        var any = false
        for c in 0 ..< range.channels {
            let mn = range.min[c], mx = range.max[c]
            guard mn <= mx else { continue }   // never observed
            var limit = maxFactor
            if mx > 0 { limit = Swift.min(limit, hi / mx) }
            if mn < 0 { limit = Swift.min(limit, lo / mn) }
            guard mx > 0 || mn < 0, limit > 1 else { continue }
            // Rounded to 1/1024 so the table's decimal text is short and exact.
            let v = (Float(pow(Double(limit), Double(strength))) * 1024).rounded(.down) / 1024
            if v > 1 { f[c] = v; any = true }
        }
        return any ? f : nil
    }

    /// Fills the `equalization` of every candidate entry of `table` from the
    /// per-channel ranges measured on the same frames; pass-through tensors
    /// (Pad, pooling outputs) take their producer's range. Entries marked fp32
    /// are left alone. Returns how many tensors got factors.
    @discardableResult
    public static func plan(_ g: Graph, table: inout QuantTable, ranges: [String: ChannelRange],
                            strength: Float = defaultStrength) -> Int {
        let keys = Session.tensorKeys(g)
        var index: [String: Int] = [:]
        for (i, e) in table.entries.enumerated() { index[e.key] = i }
        var planned = 0
        for s in sites(g) {
            let key = keys[s.tensor]
            guard let i = index[key], !table.entries[i].keepFP32, let r = ranges[key],
                  r.channels == g.tensors[s.tensor].shape.last else { continue }
            let e = table.entries[i]
            let lo = e.quant.scale * Float(0 - e.quant.zeroPoint), hi = e.quant.scale * Float(255 - e.quant.zeroPoint)
            let strength = s.denseReader ? strength : 1
            guard let f = factors(lo: Swift.max(lo, e.min), hi: Swift.min(hi, e.max), range: r, strength: strength) else {
                continue
            }
            table.entries[i].equalization = f
            for p in s.passThrough {
                guard let j = index[keys[p]] else { continue }
                table.entries[j].min = e.min
                table.entries[j].max = e.max
                table.entries[j].quant = e.quant
            }
            planned += 1
        }
        return planned
    }

    /// Rescales `g` (FP32, after `PassPipeline`) by the table's factors. Throws
    /// when a factor list names a tensor that cannot be equalized or has the
    /// wrong length.
    public static func apply(_ source: Graph, table: [String: TensorQuantization]) throws -> Graph {
        guard table.values.contains(where: { $0.equalization != nil }) else { return source }
        var g = source
        let keys = Session.tensorKeys(g)
        let all = sites(g)
        var byTensor: [Int: Site] = [:]
        for s in all { byTensor[s.tensor] = s }
        for (t, key) in keys.enumerated() {
            guard let f = table[key]?.equalization else { continue }
            guard let s = byTensor[t] else {
                throw EngineError.tableMismatch(tensor: key, detail: "its equalize line names a tensor that is not a conv output read only by convs (through Pad/pooling)")
            }
            let channels = g.tensors[t].shape.last ?? 0
            guard f.count == channels, f.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw EngineError.tableMismatch(tensor: key, detail: "its equalize line has \(f.count) values for \(channels) channels (all must be positive)")
            }
            if case let .depthwiseConv2D(_, m) = g.nodes[s.producer].op {
                scaleDepthwise(&g, s.producer, factor: f, multiplier: m, divide: false, tag: "equalized")
            } else {
                scaleDenseOutput(&g, s.producer, factor: f)
            }
            for r in s.readers {
                if case let .depthwiseConv2D(_, m) = g.nodes[r].op {
                    scaleDepthwise(&g, r, factor: f, multiplier: m, divide: true, tag: "unequalized")
                } else {
                    scaleDenseInput(&g, r, factor: f)
                }
            }
        }
        return g
    }

    private static func replace(_ g: inout Graph, _ node: Int, input k: Int, _ values: [Float], tag: String) {
        let old = g.tensors[g.nodes[node].inputs[k]]
        g.nodes[node].inputs[k] = g.addConstant(name: old.name + "/" + tag, shape: old.shape, data: .float32(values))
    }

    private static func scaleBias(_ g: inout Graph, _ node: Int, _ f: [Float]) {
        let n = g.nodes[node]
        guard n.inputs.count > 2, n.inputs[2] >= 0, var b = g.tensors[n.inputs[2]].data?.asFloats, b.count == f.count else { return }
        for c in b.indices { b[c] *= f[c] }
        replace(&g, node, input: 2, b, tag: "equalized")
    }

    /// OHWI weights: output channel c is the block c*per ..< (c+1)*per.
    private static func scaleDenseOutput(_ g: inout Graph, _ node: Int, factor f: [Float]) {
        var w = g.tensors[g.nodes[node].inputs[1]].data!.asFloats
        let per = w.count / f.count
        for c in f.indices where f[c] != 1 { for i in c * per ..< (c + 1) * per { w[i] *= f[c] } }
        replace(&g, node, input: 1, w, tag: "equalized")
        scaleBias(&g, node, f)
    }

    /// OHWI weights: input channel c is every inC-th element from c.
    private static func scaleDenseInput(_ g: inout Graph, _ node: Int, factor f: [Float]) {
        var w = g.tensors[g.nodes[node].inputs[1]].data!.asFloats
        let n = f.count
        var i = 0
        while i < w.count {
            for c in 0 ..< n { w[i + c] /= f[c] }
            i += n
        }
        replace(&g, node, input: 1, w, tag: "unequalized")
    }

    /// Depthwise [kH, kW, C*m]: output channel c*m+k reads input channel c.
    /// Producer side (`divide` false): `f` is per output channel, bias scaled too.
    private static func scaleDepthwise(_ g: inout Graph, _ node: Int, factor f: [Float], multiplier m: Int,
                                       divide: Bool, tag: String) {
        var w = g.tensors[g.nodes[node].inputs[1]].data!.asFloats
        let outC = divide ? f.count * m : f.count
        var i = 0
        while i < w.count {
            for o in 0 ..< outC {
                if divide { w[i + o] /= f[o / m] } else { w[i + o] *= f[o] }
            }
            i += outC
        }
        replace(&g, node, input: 1, w, tag: tag)
        if !divide { scaleBias(&g, node, f) }
    }
}
