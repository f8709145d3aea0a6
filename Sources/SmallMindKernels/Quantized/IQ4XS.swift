// IQ4_XS: super-blocks of 256 elements, 136 bytes (ggml's block_iq4_xs):
//
//   offset 0    f16  d
//   offset 2    u16  scales_h    high 2 bits of the eight 6-bit scales: bits 2s, 2s+1 for sub-block s
//   offset 4    u8   scales_l[4] low 4 bits: sub-block s in the low (s even) or high (s odd) nibble of byte s/2
//   offset 8    u8   qs[128]     4-bit indices: bytes 16s ..< 16s+16 hold sub-block s's elements 0..<16
//                                in their low nibbles and 16..<32 in their high ones
//
//   element 32s + l = (d · (ls[s] − 32)) · table[index]
//
// with ggml's non-linear table kvalues_iq4nl (the same as IQ4_NL's; a property of the format, the
// sixteen levels every IQ4 file is written against). A 32-element decode group is one sub-block.

/// 4-bit non-linear super-blocks with 6-bit scales per 32 elements.
enum IQ4XSDecoder: BlockDecoder {
    static var blockElements: Int { 256 }
    static var blockBytes: Int { 136 }

    /// The sixteen signed levels an index stands for (computed, so that it folds to a constant; a
    /// stored static would be a lazy global, checked at every use).
    static var levels: SIMD16<Int8> { [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113] }

    /// Sub-block s's signed scale ls − 32 (−32 ..< 32).
    @inline(__always)
    static func scale(_ s: Int, _ block: UnsafeRawPointer) -> Int32 {
        let low = (block.load(fromByteOffset: 4 &+ (s &>> 1), as: UInt8.self) >> UInt8(truncatingIfNeeded: 4 &* (s & 1))) & 0xF
        let high = (block.loadUnaligned(fromByteOffset: 2, as: UInt16.self) >> UInt16(truncatingIfNeeded: 2 &* s)) & 3
        return (Int32(low) | Int32(high) << 4) &- 32
    }

    @inline(__always)
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup {
        let block = row + (g &>> 3) &* 136
        let s = g & 7
        let dl = loadHalfScale(block, I.self) * Float(scale(s, block))
        let qs = block + (8 &+ 16 &* s)
        // A table lookup per element: this decoder serves embedding rows and the float reference
        // product only (the runtime multiplies IQ4_XS in integers).
        @inline(__always) func eight(_ at: Int, high: Bool) -> SIMD8<Float> {
            var v = SIMD8<Float>()
            for i in 0..<8 {
                let byte = qs.load(fromByteOffset: at &+ i, as: UInt8.self)
                v[i] = Float(levels[Int(high ? byte >> 4 : byte & 0xF)])
            }
            return v * dl
        }
        return DecodedGroup(v0: eight(0, high: false), v1: eight(8, high: false), v2: eight(0, high: true), v3: eight(8, high: true))
    }

    /// Element i's level (−127 ... 113).
    static func value(_ block: UnsafeRawPointer, _ i: Int) -> Int32 {
        let s = i / 32, l = i % 32
        let byte = block.load(fromByteOffset: 8 + 16 * s + l % 16, as: UInt8.self)
        return Int32(levels[Int(l < 16 ? byte & 0xF : byte >> 4)])
    }

    /// dequantize_row_iq4_xs.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        var y = out
        for i in 0..<count / 256 {
            let block = row + i * 136
            let d = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 0, as: UInt16.self)))
            let scalesHigh = block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)
            var qs = block + 8
            for ib in 0..<8 {
                let low = Int(block.load(fromByteOffset: 4 + ib / 2, as: UInt8.self) >> (4 * (ib % 2))) & 0xF
                let ls = low | Int((scalesHigh >> (2 * ib)) & 3) << 4
                let dl = d * Float(ls - 32)
                for j in 0..<16 {
                    let byte = qs.load(fromByteOffset: j, as: UInt8.self)
                    y[j] = dl * Float(levels[Int(byte & 0xF)])
                    y[j + 16] = dl * Float(levels[Int(byte >> 4)])
                }
                y += 32
                qs += 16
            }
        }
    }
}
