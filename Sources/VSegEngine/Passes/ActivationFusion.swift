/// Fuses a standalone activation into the op before it: conv, depthwise conv,
/// transposed conv, binary and pooling nodes with no activation yet, whose
/// output feeds only that activation. Clamp-like activations become the conv
/// kernel's output clamp; others (HardSwish, Sigmoid, ...) run as an in-place
/// post-op of the producing node.
enum ActivationFusion {
    @discardableResult
    /// `clampsOnly`: fuse only clamp-like activations (ReLU, ReLU6, Clip), so
    /// Sigmoid/HardSwish/... stay nodes of their own (the INT8 graph runs them
    /// as lookup tables and calibration needs the tensor before them).
    static func run(_ g: inout Graph, clampsOnly: Bool = false) -> Int {
        var fused = 0
        var removed = Set<Int>()
        let uses = GraphUses(g)
        for i in 0 ..< g.nodes.count where !removed.contains(i) {
            guard g.nodes[i].outputs.count == 1, let c = uses.soleConsumer(g.nodes[i].outputs[0]), !removed.contains(c),
                  case let .unary(act) = g.nodes[c].op, g.nodes[c].inputs.first == g.nodes[i].outputs[0] else { continue }
            if clampsOnly && act.clampRange == nil { continue }
            guard let op = withActivation(g.nodes[i].op, act) else { continue }
            g.nodes[i].op = op
            g.nodes[i].outputs = g.nodes[c].outputs
            removed.insert(c)
            fused += 1
        }
        g.nodes = g.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        return fused
    }

    /// `op` with `act` fused, or nil if `op` cannot take it (or already has one).
    static func withActivation(_ op: Op, _ act: Activation) -> Op? {
        switch op {
        case var .conv2D(a) where a.activation.isIdentity:
            a.activation = act; return .conv2D(a)
        case .depthwiseConv2D(var a, let m) where a.activation.isIdentity:
            a.activation = act; return .depthwiseConv2D(a, multiplier: m)
        case .transposeConv2D(var a, let p) where a.activation.isIdentity:
            a.activation = act; return .transposeConv2D(a, outputPadding: p)
        case let .binary(k, cur) where cur.isIdentity:
            return .binary(k, activation: act)
        case var .pool(a) where a.activation.isIdentity:
            a.activation = act; return .pool(a)
        default:
            return nil
        }
    }
}
