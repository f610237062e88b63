import VSegCore

/// Host-side evaluation on constant tensors: weight permutations at import and
/// the constant folding of PyTorch's shape subgraphs (Shape→Gather→Concat…).
/// Sizes here come from already-validated shapes; results above `foldLimit`
/// elements are not folded (the op stays in the graph for the executor).
enum ONNXConstantMath {
    /// Largest tensor the importer will materialize while folding.
    static let foldLimit = 1 << 22

    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc &*= shape[i] }
        return s
    }

    /// Flat source index for every output element of `perm` applied to `shape` (out dim i = in dim perm[i]).
    static func permutationIndices(shape: [Int], perm: [Int]) -> [Int] {
        let inStrides = strides(shape)
        let outShape = perm.map { shape[$0] }
        let n = outShape.reduce(1, *)
        var result = [Int](repeating: 0, count: n)
        var idx = [Int](repeating: 0, count: outShape.count)
        var src = 0
        let permStrides = perm.map { inStrides[$0] }
        for o in 0..<n {
            result[o] = src
            var d = outShape.count - 1
            while d >= 0 {
                idx[d] += 1; src += permStrides[d]
                if idx[d] < outShape[d] { break }
                src -= permStrides[d] * idx[d]; idx[d] = 0
                d -= 1
            }
        }
        return result
    }

    /// Elements picked by flat index, keeping the element type.
    static func select(_ data: TensorData, _ indices: [Int]) -> TensorData {
        switch data {
        case .float32(let a): return .float32(indices.map { a[$0] })
        case .float16(let a): return .float16(indices.map { a[$0] })
        case .int8(let a): return .int8(indices.map { a[$0] })
        case .uint8(let a): return .uint8(indices.map { a[$0] })
        case .int32(let a): return .int32(indices.map { a[$0] })
        case .int64(let a): return .int64(indices.map { a[$0] })
        case .bool(let a): return .bool(indices.map { a[$0] })
        }
    }

    static func permute(_ data: TensorData, shape: [Int], perm: [Int]) -> TensorData {
        select(data, permutationIndices(shape: shape, perm: perm))
    }

    /// Concatenation of same-typed tensors' elements (the caller orders them).
    static func append(_ parts: [TensorData]) -> TensorData? {
        guard let first = parts.first else { return nil }
        switch first {
        case .float32: return .float32(parts.flatMap { $0.asFloats })
        case .int64, .int32, .int8, .uint8, .bool:
            let ints = parts.compactMap { $0.asInts }
            guard ints.count == parts.count else { return nil }
            return cast(.int64(ints.flatMap { $0.map(Int64.init) }), to: first.dtype)
        case .float16: return .float32(parts.flatMap { $0.asFloats })
        }
    }

    static func cast(_ data: TensorData, to dtype: DType) -> TensorData {
        if data.dtype == dtype { return data }
        switch dtype {
        case .float32: return .float32(data.asFloats)
        case .float16: return .float16(data.asFloats.map { Float16($0).bitPattern })
        case .int64: return .int64(data.asInts.map { $0.map(Int64.init) } ?? data.asFloats.map { saturating($0) })
        case .int32: return .int32((data.asInts ?? data.asFloats.map { Int(saturating($0)) }).map { Int32(clamping: $0) })
        case .int16: return .int32((data.asInts ?? data.asFloats.map { Int(saturating($0)) }).map { Int32(Int16(truncatingIfNeeded: $0)) })
        case .int8: return .int8((data.asInts ?? data.asFloats.map { Int(saturating($0)) }).map { Int8(truncatingIfNeeded: $0) })
        case .uint8: return .uint8((data.asInts ?? data.asFloats.map { Int(saturating($0)) }).map { UInt8(truncatingIfNeeded: $0) })
        case .bool: return .bool(data.asFloats.map { $0 != 0 })
        }
    }

    private static func saturating(_ f: Float) -> Int64 {
        guard f.isFinite else { return f.isNaN ? 0 : (f > 0 ? .max : .min) }
        if f >= 9.2e18 { return .max }
        if f <= -9.2e18 { return .min }
        return Int64(f.rounded(.towardZero))
    }

    /// numpy broadcast of two shapes; nil if incompatible. -1 (unknown) stays unknown unless the other side fixes it.
    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: r - a.count) + a
        let pb = [Int](repeating: 1, count: r - b.count) + b
        var out: [Int] = []
        for i in 0..<r {
            let x = pa[i], y = pb[i]
            if x == y { out.append(x) } else if x == 1 { out.append(y) } else if y == 1 { out.append(x) } else if x == -1 || y == -1 { out.append(max(x, y)) } else { return nil }
        }
        return out
    }

    /// Flat source indices of `shape` broadcast to `outShape`.
    static func broadcastIndices(_ shape: [Int], to outShape: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: outShape.count - shape.count) + shape
        let s = strides(padded)
        let n = outShape.reduce(1, *)
        var result = [Int](repeating: 0, count: n)
        var idx = [Int](repeating: 0, count: outShape.count)
        for o in 0..<n {
            var src = 0
            for d in 0..<outShape.count where padded[d] != 1 { src += idx[d] * s[d] }
            result[o] = src
            var d = outShape.count - 1
            while d >= 0 {
                idx[d] += 1
                if idx[d] < outShape[d] { break }
                idx[d] = 0; d -= 1
            }
        }
        return result
    }

    enum BinaryFoldError: Error { case divisionByZero, unsupported }

    static func binary(_ kind: BinaryKind, _ a: TensorData, _ aShape: [Int], _ b: TensorData, _ bShape: [Int],
                       outShape: [Int]) throws -> TensorData {
        let ia = broadcastIndices(aShape, to: outShape), ib = broadcastIndices(bShape, to: outShape)
        if a.asInts == nil || b.asInts == nil {
            let x = a.asFloats, y = b.asFloats
            return .float32(zip(ia, ib).map { i, j -> Float in
                switch kind {
                case .add: return x[i] + y[j]
                case .sub: return x[i] - y[j]
                case .mul: return x[i] * y[j]
                case .div: return x[i] / y[j]
                case .max: return Swift.max(x[i], y[j])
                case .min: return Swift.min(x[i], y[j])
                }
            })
        }
        guard let x = a.asInts, let y = b.asInts else { throw BinaryFoldError.unsupported }
        var out = [Int64]()
        out.reserveCapacity(ia.count)
        for (i, j) in zip(ia, ib) {
            let p = Int64(x[i]), q = Int64(y[j])
            switch kind {
            case .add: out.append(p &+ q)
            case .sub: out.append(p &- q)
            case .mul: out.append(p &* q)
            case .div:
                guard q != 0 else { throw BinaryFoldError.divisionByZero }
                out.append(p.dividedReportingOverflow(by: q).partialValue)
            case .max: out.append(Swift.max(p, q))
            case .min: out.append(Swift.min(p, q))
            }
        }
        return cast(.int64(out), to: a.dtype)
    }

    /// ONNX Slice arithmetic for one axis: (first index, step, count).
    static func sliceRange(dim: Int, start: Int, end: Int, step: Int) -> (Int, Int, Int) {
        var s = start, e = end
        if s < 0 { s = s &+ dim }
        if e < 0 { e = e &+ dim }
        // Counts are written as (span - 1) / step + 1 so a huge step cannot overflow.
        if step > 0 {
            s = Swift.min(Swift.max(s, 0), dim); e = Swift.min(Swift.max(e, 0), dim)
            return (s, step, e > s ? (e - s - 1) / step + 1 : 0)
        } else {
            let back = step == Int.min ? Int.max : -step
            s = Swift.min(Swift.max(s, -1), dim - 1); e = Swift.min(Swift.max(e, -1), dim - 1)
            return (s, -back, s > e ? (s - e - 1) / back + 1 : 0)
        }
    }
}
