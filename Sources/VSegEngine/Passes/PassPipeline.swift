/// The load-time pipeline that turns an imported graph into the one the
/// planner sees, for fixed input shapes. Order:
/// 1. topological sort;
/// 2. shape inference with constant folding (fp16 dequantize, shape subgraphs);
/// 3. dead-node elimination (drops what folding orphaned);
/// 4. BN folding (per-channel Mul/Add after a conv into weights and bias);
/// 5. activation fusion (Relu/Relu6/Clip into the conv clamp, others as post-ops);
/// 6. dead-node elimination again.
/// Identity/Reshape/Squeeze/Unsqueeze aliasing is done by the planner.
public enum PassPipeline {
    /// Statistics of one run, for `vseg inspect`.
    public struct Report: Sendable {
        public var nodesIn = 0, nodesOut = 0, folded = 0, deadRemoved = 0, bnFolded = 0, activationsFused = 0
    }

    /// `clampsOnly`: fuse only clamp activations (the form INT8 and calibration use).
    public static func run(_ source: Graph, inputShapes: [[Int]]? = nil, clampsOnly: Bool = false) throws -> (Graph, Report) {
        var g = source
        var r = Report()
        r.nodesIn = g.nodes.count
        g.nodes = try ShapeInference.topologicallySorted(g)
        if let shapes = inputShapes {
            guard shapes.count == g.inputs.count else {
                throw EngineError.inputMismatch(detail: "\(shapes.count) input shapes given, the model has \(g.inputs.count) inputs")
            }
            for (k, io) in g.inputs.enumerated() {
                let old = g.tensors[io.tensor].shape
                let new = shapes[k]
                guard new.count == old.count else {
                    throw EngineError.inputMismatch(detail: "input \(io.name) has rank \(old.count), got shape \(new)")
                }
                g.tensors[io.tensor].shape = new
            }
        }
        let before = g.nodes.count
        try ShapeInference.run(&g, fold: true)
        r.folded = before - g.nodes.count
        r.deadRemoved = DeadNodeElimination.run(&g)
        r.bnFolded = BatchNormFolding.run(&g)
        r.activationsFused = ActivationFusion.run(&g, clampsOnly: clampsOnly)
        r.deadRemoved += DeadNodeElimination.run(&g)
        r.nodesOut = g.nodes.count
        return (g, r)
    }
}
