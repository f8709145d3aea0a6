// Q5_K: super-blocks of 256 elements, 176 bytes (ggml's block_q5_K):
//
//   offset 0    f16  d          scale of the sub-scales
//   offset 2    f16  dmin       scale of the sub-mins
//   offset 4    u8   scales[12] eight 6-bit sub-scales and sub-mins, packed as Q4_K's (Q4K.swift)
//   offset 16   u8   qh[32]     fifth bits: bit s of byte l belongs to element 32s + l
//   offset 48   u8   qs[128]    low 4 bits, as Q4_K's qs: bytes 32j ..< 32j+32 hold sub-block 2j
//                               in their low nibbles and sub-block 2j+1 in their high nibbles
//
//   element 32s + l = (d · sc[s]) · (nibble + 16 · bit) − (dmin · m[s])
//
// Q4_K with a fifth bit per value. A 32-element decode group is one sub-block.

/// 5-bit super-blocks with per-sub-block scales and mins.
enum Q5KDecoder: BlockDecoder {
    static var blockElements: Int { 256 }
    static var blockBytes: Int { 176 }

    @inline(__always)
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup {
        let block = row + (g &>> 3) &* 176
        let s = g & 7
        let (sc, m) = Q4KDecoder.scaleMin(s, block + 4)
        let d1 = loadHalfScale(block, I.self) * Float(sc)
        let m1 = loadHalfScale(block + 2, I.self) * Float(m)
        // Bytes widened to 32-bit lanes, as for Q4_K (x86 has no byte-lane shifts).
        let qs = 48 &+ (s &>> 1) &* 32
        let shift = Int32(truncatingIfNeeded: (s & 1) &* 4), bit = Int32(truncatingIfNeeded: s)
        @inline(__always) func eight(_ at: Int) -> SIMD8<Float> {
            let low = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: qs &+ at, as: SIMD8<UInt8>.self))
            let high = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 16 &+ at, as: SIMD8<UInt8>.self))
            let q = ((low &>> shift) & 0x0F) | (((high &>> bit) & 1) &<< 4)
            // Product then difference, two roundings, as the reference.
            return SIMD8<Float>(q) * d1 - m1
        }
        return DecodedGroup(v0: eight(0), v1: eight(8), v2: eight(16), v3: eight(24))
    }

    /// Element i's 5-bit code (0 ..< 32).
    static func code(_ block: UnsafeRawPointer, _ i: Int) -> Int32 {
        let s = i / 32, l = i % 32
        let byte = block.load(fromByteOffset: 48 + 32 * (s / 2) + l, as: UInt8.self)
        let nibble = s % 2 == 0 ? byte & 0x0F : byte >> 4
        let bit = (block.load(fromByteOffset: 16 + l, as: UInt8.self) >> s) & 1
        return Int32(nibble | bit << 4)
    }

    /// dequantize_row_q5_K.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        var y = out
        for i in 0..<count / 256 {
            let block = row + i * 176
            let d = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 0, as: UInt16.self)))
            let dmin = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            var ql = block + 48
            let qh = block + 16
            var index = 0
            var u1: UInt8 = 1, u2: UInt8 = 2
            for _ in stride(from: 0, to: 256, by: 64) {
                let (sc1, m1raw) = Q4KDecoder.scaleMin(index, block + 4)
                let d1 = d * Float(sc1), m1 = dmin * Float(m1raw)
                let (sc2, m2raw) = Q4KDecoder.scaleMin(index + 1, block + 4)
                let d2 = d * Float(sc2), m2 = dmin * Float(m2raw)
                for l in 0..<32 {
                    let q = Int(ql.load(fromByteOffset: l, as: UInt8.self) & 0xF) + (qh.load(fromByteOffset: l, as: UInt8.self) & u1 != 0 ? 16 : 0)
                    y[l] = d1 * Float(q) - m1
                }
                y += 32
                for l in 0..<32 {
                    let q = Int(ql.load(fromByteOffset: l, as: UInt8.self) >> 4) + (qh.load(fromByteOffset: l, as: UInt8.self) & u2 != 0 ? 16 : 0)
                    y[l] = d2 * Float(q) - m2
                }
                y += 32
                ql += 32
                index += 2
                u1 <<= 2
                u2 <<= 2
            }
        }
    }
}
