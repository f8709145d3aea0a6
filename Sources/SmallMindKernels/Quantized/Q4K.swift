// Q4_K: super-blocks of 256 elements, 144 bytes (ggml's block_q4_K):
//
//   offset 0    f16  d          scale of the sub-scales
//   offset 2    f16  dmin       scale of the sub-mins
//   offset 4    u8   scales[12] eight 6-bit sub-scales and eight 6-bit sub-mins, packed (below)
//   offset 16   u8   qs[128]    4-bit values: bytes 32j ..< 32j+32 hold sub-block 2j in their low
//                               nibbles and sub-block 2j+1 in their high nibbles
//
//   element 32s + l = (d · sc[s]) · q − (dmin · m[s])     for sub-block s in 0..<8, l in 0..<32
//
// Packing of (sc, m) for sub-block s (ggml's get_scale_min_k4):
//   s < 4:  sc = scales[s] & 63,                              m = scales[s+4] & 63
//   s ≥ 4:  sc = (scales[s+4] & 0xF) | (scales[s-4] >> 6) << 4, m = (scales[s+4] >> 4) | (scales[s] >> 6) << 4
//
// A 32-element decode group is exactly one sub-block.

/// 4-bit super-blocks with per-sub-block scales and mins.
enum Q4KDecoder: BlockDecoder {
    static var blockElements: Int { 256 }
    static var blockBytes: Int { 144 }

    /// ggml's get_scale_min_k4: the 6-bit scale and min of sub-block `j` from the 12 packed bytes.
    @inline(__always)
    static func scaleMin(_ j: Int, _ q: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
        @inline(__always) func b(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (b(j) & 63, b(j + 4) & 63) }
        return ((b(j + 4) & 0xF) | ((b(j - 4) >> 6) << 4), (b(j + 4) >> 4) | ((b(j) >> 6) << 4))
    }

    @inline(__always)
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup {
        let block = row + (g &>> 3) &* 144
        let s = g & 7
        let (sc, m) = scaleMin(s, block + 4)
        let d1 = loadHalfScale(block, I.self) * Float(sc)
        let m1 = loadHalfScale(block + 2, I.self) * Float(m)
        // Bytes widened to 32-bit lanes before the nibble is picked: x86 has no byte-lane shifts,
        // and SIMD32<UInt8> arithmetic compiled to a scalar loop over the lanes through the stack
        // (m110 Q4_K_M decoded at under 1 tok/s).
        let qs = 16 &+ (s &>> 1) &* 32
        let shift = Int32(truncatingIfNeeded: (s & 1) &* 4)
        // Product then difference, two roundings, as the reference (no FMA): bit-identical values.
        @inline(__always) func eight(_ at: Int) -> SIMD8<Float> {
            let bytes = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: qs &+ at, as: SIMD8<UInt8>.self))
            return SIMD8<Float>((bytes &>> shift) & 0x0F) * d1 - m1
        }
        return DecodedGroup(v0: eight(0), v1: eight(8), v2: eight(16), v3: eight(24))
    }

    /// dequantize_row_q4_K.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        var y = out
        for i in 0..<count / 256 {
            let block = row + i * 144
            let d = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 0, as: UInt16.self)))
            let dmin = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            var q = block + 16
            var index = 0
            for _ in stride(from: 0, to: 256, by: 64) {
                let (sc1, m1raw) = scaleMin(index, block + 4)
                let d1 = d * Float(sc1), m1 = dmin * Float(m1raw)
                let (sc2, m2raw) = scaleMin(index + 1, block + 4)
                let d2 = d * Float(sc2), m2 = dmin * Float(m2raw)
                for l in 0..<32 { y[l] = d1 * Float(q.load(fromByteOffset: l, as: UInt8.self) & 0xF) - m1 }
                y += 32
                for l in 0..<32 { y[l] = d2 * Float(q.load(fromByteOffset: l, as: UInt8.self) >> 4) - m2 }
                y += 32
                q += 32
                index += 2
            }
        }
    }
}
