/// float16 -> float32 by bit manipulation. Normal numbers rebias the
/// exponent by 112; subnormals go through `2^-14 + m * 2^-24` minus `2^-14`
/// so no float denormal is ever an input; Inf/NaN keep their payload.
/// (Swift's generic SIMD8 version of this ran several times slower when
/// built for baseline x86-64, so it stays scalar.)
enum Float16Widening {
    static func widen(_ h: [UInt16]) -> [Float] {
        h.map(convert)
    }

    @inline(__always)
    static func convert(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let em = UInt32(h & 0x7FFF)
        let bits: UInt32
        if em < 0x400 {
            bits = (Float(bitPattern: (em << 13) | 0x3880_0000) - 0x1p-14).bitPattern
        } else if em >= 0x7C00 {
            bits = (em << 13) &+ (224 << 23)
        } else {
            bits = (em << 13) &+ (112 << 23)
        }
        return Float(bitPattern: bits | sign)
    }
}
