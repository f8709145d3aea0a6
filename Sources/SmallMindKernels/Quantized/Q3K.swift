// Q3_K: super-blocks of 256 elements, 110 bytes (ggml's block_q3_K):
//
//   offset 0    u8   hmask[32]   third bits: bit c of byte l belongs to element 32c + l
//   offset 32   u8   qs[64]      low 2 bits: element 128n + 32j + l at bits 2j of qs[32n + l]
//   offset 96   u8   scales[12]  sixteen 6-bit scales (one per 16 elements), packed (below)
//   offset 108  f16  d
//
//   element i = (d · (sc[i/16] − 32)) · (q2 + 4 · bit − 4)        (q2 + 4·bit − 4 in −4 ... 3)
//
// Packing of the 6-bit scale s in 0..<16 (what ggml's dequantize_row_q3_K unpacks with its kmasks):
//   low 4 bits: s < 8 ? scales[s] & 0xF : scales[s − 8] >> 4
//   high 2 bits: (scales[8 + s % 4] >> 2·(s / 4)) & 3
//
// A 32-element decode group c (0..<8) is n = c / 4, j = c % 4: two sub-blocks of 16.

/// 3-bit super-blocks with 6-bit sub-scales per 16 elements.
enum Q3KDecoder: BlockDecoder {
    static var blockElements: Int { 256 }
    static var blockBytes: Int { 110 }

    /// Sub-block s's 6-bit scale, unoffset (0 ..< 64).
    @inline(__always)
    static func rawScale(_ s: Int, _ block: UnsafeRawPointer) -> Int32 {
        @inline(__always) func b(_ i: Int) -> UInt8 { block.load(fromByteOffset: 96 &+ i, as: UInt8.self) }
        let low = s < 8 ? b(s) & 0xF : b(s &- 8) >> 4
        let high = (b(8 &+ (s & 3)) >> UInt8(truncatingIfNeeded: 2 &* (s &>> 2))) & 3
        return Int32(low | high << 4)
    }

    /// Sub-block s's signed scale (−32 ..< 32).
    @inline(__always)
    static func scale(_ s: Int, _ block: UnsafeRawPointer) -> Int32 { rawScale(s, block) &- 32 }

    @inline(__always)
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup {
        let block = row + (g &>> 3) &* 110
        let c = g & 7
        let d = loadHalfScale(block + 108, I.self)
        let d0 = d * Float(scale(2 &* c, block)), d1 = d * Float(scale(2 &* c &+ 1, block))
        let qs = 32 &+ 32 &* (c &>> 2)
        let shift = Int32(truncatingIfNeeded: 2 &* (c & 3)), bit = Int32(truncatingIfNeeded: c)
        @inline(__always) func eight(_ at: Int, _ dl: Float) -> SIMD8<Float> {
            let low = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: qs &+ at, as: SIMD8<UInt8>.self))
            let high = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: at, as: SIMD8<UInt8>.self))
            let q = ((low &>> shift) & 3) | (((high &>> bit) & 1) &<< 2)
            return SIMD8<Float>(q &- 4) * dl
        }
        return DecodedGroup(v0: eight(0, d0), v1: eight(8, d0), v2: eight(16, d1), v3: eight(24, d1))
    }

    /// Element i's unsigned code q2 + 4·bit (0 ..< 8; the value is code − 4).
    static func code(_ block: UnsafeRawPointer, _ i: Int) -> Int32 {
        let c = i / 32, l = i % 32
        let low = (block.load(fromByteOffset: 32 + 32 * (c / 4) + l, as: UInt8.self) >> (2 * (c % 4))) & 3
        let bit = (block.load(fromByteOffset: l, as: UInt8.self) >> c) & 1
        return Int32(low | bit << 2)
    }

    /// dequantize_row_q3_K.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        var y = out
        for i in 0..<count / 256 {
            let block = row + i * 110
            let dAll = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 108, as: UInt16.self)))
            var q = block + 32
            let hm = block
            var m: UInt8 = 1
            var index = 0
            for _ in stride(from: 0, to: 256, by: 128) {
                var shift: UInt8 = 0
                for _ in 0..<4 {
                    for half in 0..<2 {
                        let dl = dAll * Float(rawScale(index, block) - 32)
                        index += 1
                        for l in 16 * half..<16 * half + 16 {
                            let low = Int8((q.load(fromByteOffset: l, as: UInt8.self) >> shift) & 3)
                            let value = low - (hm.load(fromByteOffset: l, as: UInt8.self) & m != 0 ? 0 : 4)
                            y[l - 16 * half] = dl * Float(value)
                        }
                        y += 16
                    }
                    shift += 2
                    m <<= 1
                }
                q += 32
            }
        }
    }
}
