/// Who reads each tensor; shared by the rewriting passes.
struct GraphUses {
    /// consumers[t] = indices of nodes reading tensor t.
    var consumers: [Int: [Int]] = [:]
    var graphOutputs: Set<Int>

    init(_ g: Graph) {
        graphOutputs = Set(g.outputs.map(\.tensor))
        for (i, n) in g.nodes.enumerated() { for t in n.inputs where t >= 0 { consumers[t, default: []].append(i) } }
    }

    /// The single node reading `t`, if `t` has exactly one reader and is not a graph output.
    func soleConsumer(_ t: Int) -> Int? {
        guard !graphOutputs.contains(t), let c = consumers[t], c.count == 1 else { return nil }
        return c[0]
    }
}
