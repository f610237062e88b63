import VSegCore

/// Decodes TFLite's sparse tensor format (SparsityParameters) into dense bytes.
///
/// The format: a dense shape of rank n is optionally blocked (`block_map[j]`
/// names the original dimension split by block dimension n+j), giving n+k
/// "expanded" dimensions. `traversal_order` lists the expanded dimensions from
/// outermost to innermost; `dim_metadata[l]` describes level l of that
/// traversal: DENSE (all `dense_size` coordinates) or SPARSE_CSR, where the
/// coordinates present under parent position p are
/// `indices[segments[p] ..< segments[p + 1]]`. The stored values are the
/// leaves in traversal order. TFLite requires the first n levels to be the
/// original (blocked) dimensions and the block dimensions to come last.
enum TFLiteSparsity {
    static let denseFormat: Int8 = 0
    static let sparseCSRFormat: Int8 = 1

    private struct Level {
        var dim: Int
        var size: Int
        var segments: [Int]?
        var indices: [Int]?
        /// Dense-offset step of one coordinate at this level.
        var weight = 0
    }

    static func densify(_ sp: FBTable, denseShape: [Int], elementSize: Int, values: ArraySlice<UInt8>,
                        tensor: String, fb: FlatBuffer) throws -> [UInt8] {
        func bad(_ detail: String) -> EngineError {
            fb.malformed("sparse tensor \"\(tensor)\": \(detail)")
        }
        let n = denseShape.count
        let order = try sp.vector(TFLiteSchema.Sparsity.traversalOrder, elementSize: 4, what: "traversal_order")?.ints() ?? []
        let blockMap = try sp.vector(TFLiteSchema.Sparsity.blockMap, elementSize: 4, what: "block_map")?.ints() ?? []
        guard let metas = try sp.vector(TFLiteSchema.Sparsity.dimMetadata, elementSize: 4, what: "dim_metadata") else {
            throw bad("no dim_metadata")
        }
        let levels = order.count
        let k = levels - n
        guard k >= 0, k <= n, metas.count == levels, blockMap.count == k else {
            throw bad("traversal_order has \(levels) entries, dim_metadata \(metas.count), block_map \(blockMap.count), for rank \(n)")
        }
        guard Set(order.prefix(n)) == Set(0..<n), Set(order.suffix(k)) == Set(n..<levels) else {
            throw bad("traversal_order \(order.prefix(8)) is not a permutation with the block dimensions last")
        }
        guard blockMap.allSatisfy({ $0 >= 0 && $0 < n }), Set(blockMap).count == k else {
            throw bad("block_map \(blockMap.prefix(8)) is invalid for rank \(n)")
        }
        guard elementSize > 0, values.count % elementSize == 0 else { throw bad("value bytes not a whole number of elements") }
        let valueCount = values.count / elementSize

        // Block sizes come from the DENSE metadata of each block dimension's level.
        var blockSize = [Int](repeating: 1, count: k)
        var blockOf = [Int](repeating: -1, count: n)
        for j in 0..<k {
            guard let level = order.firstIndex(of: n + j) else { throw bad("block dimension \(n + j) is not traversed") }
            let m = try metas.table(level, what: "DimensionMetadata \(level)")
            let size = Int(try m.i32(TFLiteSchema.DimensionMetadata.denseSize))
            guard try m.i8(TFLiteSchema.DimensionMetadata.format) == denseFormat, size > 0,
                  denseShape[blockMap[j]] % size == 0 else {
                throw bad("block dimension \(j) has an invalid size \(size)")
            }
            blockSize[j] = size
            blockOf[blockMap[j]] = j
        }
        var expanded = [Int](repeating: 0, count: levels)
        for d in 0..<n { expanded[d] = blockOf[d] >= 0 ? denseShape[d] / blockSize[blockOf[d]] : denseShape[d] }
        for j in 0..<k { expanded[n + j] = blockSize[j] }

        var plan: [Level] = []
        for l in 0..<levels {
            let m = try metas.table(l, what: "DimensionMetadata \(l)")
            let dim = order[l]
            let size = expanded[dim]
            switch try m.i8(TFLiteSchema.DimensionMetadata.format) {
            case denseFormat:
                let ds = Int(try m.i32(TFLiteSchema.DimensionMetadata.denseSize))
                guard ds == size else { throw bad("level \(l) dense_size \(ds) differs from its dimension \(size)") }
                plan.append(Level(dim: dim, size: size))
            case sparseCSRFormat:
                let segments = try indexVector(m, typeField: TFLiteSchema.DimensionMetadata.segmentsType,
                                               valueField: TFLiteSchema.DimensionMetadata.segments, what: "array_segments")
                let indices = try indexVector(m, typeField: TFLiteSchema.DimensionMetadata.indicesType,
                                              valueField: TFLiteSchema.DimensionMetadata.indices, what: "array_indices")
                guard let segments, let indices else { throw bad("level \(l) is SPARSE_CSR without segments/indices") }
                plan.append(Level(dim: dim, size: size, segments: segments, indices: indices))
            case let f:
                throw bad("level \(l) has unknown format \(f)")
            }
        }

        // Row-major strides of the dense shape. The dense offset of a leaf is
        // linear in the expanded coordinates, so each level carries a weight.
        var strides = [Int](repeating: 1, count: n)
        var acc = 1
        for d in stride(from: n - 1, through: 0, by: -1) { strides[d] = acc; acc *= max(denseShape[d], 1) }
        for l in 0..<levels {
            let e = plan[l].dim
            plan[l].weight = e < n ? strides[e] * (blockOf[e] >= 0 ? blockSize[blockOf[e]] : 1) : strides[blockMap[e - n]]
        }
        let denseCount = ShapeMath.elementCount(denseShape) ?? 0
        var dense = [UInt8](repeating: 0, count: denseCount * elementSize)
        var walker = Walker(plan: plan, elementSize: elementSize, valueCount: valueCount, denseCount: denseCount)
        try values.withUnsafeBytes { src in
            try dense.withUnsafeMutableBytes { dst in
                do {
                    if levels == 0 {
                        try walker.emit(0, src, dst)
                    } else {
                        try walker.visit(0, parent: 0, base: 0, src, dst)
                    }
                } catch let e as Walker.Failure {
                    throw bad(e.detail)
                }
            }
        }
        guard walker.next == valueCount else { throw bad("\(valueCount) stored values but \(walker.next) coordinates") }
        return dense
    }

    /// Walks the traversal levels, copying each stored value to its dense offset.
    private struct Walker {
        struct Failure: Error { var detail: String }
        let plan: [Level]
        let elementSize: Int
        let valueCount: Int
        let denseCount: Int
        var next = 0

        mutating func visit(_ level: Int, parent: Int, base: Int,
                            _ src: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer) throws {
            let lv = plan[level]
            let last = level == plan.count - 1
            if let segments = lv.segments, let indices = lv.indices {
                guard parent >= 0, parent + 1 < segments.count else {
                    throw Failure(detail: "segment \(parent) missing at level \(level)")
                }
                let lo = segments[parent], hi = segments[parent + 1]
                guard lo >= 0, lo <= hi, hi <= indices.count else {
                    throw Failure(detail: "segment [\(lo), \(hi)) out of range at level \(level)")
                }
                for p in lo..<hi {
                    let c = indices[p]
                    guard c >= 0, c < lv.size else { throw Failure(detail: "index \(c) outside dimension \(lv.size)") }
                    if last {
                        try emit(base + c * lv.weight, src, dst)
                    } else {
                        try visit(level + 1, parent: p, base: base + c * lv.weight, src, dst)
                    }
                }
            } else {
                let (scaled, o) = parent.multipliedReportingOverflow(by: lv.size)
                guard !o else { throw Failure(detail: "position overflow at level \(level)") }
                for i in 0..<lv.size {
                    if last {
                        try emit(base + i * lv.weight, src, dst)
                    } else {
                        try visit(level + 1, parent: scaled + i, base: base + i * lv.weight, src, dst)
                    }
                }
            }
        }

        @inline(__always)
        mutating func emit(_ offset: Int, _ src: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer) throws {
            guard next < valueCount, offset >= 0, offset < denseCount,
                  let s = src.baseAddress, let d = dst.baseAddress else {
                throw Failure(detail: "more coordinates than the \(valueCount) stored values")
            }
            (d + offset * elementSize).copyMemory(from: s + next * elementSize, byteCount: elementSize)
            next += 1
        }
    }

    /// Reads a SparseIndexVector union (Int32Vector / Uint16Vector / Uint8Vector).
    private static func indexVector(_ m: FBTable, typeField: Int, valueField: Int, what: String) throws -> [Int]? {
        let type = Int(try m.u8(typeField))
        guard let t = try m.table(valueField, what: what) else { return nil }
        switch type {
        case TFLiteSchema.IndexVector.int32:
            return try t.vector(TFLiteSchema.IndexVector.values, elementSize: 4, what: what)?.ints() ?? []
        case TFLiteSchema.IndexVector.uint16:
            return try t.vector(TFLiteSchema.IndexVector.values, elementSize: 2, what: what)?.ints() ?? []
        case TFLiteSchema.IndexVector.uint8:
            return try t.vector(TFLiteSchema.IndexVector.values, elementSize: 1, what: what)?.ints() ?? []
        default:
            throw m.fb.malformed("\(what) has unknown index vector type \(type)")
        }
    }
}
