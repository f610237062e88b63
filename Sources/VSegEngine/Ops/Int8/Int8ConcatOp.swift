import CKernels

/// INT8 Concat along any axis. The output has calibrated parameters; each input
/// whose parameters differ is requantized through a 256-byte table
/// (lut[q] = quantize_out(dequantize_in(q))), an input with equal parameters is
/// copied. Fast path: per outer index, one copy or table map per input slab, split
/// across threads, each chunk one call of `vseg_q8_concat_rows` (int8_elementwise.c).
/// Twin: per output element, find the input and apply the formula.
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
        /// Fast-path view: sources, slab sizes and table pointers (nil: copy), as the C kernel takes them.
        let srcs: [UnsafePointer<UInt8>?], slabs: [Int], tables: [UnsafeMutablePointer<UInt8>?], ctables: [UnsafePointer<UInt8>?]
        let isa: Int32
        init(outer: Int, inputs: [Input], qy: ActivationQuant, y: UnsafeMutablePointer<UInt8>, reference: Bool) {
            self.outer = outer; self.inputs = inputs; self.qy = qy; self.y = y; self.reference = reference
            rowBytes = inputs.reduce(0) { $0 + $1.slab }
            srcs = inputs.map { Optional($0.src) }; slabs = inputs.map(\.slab)
            tables = inputs.map { i in
                i.table.map { t in
                    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
                    p.initialize(from: t, count: 256)
                    return p
                }
            }
            ctables = tables.map { $0.map { UnsafePointer($0) } }
            isa = Int8ISA.selected.rawValue
        }
        deinit { for t in tables { t?.deallocate() } }

        func run(_ pool: ThreadPool) {
            if reference { runReference(); return }
            srcs.withUnsafeBufferPointer { srcs in slabs.withUnsafeBufferPointer { slabs in ctables.withUnsafeBufferPointer { tables in
                pool.forChunks(outer, grain: max(1, 65536 / max(rowBytes, 1))) { r in
                    let first = r.lowerBound
                    // The C kernel indexes input k's row r at srcs[k] + r * slabs[k]: shift to this chunk.
                    withUnsafeTemporaryAllocation(of: UnsafePointer<UInt8>?.self, capacity: srcs.count) { shifted in
                        for k in 0 ..< srcs.count { shifted[k] = srcs[k]! + first * slabs[k] }
                        vseg_q8_concat_rows(isa, r.count, srcs.count, shifted.baseAddress, slabs.baseAddress, tables.baseAddress,
                                            y + first * rowBytes, rowBytes)
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
