// Q5_1: blocks of 32 elements, 24 bytes (ggml's block_q5_1):
//
//   offset 0   f16  d        scale
//   offset 2   f16  m        minimum
//   offset 4   u32  qh       bit j: the fifth (high) bit of element j
//   offset 8   u8   qs[16]   low nibble: element j, high nibble: element j + 16
//
//   element j = (nibble_j | high_j << 4) · d + m
//
// The integer products take the minimum apart, as for Q4_1.
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// 5-bit blocks with a scale and a minimum.
enum Q5_1Decoder: BlockDecoder {
    static var blockElements: Int { 32 }
    static var blockBytes: Int { 24 }

    @inline(__always)
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup {
        let block = row + g &* 24
        let d = loadHalfScale(block, I.self), m = loadHalfScale(block + 2, I.self)
        let high = highBits(block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let first = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 8, as: SIMD8<UInt8>.self))
        let second = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 16, as: SIMD8<UInt8>.self))
        @inline(__always) func eight(_ q: SIMD8<Int32>, _ h: SIMD8<Int32>) -> SIMD8<Float> { SIMD8<Float>(q | h) * d + m }
        return DecodedGroup(
            v0: eight(first & 0x0F, high.0), v1: eight(second & 0x0F, high.1),
            v2: eight(first &>> 4, high.2), v3: eight(second &>> 4, high.3))
    }

    /// dequantize_row_q5_1.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count / 32 {
            let block = row + i * 24
            let d = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
            let m = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            let qh = block.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
            for j in 0..<16 {
                let q = UInt32(block.load(fromByteOffset: 8 + j, as: UInt8.self))
                let high0 = ((qh >> UInt32(j)) << 4) & 0x10
                let high1 = (qh >> UInt32(j + 12)) & 0x10
                out[i * 32 + j] = Float((q & 0x0F) | high0) * d + m
                out[i * 32 + j + 16] = Float((q >> 4) | high1) * d + m
            }
        }
    }
}

extension Q5_1Decoder: IntegerBlockDecoder {
    static var minimumOffset: Int? { 2 }

    static func code(_ block: UnsafeRawPointer, _ i: Int) -> Int32 {
        let byte = block.load(fromByteOffset: 8 + i % 16, as: UInt8.self)
        let nibble = Int32(i < 16 ? byte & 0x0F : byte >> 4)
        return nibble + 16 * Int32((block.loadUnaligned(fromByteOffset: 4, as: UInt32.self) >> UInt32(i)) & 1)
    }
}

extension Q5_1Decoder: IntegerWeightBlocks {
    /// The 5-bit codes (0…31): the nibbles, or-ed with 0x10 where the high bit is set
    /// (ggml_vec_dot_q5_1_q8_1's way).
    @inline(__always)
    static func codes<I: InstructionSet>(_ block: UnsafeRawPointer, _: I.Type) -> SIMD32<Int8> {
        let qh = block.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            let high = _mm256_and_si256(bitBytes(qh), _mm256_set1_epi8(0x10))
            return unsafeBitCast(_mm256_or_si256(nibbleBytes(block + 8), high), to: SIMD32<Int8>.self)
        }
        #endif
        return portableNibbleCodes(block + 8, qh)
    }
}
