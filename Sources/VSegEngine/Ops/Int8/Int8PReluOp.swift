/// INT8 PRelu with a constant slope that is a scalar or one value per channel
/// (innermost axis): one 256-entry table per slope value, built at prepare from
/// lut[q] = quantize_out(x < 0 ? x * slope : x) with x = dequantize_in(q).
/// Fast path: per pixel, C table lookups; rows split across threads.
/// Twin: the formula per element.
enum Int8PReluOp: Int8OpDefinition {
    /// Number of slope values (1 or the channel count), nil if the slope broadcasts otherwise.
    static func slopeChannels(_ x: [Int], _ s: [Int]) -> Int? {
        let count = s.reduce(1, *)
        if count == 1 { return 1 }
        guard let c = x.last, s.last == c, count == c, s.count <= x.count else { return nil }
        return c
    }

    static func supports(_ c: InferContext) -> Bool {
        guard case .prelu = c.node.op, c.inputs.count == 2, let x = c.inputs[0], let s = c.inputs[1],
              x.dtype == .float32, c.constant(0) == nil, c.isFloatConstant(1) else { return false }
        return slopeChannels(x.shape, s.shape) != nil
    }

    static func outputRule(_ op: Op) -> Int8OutputRule { .calibrated }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        let x = try c.input(0), s = try c.input(1)
        guard let ch = slopeChannels(x.shape, s.shape), let slope = c.constant(1)?.asFloats else {
            throw c.fail("INT8 PRelu needs a constant scalar or per-channel slope, got \(s.shape)")
        }
        let qx = try c.activationQuant(input: 0), qy = try c.activationQuant(output: 0)
        let n = c.outputs[0].count
        if c.reference {
            return Reference(slope: slope, qx: qx, qy: qy, x: c.u8In(0), y: c.u8Out(0), n: n)
        }
        if ch == 1 {
            return Int8TableMap(table: requantTable(input: qx, output: qy) { $0 < 0 ? $0 * slope[0] : $0 },
                                x: c.u8In(0), y: c.u8Out(0), n: n)
        }
        var tables = [UInt8]()
        tables.reserveCapacity(256 * ch)
        for k in 0 ..< ch { tables += requantTable(input: qx, output: qy) { $0 < 0 ? $0 * slope[k] : $0 } }
        return PerChannel(tables: tables, channels: ch, x: c.u8In(0), y: c.u8Out(0), n: n)
    }

    final class PerChannel: PreparedOp {
        let tables: UnsafeMutablePointer<UInt8>, channels: Int
        let x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>, pixels: Int
        init(tables: [UInt8], channels: Int, x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>, n: Int) {
            self.tables = .allocate(capacity: tables.count)
            self.tables.initialize(from: tables, count: tables.count)
            self.channels = channels; self.x = x; self.y = y; pixels = n / channels
        }
        deinit { tables.deallocate() }
        func run(_ pool: ThreadPool) {
            let C = channels
            pool.forChunks(pixels, grain: Swift.max(1, 32768 / C)) { r in
                for p in r {
                    let s = x + p * C, o = y + p * C
                    for k in 0 ..< C { o[k] = tables[k &<< 8 | Int(s[k])] }
                }
            }
        }
    }

    final class Reference: PreparedOp {
        let slope: [Float], qx: ActivationQuant, qy: ActivationQuant
        let x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>, n: Int
        init(slope: [Float], qx: ActivationQuant, qy: ActivationQuant, x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>, n: Int) {
            self.slope = slope; self.qx = qx; self.qy = qy; self.x = x; self.y = y; self.n = n
        }
        func run(_ pool: ThreadPool) {
            for i in 0 ..< n {
                let v = qx.dequantize(x[i]), a = slope[i % slope.count]
                y[i] = qy.quantize(v < 0 ? v * a : v)
            }
        }
    }
}
