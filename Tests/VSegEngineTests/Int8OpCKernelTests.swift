import XCTest
@testable import VSegEngine
import VSegCore
import CKernels

/// The C kernels behind the INT8 elementwise fast paths (int8_elementwise.c), every
/// ISA variant this CPU runs (portable, AVX2, AVX-512; a session only ever uses
/// `Int8ISA.selected`), bit for bit against the Swift scalar formulas of the twins,
/// over row lengths around the 8/16/64-lane widths and with strided rows.
final class Int8OpCKernelTests: XCTestCase {
    // 1024 and up: long rows against one B value take the table path on AVX-512 VBMI.
    let lengths = [1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 257, 300, 1024, 1500]

    func bytes(_ n: Int, _ rng: inout SplitMix64) -> [UInt8] { (0 ..< n).map { _ in UInt8(rng.int(0 ... 255)) } }

    func testBinaryEveryFormAndISA() {
        var rng = SplitMix64(seed: 900)
        let kinds: [(BinaryKind, Int32)] = [(.add, Int32(VSEG_Q8_BINARY_ADD)), (.sub, Int32(VSEG_Q8_BINARY_SUB)),
                                            (.mul, Int32(VSEG_Q8_BINARY_MUL)), (.max, Int32(VSEG_Q8_BINARY_MAX)),
                                            (.min, Int32(VSEG_Q8_BINARY_MIN))]
        for isa in Int8ISA.supported {
            for (kind, op) in kinds {
                for n in lengths {
                    let rows = 3
                    let za = Float(rng.int(0 ... 255)), zb = Float(rng.int(0 ... 255))
                    let ka = Float(rng.int(1 ... 3000)) / 1000, kb = Float(rng.int(1 ... 3000)) / (kind == .mul ? 100_000 : 1000)
                    let zp = Int32(rng.int(0 ... 255))
                    // Every other case with a fused clamp narrower than the uint8 range.
                    let clamp: (lo: Float, hi: Float)? = n % 2 == 0 ? nil : (-Float(rng.int(0 ... 50)) / 10, Float(rng.int(0 ... 50)) / 10)
                    let rq = Int8Requant(output: ActivationQuant(scale: 0.05, zeroPoint: zp), clamp: clamp)
                    var p = vseg_q8_binary_params(op: op, zero_point: rq.zp, za: za, ka: ka, zb: zb, kb: kb, lo: rq.lo, hi: rq.hi)
                    // (a step, a row stride, b step, b row stride): same shape, padded rows,
                    // per-channel B (row stride 0), B splat per row, A splat per row.
                    let forms = [(1, n, 1, n), (1, n + 3, 1, n + 5), (1, n, 1, 0), (1, n, 0, 1), (0, 1, 1, n), (0, 2, 0, 1)]
                    for (aStep, aRow, bStep, bRow) in forms {
                        let a = bytes(rows * aRow + n, &rng), b = bytes(rows * bRow + n, &rng)
                        let bf = (0 ..< rows * bRow + n).map { _ in Float(rng.int(-40000 ... 40000)) / 128 }
                        let yRow = n + 2
                        for floatB in [false, true] {
                            var y = [UInt8](repeating: 0xA5, count: rows * yRow)
                            y.withUnsafeMutableBufferPointer { yp in
                                if floatB {
                                    vseg_q8_binary_f32(isa.rawValue, &p, rows, n, a, aRow, aStep, bf, bRow, bStep, yp.baseAddress, yRow)
                                } else {
                                    vseg_q8_binary_u8(isa.rawValue, &p, rows, n, a, aRow, aStep, b, bRow, bStep, yp.baseAddress, yRow)
                                }
                            }
                            var bad = 0, first = ""
                            for r in 0 ..< rows {
                                for i in 0 ..< yRow {
                                    let want: UInt8
                                    if i < n {
                                        let x = (Float(a[r * aRow + i * aStep]) - za) * ka
                                        let j = r * bRow + i * bStep
                                        let v = floatB ? bf[j] : (Float(b[j]) - zb) * kb
                                        want = rq.scalar(BinaryOp.scalar(kind, x, v))
                                    } else {
                                        want = 0xA5  // row padding stays untouched
                                    }
                                    if y[r * yRow + i] != want {
                                        if bad == 0 { first = "row \(r) index \(i): \(y[r * yRow + i]) vs \(want)" }
                                        bad += 1
                                    }
                                }
                            }
                            XCTAssertEqual(bad, 0, "\(isa.name) \(kind) n \(n) form \((aStep, aRow, bStep, bRow)) float B \(floatB): \(first)")
                        }
                    }
                }
            }
        }
    }

    /// The graph-edge conversions (int8_convert.c, AVX-512 / AVX2 clone or portable
    /// loop, whichever this CPU picks) against ActivationQuant's formulas: exact
    /// ties of x / scale, values far outside the range, lengths around 8/16 lanes
    /// and misaligned starts.
    func testQuantizeDequantizeMatchTwins() {
        var rng = SplitMix64(seed: 902)
        for n in lengths + [0, 4099] {
            let q = ActivationQuant(scale: rng.pick([Float(1) / 255, 0.0473, 1.5, 3e-4]), zeroPoint: Int32(rng.int(0 ... 255)))
            let x = (0 ..< n + 3).map { i -> Float in
                switch i % 4 {
                case 0: return (Float(rng.int(-300 ... 300)) + 0.5) * q.scale  // x / scale near a tie
                case 1: return Float(rng.int(-1_000_000 ... 1_000_000)) / 1000 * q.scale
                case 2: return Float(rng.int(-1 ... 1)) * 1e30
                default: return Float(rng.int(-1 << 20 ... 1 << 20)) / Float(1 << 20)
                }
            }
            let off = n % 3  // start off the vector alignment
            var y = [UInt8](repeating: 0xA5, count: n + 3)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                vseg_q8_quantize_f32(xp.baseAddress! + off, yp.baseAddress! + off, n, q.scale, q.zeroPoint)
            } }
            var bad = 0
            for i in 0 ..< n + 3 where y[i] != (i >= off && i < off + n ? q.quantize(x[i]) : 0xA5) { bad += 1 }
            XCTAssertEqual(bad, 0, "quantize n \(n) scale \(q.scale) zp \(q.zeroPoint)")
            let b = bytes(n, &rng)
            var f = [Float](repeating: -1, count: n)
            vseg_q8_dequantize_u8(b, &f, n, q.scale, q.zeroPoint)
            XCTAssertEqual(f.map(\.bitPattern), b.map { q.dequantize($0).bitPattern }, "dequantize n \(n)")
        }
    }

    func testBilinearRowEveryISA() {
        var rng = SplitMix64(seed: 901)
        // C of 1, 2, 4 and 8 run 16 / C pixels per vector on AVX-512; ow 37 leaves a tail for each
        for (iw, ow, isa) in Int8ISA.supported.flatMap({ isa in [(6, 11, isa), (19, 37, isa)] }) {
            for c in [1, 2, 3, 4, 8, 15, 16, 17, 31, 32, 33, 64, 65] {
                let r0 = bytes(iw * c, &rng), r1 = bytes(iw * c, &rng)
                let x0 = (0 ..< ow).map { _ in rng.int(0 ... iw - 1) }, x1 = x0.map { min($0 + 1, iw - 1) }
                // Weights of 0, 1/2 (ties round to even) and arbitrary ones.
                let wx = (0 ..< ow).map { i -> Float in i % 3 == 0 ? 0.5 : (i % 3 == 1 ? 0 : Float(rng.int(0 ... 1 << 20)) / Float(1 << 20)) }
                for fy in [Float(0), 0.5, 0.25, Float(rng.int(0 ... 1 << 20)) / Float(1 << 20)] {
                    var y = [UInt8](repeating: 0, count: ow * c)
                    let bx0 = x0.map { $0 * c }, bx1 = x1.map { $0 * c }
                    vseg_q8_resize_bilinear_row(isa.rawValue, r0, r1, ow, c, bx0, bx1, wx, fy, &y)
                    var bad = 0
                    for ox in 0 ..< ow {
                        for ch in 0 ..< c {
                            let want = Int8ResizeOp.lerp(r0[x0[ox] * c + ch], r0[x1[ox] * c + ch], r1[x0[ox] * c + ch], r1[x1[ox] * c + ch],
                                                         wx[ox], fy)
                            if y[ox * c + ch] != want { bad += 1 }
                        }
                    }
                    XCTAssertEqual(bad, 0, "\(isa.name) C \(c) fy \(fy)")
                }
            }
        }
    }

    func testTableMapAndConcatRowsEveryISA() {
        var rng = SplitMix64(seed: 902)
        let table = bytes(256, &rng)
        for isa in Int8ISA.supported {
            for n in lengths + [1000] {
                let x = bytes(n, &rng)
                var y = [UInt8](repeating: 0, count: n + 1)
                y.withUnsafeMutableBufferPointer { vseg_q8_lut(isa.rawValue, table, x, $0.baseAddress, n) }
                XCTAssertEqual(Array(y[..<n]), x.map { table[Int($0)] }, "\(isa.name) n \(n)")
                XCTAssertEqual(y[n], 0, "\(isa.name) n \(n): wrote past the end")
            }
            // Slabs below, at and above one 64-byte vector, mapped and copied.
            let rows = 5
            for (slabs, mapped) in [([3, 64, 70, 16], [true, false, true, false]), ([1, 65, 64, 130], [false, true, true, false])] {
                let srcs = slabs.map { bytes(rows * $0, &rng) }
                let rowBytes = slabs.reduce(0, +)
                var y = [UInt8](repeating: 0, count: rows * rowBytes)
                table.withUnsafeBufferPointer { t in
                    withArrayPointers(srcs) { ptrs in
                        let tables: [UnsafePointer<UInt8>?] = mapped.map { $0 ? t.baseAddress : nil }
                        vseg_q8_concat_rows(isa.rawValue, rows, slabs.count, ptrs, slabs, tables, &y, rowBytes)
                    }
                }
                var want: [UInt8] = []
                for r in 0 ..< rows {
                    for k in slabs.indices {
                        let s = srcs[k][r * slabs[k] ..< (r + 1) * slabs[k]]
                        want += mapped[k] ? s.map { table[Int($0)] } : Array(s)
                    }
                }
                XCTAssertEqual(y, want, "\(isa.name) slabs \(slabs)")
            }
        }
    }

    /// Pool rows (max and average, padding, stride, dilation, windows partly or wholly
    /// outside the image) and ReduceMean sums, every ISA, against scalar loops of the twins' formulas.
    func testPoolRowsAndColumnSumsEveryISA() {
        var rng = SplitMix64(seed: 903)
        let ih = 7, iw = 9
        for isa in Int8ISA.supported {
            for c in [1, 5, 16, 17, 33, 64, 70] {
                let image = bytes(ih * iw * c, &rng)
                // (kernel, stride, dilation, pad): 3x3 same, 2x2 stride 2, dilated, a global window, far padding.
                for (k, st, dl, pad) in [((3, 3), (1, 1), (1, 1), (1, 1)), ((2, 2), (2, 2), (1, 1), (0, 0)),
                                         ((3, 2), (2, 1), (2, 3), (2, 1)), ((ih, iw), (1, 1), (1, 1), (0, 0)), ((2, 2), (3, 3), (1, 1), (4, 4))] {
                    let oh = (ih + 2 * pad.0 - (k.0 - 1) * dl.0 - 1) / st.0 + 1, ow = (iw + 2 * pad.1 - (k.1 - 1) * dl.1 - 1) / st.1 + 1
                    var g = vseg_q8_pool_geometry(in_h: Int32(ih), in_w: Int32(iw), channels: Int32(c), out_w: Int32(ow),
                                                  k_h: Int32(k.0), k_w: Int32(k.1), stride_h: Int32(st.0), stride_w: Int32(st.1),
                                                  dilation_h: Int32(dl.0), dilation_w: Int32(dl.1), pad_top: Int32(pad.0), pad_left: Int32(pad.1))
                    let zpIn = Int32(rng.int(0 ... 255)), qmin = UInt8(rng.int(0 ... 100)), qmax = UInt8(rng.int(150 ... 255))
                    let rq = Int8Requant(output: ActivationQuant(scale: 0.1, zeroPoint: Int32(rng.int(0 ... 255))))
                    let mult = (0 ... k.0 * k.1).map { d in Float(0.7) / Float(max(d, 1)) }
                    // Divisor counts: taps inside the padded extent (count-include-pad style).
                    func inside(_ s: Int, _ kk: Int, _ d: Int, _ lo: Int, _ hi: Int) -> [Int] { (0 ..< kk).map { s + $0 * d }.filter { $0 >= lo && $0 < hi } }
                    let divW = (0 ..< ow).map { Int32(inside($0 * st.1 - pad.1, k.1, dl.1, -pad.1, iw + pad.1).count) }
                    for oy in 0 ..< oh {
                        let ys = inside(oy * st.0 - pad.0, k.0, dl.0, 0, ih), divH = Int32(inside(oy * st.0 - pad.0, k.0, dl.0, -pad.0, ih + pad.0).count)
                        var mx = [UInt8](repeating: 0, count: ow * c), av = mx
                        vseg_q8_maxpool_row(isa.rawValue, &g, image, Int32(oy), qmin, qmax, &mx)
                        vseg_q8_avgpool_row(isa.rawValue, &g, image, Int32(oy), divH, divW, mult, zpIn, rq.lo, rq.hi, rq.zp, &av)
                        var badMax = 0, badAvg = 0
                        for ox in 0 ..< ow {
                            let xs = inside(ox * st.1 - pad.1, k.1, dl.1, 0, iw)
                            for ch in 0 ..< c {
                                var best: UInt8 = 0, sum: Int32 = 0
                                for iy in ys { for ix in xs { let v = image[(iy * iw + ix) * c + ch]; best = max(best, v); sum += Int32(v) - zpIn } }
                                if mx[ox * c + ch] != min(max(best, qmin), qmax) { badMax += 1 }
                                if av[ox * c + ch] != rq.scalar(Float(sum) * mult[max(Int(divH * divW[ox]), 1)]) { badAvg += 1 }
                            }
                        }
                        XCTAssertEqual(badMax, 0, "\(isa.name) max C \(c) kernel \(k) row \(oy)")
                        XCTAssertEqual(badAvg, 0, "\(isa.name) average C \(c) kernel \(k) row \(oy)")
                    }
                }
                // ReduceMean: column sums over the image rows, then the requantization.
                for rows in [1, 2, 3, ih * iw] {
                    var sums = [Int32](repeating: -1, count: c), out = [UInt8](repeating: 0, count: c)
                    vseg_q8_sum_rows(isa.rawValue, image, rows, c, &sums)
                    let want = (0 ..< c).map { ch in (0 ..< rows).reduce(Int32(0)) { $0 + Int32(image[$1 * c + ch]) } }
                    XCTAssertEqual(sums, want, "\(isa.name) sums C \(c) rows \(rows)")
                    let bias = Int32(rows) * 37, k = Float(0.9) / Float(rows)
                    let rq = Int8Requant(output: ActivationQuant(scale: 0.1, zeroPoint: 20))
                    vseg_q8_requant_sums(isa.rawValue, want, c, bias, k, rq.lo, rq.hi, rq.zp, &out)
                    XCTAssertEqual(out, want.map { rq.scalar(Float($0 - bias) * k) }, "\(isa.name) requant C \(c) rows \(rows)")
                }
            }
        }
    }

    /// Pointers to the storage of each array, valid inside `body`.
    func withArrayPointers(_ arrays: [[UInt8]], _ body: ([UnsafePointer<UInt8>?]) -> Void, _ done: [UnsafePointer<UInt8>?] = []) {
        if done.count == arrays.count { body(done); return }
        arrays[done.count].withUnsafeBufferPointer { withArrayPointers(arrays, body, done + [$0.baseAddress]) }
    }
}
