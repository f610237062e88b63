import CKernels

/// INT8 ReduceMean over a contiguous run of axes (H and W of NHWC: global
/// average pooling; keepDims either way). acc = sum (q - zpIn) in int32 (exact),
/// y = Float(acc) * (inScale / (outScale * count)), requantized.
/// Fast path: out[o, i] accumulated over the reduced rows of the inner extent
/// (`vseg_q8_sum_rows` / `vseg_q8_requant_sums` in int8_elementwise.c); split
/// over outer rows, or over the reduced rows (per-task partial sums) when there
/// are fewer outer rows than threads (the usual N = 1 global mean).
/// Twin: per output element, per reduced index.
enum Int8ReduceMeanOp: Int8OpDefinition {
    static func layout(_ c: InferContext) -> (outer: Int, red: Int, inner: Int)? {
        guard case .reduce(.mean, _, _) = c.node.op, let (x, axes, _) = try? ReduceOp.normalized(c),
              let first = axes.first, let last = axes.last, last - first + 1 == axes.count else { return nil }
        return (x.shape[..<first].reduce(1, *), axes.map { x.shape[$0] }.reduce(1, *), x.shape[(last + 1)...].reduce(1, *))
    }

    static func supports(_ c: InferContext) -> Bool {
        guard let l = layout(c), c.constant(0) == nil else { return false }
        return l.red >= 1 && l.red <= Int(Int32.max) / 256
    }

    static func outputRule(_ op: Op) -> Int8OutputRule { .calibrated }

    static func prepare(_ c: PrepareContext) throws -> PreparedOp {
        guard let l = layout(c.infer.asFloatView) else { throw c.fail("INT8 ReduceMean needs contiguous axes") }
        let qx = try c.activationQuant(input: 0), qy = try c.activationQuant(output: 0)
        let k = Float(Double(qx.scale) / (Double(qy.scale) * Double(l.red)))
        return Prepared(outer: l.outer, red: l.red, inner: l.inner, zpIn: qx.zeroPoint, k: k, rq: Int8Requant(output: qy),
                        x: c.u8In(0), y: c.u8Out(0), threads: c.threads, reference: c.reference)
    }

    final class Prepared: PreparedOp {
        let outer: Int, red: Int, inner: Int, zpIn: Int32, bias: Int32, k: Float, rq: Int8Requant
        let x: UnsafePointer<UInt8>, y: UnsafeMutablePointer<UInt8>, reference: Bool
        /// One int32 row of `stride` (inner rounded up to a cache line) per thread.
        let threads: Int, stride: Int, scratch: UnsafeMutablePointer<Int32>, isa: Int32
        init(outer: Int, red: Int, inner: Int, zpIn: Int32, k: Float, rq: Int8Requant, x: UnsafePointer<UInt8>,
             y: UnsafeMutablePointer<UInt8>, threads: Int, reference: Bool) {
            self.outer = outer; self.red = red; self.inner = inner; self.zpIn = zpIn; bias = Int32(red) &* zpIn; self.k = k; self.rq = rq
            self.x = x; self.y = y; self.reference = reference; self.threads = max(threads, 1)
            stride = (max(inner, 1) + 15) & ~15
            isa = Int8ISA.selected.rawValue
            scratch = UnsafeMutableRawPointer.allocate(byteCount: stride * self.threads * 4, alignment: 64)
                .bindMemory(to: Int32.self, capacity: stride * self.threads)
        }
        deinit { scratch.deallocate() }

        /// acc[i] = sum over reduced rows `rows` of output `o`, element i.
        @inline(__always)
        func partial(_ o: Int, _ rows: Range<Int>, _ acc: UnsafeMutablePointer<Int32>) {
            vseg_q8_sum_rows(isa, x + (o * red + rows.lowerBound) * inner, rows.count, inner, acc)
        }

        /// y = requant(Float(acc - bias) * k), as `rq.scalar` in the twin.
        @inline(__always)
        func finish(_ o: Int, _ acc: UnsafeMutablePointer<Int32>) {
            vseg_q8_requant_sums(isa, acc, inner, bias, k, rq.lo, rq.hi, rq.zp, y + o * inner)
        }

        func run(_ pool: ThreadPool) {
            if reference { runReference(); return }
            let work = red * inner
            if outer >= threads || work < 65536 {
                pool.forTasks(outer, grain: max(1, 32768 / max(work, 1))) { t, r in
                    for o in r { let acc = scratch + t * stride; partial(o, 0 ..< red, acc); finish(o, acc) }
                }
                return
            }
            // Few outputs (N = 1 global mean): split the reduced rows, then add the
            // per-task int32 partial sums (exact, so the split does not change the bytes).
            let tasks = min(threads, work / 32768)
            for o in 0 ..< outer {
                pool.parallelFor(tasks) { t in partial(o, splitRange(red, parts: tasks, t), scratch + t * stride) }
                for t in 1 ..< tasks { let p = scratch + t * stride; for i in 0 ..< inner { scratch[i] &+= p[i] } }
                finish(o, scratch)
            }
        }

        func runReference() {
            for o in 0 ..< outer {
                for i in 0 ..< inner {
                    var sum: Int32 = 0
                    for r in 0 ..< red { sum += Int32(x[(o * red + r) * inner + i]) - zpIn }
                    y[o * inner + i] = rq.scalar(Float(sum) * k)
                }
            }
        }
    }
}
