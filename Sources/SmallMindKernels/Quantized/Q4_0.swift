// Q4_0: blocks of 32 elements, 18 bytes (ggml's block_q4_0):
//
//   offset 0   f16  d        scale
//   offset 2   u8   qs[16]   element j      = ((qs[j] & 0xF) − 8) · d     (j < 16)
//                            element j + 16 = ((qs[j] >> 4)  − 8) · d
//
// Low nibbles hold the first half of the block, high nibbles the second.

/// 4-bit blocks with a fixed offset of 8.
enum Q4_0Decoder: BlockDecoder {
    static var blockElements: Int { 32 }
    static var blockBytes: Int { 18 }

    @inline(__always)
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup {
        let block = row + g &* 18
        let d = loadHalfScale(block, I.self)
        // Bytes widened to 32-bit lanes first (one vpmovzxbd each): the nibbles are then a mask
        // and a shift away, with no byte-lane arithmetic, which x86 lacks.
        let first = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 2, as: SIMD8<UInt8>.self))
        let second = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 10, as: SIMD8<UInt8>.self))
        @inline(__always) func eight(_ q: SIMD8<Int32>) -> SIMD8<Float> { SIMD8<Float>(q &- 8) * d }
        return DecodedGroup(v0: eight(first & 0x0F), v1: eight(second & 0x0F), v2: eight(first &>> 4), v3: eight(second &>> 4))
    }

    /// dequantize_row_q4_0.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count / 32 {
            let block = row + i * 18
            let d = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
            for j in 0..<16 {
                let q = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                let x0 = Int(q & 0x0F) - 8
                let x1 = Int(q >> 4) - 8
                out[i * 32 + j] = Float(x0) * d
                out[i * 32 + j + 16] = Float(x1) * d
            }
        }
    }
}
