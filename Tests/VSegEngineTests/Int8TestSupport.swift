import CKernels
import VSegCore
import VSegEngine
import XCTest

/// Sampling helpers for the int8 tests over the shared SplitMix64.
typealias Int8Rng = SplitMix64

extension SplitMix64 {
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(0...(xs.count - 1))] }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
    /// Weights across the whole symmetric range, with the extremes over-represented.
    mutating func weights(_ n: Int) -> [Int8] {
        (0..<n).map { _ in
            switch int(0...9) {
            case 0: return 127
            case 1: return -127
            default: return Int8(int(-127...127))
            }
        }
    }
    mutating func bias(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(int(-200_000...200_000)) } }
    /// Log-uniform requantization scales; `extreme` mixes in 1e-6 and 1e3.
    mutating func scales(_ n: Int, extreme: Bool = false) -> [Float] {
        (0..<n).map { _ in
            if extreme, int(0...2) == 0 { return int(0...1) == 0 ? 1e-6 : 1e3 }
            return Float(pow(10.0, Double(int(-5000 ... -1000)) / 1000))
        }
    }
}

/// Reports the first differing index so that a mismatch names its place.
func assertBitExact(_ got: [UInt8], _ want: [UInt8], _ what: @autoclosure () -> String,
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, what(), file: file, line: line)
    if let i = zip(got, want).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
        let bad = zip(got, want).filter { $0 != $1 }.count
        XCTFail("\(what()): \(bad) of \(got.count) bytes differ, first at \(i): got \(got[i]) want \(want[i])",
                file: file, line: line)
    }
}

/// Output size of a conv with explicit pads (pad on both sides = `pad`).
func int8ConvGeometry(batch: Int = 1, h: Int, w: Int, inC: Int, outC: Int, k: Int, stride: Int, pad: Int,
                      dilation: Int = 1, depthwise: Bool = false) -> ConvGeometry {
    let ek = (k - 1) * dilation + 1
    let outH = (h + 2 * pad - ek) / stride + 1, outW = (w + 2 * pad - ek) / stride + 1
    return ConvGeometry(batch: batch, inH: h, inW: w, inC: inC, outH: outH, outW: outW, outC: depthwise ? inC : outC,
                        kH: k, kW: k, strideH: stride, strideW: stride, dilationH: dilation, dilationW: dilation,
                        padTop: pad, padLeft: pad, groups: depthwise ? inC : 1)
}

/// Runs a packed INT8 conv split into `tasks` tasks, in reverse order (tasks must be independent).
/// Runs every task (last first). `scratch`: give the row-flat depthwise kernel
/// its per-task scratch when the pack has one (false: the per-pixel kernel).
func runInt8(_ p: Int8PackedConv, input: [UInt8], outCount: Int, tasks: Int, scratch: Bool = true) -> [UInt8] {
    var out = [UInt8](repeating: 0xA5, count: outCount)
    let buf: UnsafeMutableRawPointer? = scratch && p.scratchBytes > 0
        ? .allocate(byteCount: p.scratchBytes + 64, alignment: 64) : nil
    defer { buf?.deallocate() }
    input.withUnsafeBufferPointer { i in
        out.withUnsafeMutableBufferPointer { o in
            for t in (0..<tasks).reversed() {
                Int8ConvKernels.run(p, input: i.baseAddress!, output: o.baseAddress!, task: t, taskCount: tasks, scratch: buf)
            }
        }
    }
    return out
}
