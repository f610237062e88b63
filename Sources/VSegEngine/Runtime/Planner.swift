/// Activation memory plan: every non-constant tensor gets an offset in one
/// arena. Tensors that alias (Reshape/Squeeze/Unsqueeze/Identity outputs) share
/// one storage. Each storage lives from the node that writes it to the last
/// node that reads it (graph inputs from before the first node, graph outputs
/// to after the last). Offsets are assigned greedily, largest storage first,
/// each into the smallest gap (best fit) among already placed storages whose
/// lifetimes overlap; offsets are 64-byte aligned.
struct MemoryPlan {
    struct Storage {
        var bytes: Int
        var first: Int
        var last: Int
        var offset = 0
    }

    static let alignment = 64

    /// storage index per tensor, nil for constants and unused tensors.
    var storageOf: [Int?]
    var storages: [Storage]
    /// Arena size: the high-water mark of the plan.
    var arenaBytes: Int
    /// Sum of all activation sizes without reuse, for comparison.
    var unsharedBytes: Int

    init(graph g: Graph) {
        var storageOf = [Int?](repeating: nil, count: g.tensors.count)
        var storages: [Storage] = []
        func bytes(_ t: Int) -> Int { max(g.tensors[t].shape.reduce(1, *) * g.tensors[t].dtype.byteSize, 1) }
        func storage(for t: Int, at step: Int) -> Int {
            if let s = storageOf[t] { return s }
            storages.append(Storage(bytes: bytes(t), first: step, last: step))
            storageOf[t] = storages.count - 1
            return storages.count - 1
        }
        for io in g.inputs where !g.tensors[io.tensor].isConstant { _ = storage(for: io.tensor, at: -1) }
        for (step, n) in g.nodes.enumerated() {
            for t in n.inputs where t >= 0 && !g.tensors[t].isConstant {
                let s = storage(for: t, at: step)
                storages[s].last = max(storages[s].last, step)
            }
            for (k, t) in n.outputs.enumerated() where !g.tensors[t].isConstant {
                if k == 0, OpRegistry.outputAliasesInput(n.op), let src = n.inputs.first, src >= 0,
                   let s = storageOf[src], storageOf[t] == nil, bytes(t) <= storages[s].bytes {
                    storageOf[t] = s
                    storages[s].last = max(storages[s].last, step)
                    continue
                }
                let s = storage(for: t, at: step)
                storages[s].first = min(storages[s].first, step)
                storages[s].last = max(storages[s].last, step)
            }
        }
        for io in g.outputs { if let s = storageOf[io.tensor] { storages[s].last = g.nodes.count } }
        unsharedBytes = storages.reduce(0) { $0 + Self.aligned($1.bytes) }
        arenaBytes = Self.assignOffsets(&storages)
        self.storageOf = storageOf
        self.storages = storages
    }

    static func aligned(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Greedy by size, best fit; returns the arena size.
    static func assignOffsets(_ storages: inout [Storage]) -> Int {
        let order = storages.indices.sorted {
            storages[$0].bytes != storages[$1].bytes ? storages[$0].bytes > storages[$1].bytes : storages[$0].first < storages[$1].first
        }
        var placed: [Int] = []
        var peak = 0
        for s in order {
            let me = storages[s]
            let overlapping = placed.filter { storages[$0].first <= me.last && me.first <= storages[$0].last }
                .sorted { storages[$0].offset < storages[$1].offset }
            var best: (offset: Int, gap: Int)? = nil
            var cursor = 0
            for p in overlapping {
                let o = storages[p]
                if o.offset >= cursor {
                    let gap = o.offset - cursor
                    if gap >= me.bytes, best == nil || gap < best!.gap { best = (cursor, gap) }
                }
                cursor = max(cursor, aligned(o.offset + o.bytes))
            }
            storages[s].offset = best?.offset ?? cursor
            peak = max(peak, storages[s].offset + me.bytes)
            placed.append(s)
        }
        return aligned(peak)
    }
}
