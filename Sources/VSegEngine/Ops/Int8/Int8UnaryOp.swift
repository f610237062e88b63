import CKernels

/// INT8 elementwise activations (every `Activation` case) as a 256-entry table
/// built at prepare from the fp32 reference: lut[q] = quantize_out(act(dequantize_in(q))).
/// Fast path: table lookups (`vseg_q8_lut`: vpermi2b on AVX-512 VBMI, a byte loop
/// otherwise), chunks split across threads. Twin: the same formula
/// evaluated per element (so a wrong table index or a chunking bug shows).
enum Int8UnaryOp: Int8OpDefinition {
    static func supports(_ c: InferContext) -> Bool {
        guard case .unary = c.node.op, let x = c.inputs.first ?? nil else { return false }
        return x.dtype == .float32
    }

    static func outputRule(_ op: Op) -> Int8OutputRule { .calibrated }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard case let .unary(act) = c.node.op else { preconditionFailure() }
        let qx = try c.activationQuant(input: 0), qy = try c.activationQuant(output: 0)
        let n = c.outputs[0].count
        if c.reference {
            return Reference(act: act, qx: qx, qy: qy, x: c.u8In(0), y: c.u8Out(0), n: n)
        }
        return Int8TableMap(table: requantTable(input: qx, output: qy, act.reference), x: c.u8In(0), y: c.u8Out(0), n: n)
    }

    final class Reference: PreparedOp {
        let act: Activation, qx: ActivationQuant, qy: ActivationQuant
        let x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>, n: Int
        init(act: Activation, qx: ActivationQuant, qy: ActivationQuant, x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>, n: Int) {
            self.act = act; self.qx = qx; self.qy = qy; self.x = x; self.y = y; self.n = n
        }
        func run(_ pool: ThreadPool) {
            for i in 0 ..< n { y[i] = qy.quantize(act.reference(qx.dequantize(x[i]))) }
        }
    }
}

/// y[i] = table[x[i]] over `n` bytes, split across the pool.
final class Int8TableMap: PreparedOp {
    let table: UnsafeMutablePointer<UInt8>, x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>, n: Int, isa: Int32
    init(table: [UInt8], x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>, n: Int) {
        precondition(table.count == 256)
        self.table = .allocate(capacity: 256)
        self.table.initialize(from: table, count: 256)
        self.x = x; self.y = y; self.n = n
        isa = Int8ISA.selected.rawValue
    }
    deinit { table.deallocate() }
    func run(_ pool: ThreadPool) {
        pool.forChunks(n, grain: 65536) { r in vseg_q8_lut(isa, table, x + r.lowerBound, y + r.lowerBound, r.count) }
    }
}
