/// Removes nodes none of whose outputs reach a graph output.
enum DeadNodeElimination {
    @discardableResult
    static func run(_ g: inout Graph) -> Int {
        var live = Set(g.outputs.map(\.tensor))
        var keep = [Bool](repeating: false, count: g.nodes.count)
        for i in stride(from: g.nodes.count - 1, through: 0, by: -1) {
            let n = g.nodes[i]
            if n.outputs.contains(where: live.contains) {
                keep[i] = true
                for t in n.inputs where t >= 0 { live.insert(t) }
            }
        }
        let before = g.nodes.count
        g.nodes = g.nodes.enumerated().filter { keep[$0.offset] }.map(\.element)
        return before - g.nodes.count
    }
}
