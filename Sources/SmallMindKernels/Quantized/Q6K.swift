// Q6_K: super-blocks of 256 elements, 210 bytes (ggml's block_q6_K):
//
//   offset 0    u8   ql[128]     low 4 bits of each value
//   offset 128  u8   qh[64]      high 2 bits of each value
//   offset 192  i8   scales[16]  one scale per 16 elements
//   offset 208  f16  d
//
// The super-block is two halves of 128 (n = 0, 1: ql += 64n, qh += 32n, scales += 8n); within a
// half, for l in 0..<32 and quarter t in 0..<4 the element 32t + l is
//   q = ((ql[l + 32·(t&1)] >> 4·(t>>1)) & 0xF) | ((qh[l] >> 2t) & 3) << 4        (0...63)
//   value = (d · scales[2t + l/16]) · (q − 32)
// (ggml's dequantize_row_q6_K writes the four quarters in one loop over l.) A 32-element decode
// group is one quarter of one half.

/// 6-bit super-blocks with int8 sub-scales.
enum Q6KDecoder: BlockDecoder {
    static var blockElements: Int { 256 }
    static var blockBytes: Int { 210 }

    @inline(__always)
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup {
        let block = row + (g &>> 3) &* 210
        let n = (g &>> 2) & 1, t = g & 3
        let d = loadHalfScale(block + 208, I.self)
        let scales = 192 &+ 8 &* n &+ 2 &* t
        let d0 = d * Float(block.load(fromByteOffset: scales, as: Int8.self))
        let d1 = d * Float(block.load(fromByteOffset: scales &+ 1, as: Int8.self))
        // q = ((ql >> 4·(t>>1)) & 0xF) | ((qh >> 2t) & 3) << 4, on bytes widened to 32-bit lanes:
        // x86 has no byte-lane shifts, and the same on SIMD32<UInt8> compiled to a scalar loop
        // over the lanes through the stack (m110 Q4_K_M, whose Q6_K tensors decode here, ran at
        // under 1 tok/s).
        let ql = 64 &* n &+ 32 &* (t & 1), qh = 128 &+ 32 &* n
        let lowShift = Int32(truncatingIfNeeded: 4 &* (t &>> 1)), highShift = Int32(truncatingIfNeeded: 2 &* t)
        @inline(__always) func eight(_ at: Int, _ scale: Float) -> SIMD8<Float> {
            let low = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: ql &+ at, as: SIMD8<UInt8>.self))
            let high = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: qh &+ at, as: SIMD8<UInt8>.self))
            let q = ((low &>> lowShift) & 0x0F) | (((high &>> highShift) & 3) &<< 4)
            return SIMD8<Float>(q &- 32) * scale
        }
        return DecodedGroup(v0: eight(0, d0), v1: eight(8, d0), v2: eight(16, d1), v3: eight(24, d1))
    }

    /// dequantize_row_q6_K.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        var y = out
        for i in 0..<count / 256 {
            let block = row + i * 210
            let d = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 208, as: UInt16.self)))
            var ql = block, qh = block + 128, sc = block + 192
            for _ in stride(from: 0, to: 256, by: 128) {
                for l in 0..<32 {
                    let i = l / 16
                    let qlA = ql.load(fromByteOffset: l, as: UInt8.self)
                    let qlB = ql.load(fromByteOffset: l + 32, as: UInt8.self)
                    let h = qh.load(fromByteOffset: l, as: UInt8.self)
                    let q1 = Int8(Int(qlA & 0xF) | Int((h >> 0) & 3) << 4) - 32
                    let q2 = Int8(Int(qlB & 0xF) | Int((h >> 2) & 3) << 4) - 32
                    let q3 = Int8(Int(qlA >> 4) | Int((h >> 4) & 3) << 4) - 32
                    let q4 = Int8(Int(qlB >> 4) | Int((h >> 6) & 3) << 4) - 32
                    func s(_ k: Int) -> Float { Float(sc.load(fromByteOffset: k, as: Int8.self)) }
                    y[l] = d * s(i) * Float(q1)
                    y[l + 32] = d * s(i + 2) * Float(q2)
                    y[l + 64] = d * s(i + 4) * Float(q3)
                    y[l + 96] = d * s(i + 6) * Float(q4)
                }
                y += 128
                ql += 64
                qh += 32
                sc += 8
            }
        }
    }
}
