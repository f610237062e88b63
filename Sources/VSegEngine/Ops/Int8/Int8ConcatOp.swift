/// INT8 Concat along any axis. The output has calibrated parameters; each input
/// whose parameters differ is requantized through a 256-byte table
/// (lut[q] = quantize_out(dequantize_in(q))), an input with equal parameters is
/// copied. Fast path: per outer index, one copy or table map per input slab, split
/// across threads. Twin: per output element, find the input and apply the formula.
enum Int8ConcatOp: Int8OpDefinition {
    static func supports(_ c: InferContext) -> Bool {
        guard case .concat = c.node.op, !c.inputs.isEmpty else { return false }
        for k in c.inputs.indices {
            guard let m = c.inputs[k], m.dtype == .float32, c.constant(k) == nil else { return false }
        }
        return (try? ConcatOp.inferShapes(c)) != nil
    }

    static func outputRule(_ op: Op) -> Int8OutputRule { .calibrated }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .concat(axis0) = c.node.op else { preconditionFailure() }
        let out = c.outputs[0]
        let axis = try normalizeAxis(axis0, rank: out.shape.count, node: c.node.name)
        let inner = out.shape[(axis + 1)...].reduce(1, *)
        let qy = try c.activationQuant(output: 0)
        var inputs: [Input] = []
        for k in c.inputs.indices {
            let qx = try c.activationQuant(input: k)
            inputs.append(Input(src: c.u8In(k), slab: try c.input(k).shape[axis] * inner, qx: qx,
                                table: qx == qy ? nil : requantTable(input: qx, output: qy) { $0 }))
        }
        return Prepared(outer: out.shape[..<axis].reduce(1, *), inputs: inputs, qy: qy, y: c.u8Out(0), reference: c.reference)
    }

    struct Input {
        var src: UnsafePointer<UInt8>, slab: Int, qx: ActivationQuant, table: [UInt8]?
    }

    final class Prepared: PreparedOp {
        let outer: Int, inputs: [Input], qy: ActivationQuant, y: UnsafeMutablePointer<UInt8>, reference: Bool, rowBytes: Int
        /// Fast-path view: sources, slab sizes and table pointers (nil: copy).
        let srcs: [UnsafePointer<UInt8>], slabs: [Int], tables: [UnsafeMutablePointer<UInt8>?]
        init(outer: Int, inputs: [Input], qy: ActivationQuant, y: UnsafeMutablePointer<UInt8>, reference: Bool) {
            self.outer = outer; self.inputs = inputs; self.qy = qy; self.y = y; self.reference = reference
            rowBytes = inputs.reduce(0) { $0 + $1.slab }
            srcs = inputs.map(\.src); slabs = inputs.map(\.slab)
            tables = inputs.map { i in
                i.table.map { t in
                    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
                    p.initialize(from: t, count: 256)
                    return p
                }
            }
        }
        deinit { for t in tables { t?.deallocate() } }

        func run(_ pool: ThreadPool) {
            if reference { runReference(); return }
            srcs.withUnsafeBufferPointer { srcs in slabs.withUnsafeBufferPointer { slabs in tables.withUnsafeBufferPointer { tables in
                pool.forChunks(outer, grain: max(1, 65536 / max(rowBytes, 1))) { r in
                    for row in r {
                        var dst = y + row * rowBytes
                        for k in 0 ..< srcs.count {
                            let s = srcs[k] + row * slabs[k]
                            if let t = tables[k] { int8MapBytes(t, s, dst, slabs[k]) } else { UnsafeMutableRawPointer(dst).copyMemory(from: s, byteCount: slabs[k]) }
                            dst += slabs[k]
                        }
                    }
                }
            } } }
        }

        func runReference() {
            for o in 0 ..< outer * rowBytes {
                let row = o / rowBytes
                var pos = o % rowBytes, k = 0
                while pos >= inputs[k].slab { pos -= inputs[k].slab; k += 1 }
                let q = inputs[k].src[row * inputs[k].slab + pos]
                y[o] = inputs[k].qx == qy ? q : qy.quantize(inputs[k].qx.dequantize(q))
            }
        }
    }
}
