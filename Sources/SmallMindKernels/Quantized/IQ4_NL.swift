// IQ4_NL: blocks of 32 elements, 18 bytes (ggml's block_iq4_nl):
//
//   offset 0   f16  d        scale
//   offset 2   u8   qs[16]   low nibble: element j, high nibble: element j + 16 (as Q4_0)
//
//   element j = d · table[nibble_j]   (a fixed non-linear table of 16 signed values, ggml's
//                                      kvalues_iq4nl, denser near zero where weights crowd)
//
// The table's values fit a signed byte, so the integer products are Q8_0's, on looked-up codes.
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// 4-bit indices into a fixed table of 16 values.
enum IQ4_NLDecoder: BlockDecoder {
    static var blockElements: Int { 32 }
    static var blockBytes: Int { 18 }

    /// ggml's kvalues_iq4nl.
    static let values: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    @inline(__always)
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup {
        let block = row + g &* 18
        let d = loadHalfScale(block, I.self), c = codes(block, I.self)
        @inline(__always) func eight(_ q: SIMD8<Int8>) -> SIMD8<Float> { SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: q)) * d }
        return DecodedGroup(v0: eight(c.lowHalf.lowHalf), v1: eight(c.lowHalf.highHalf), v2: eight(c.highHalf.lowHalf), v3: eight(c.highHalf.highHalf))
    }

    /// dequantize_row_iq4_nl.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count / 32 {
            let block = row + i * 18
            let d = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
            for j in 0..<16 {
                let q = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                out[i * 32 + j] = d * Float(values[Int(q & 0x0F)])
                out[i * 32 + j + 16] = d * Float(values[Int(q >> 4)])
            }
        }
    }
}

extension IQ4_NLDecoder: IntegerBlockDecoder {
    static func code(_ block: UnsafeRawPointer, _ i: Int) -> Int32 {
        let byte = block.load(fromByteOffset: 2 + i % 16, as: UInt8.self)
        return Int32(values[Int(i < 16 ? byte & 0x0F : byte >> 4)])
    }
}

extension IQ4_NLDecoder: IntegerWeightBlocks {
    /// The table's values, looked up by vpshufb (ggml's way on AVX2).
    @inline(__always)
    static func codes<I: InstructionSet>(_ block: UnsafeRawPointer, _: I.Type) -> SIMD32<Int8> {
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            // kvalues_iq4nl as two little-endian words: bytes 0..<8, then 8..<16.
            let table = _mm_set_epi64x(0x7159_4535_2619_0D01, Int64(bitPattern: 0xF6EA_DDCF_BFAD_9881))
            let packed = unsafeBitCast(block.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self), to: __m128i.self)
            let mask = _mm_set1_epi8(0x0F)
            let low = _mm_shuffle_epi8(table, _mm_and_si128(packed, mask))
            let high = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(packed, 4), mask))
            return unsafeBitCast(_mm256_set_m128i(high, low), to: SIMD32<Int8>.self)
        }
        #endif
        let nibbles = portableNibbleCodes(block + 2, 0)
        var codes = SIMD32<Int8>()
        for i in 0..<32 { codes[i] = values[Int(nibbles[i])] }
        return codes
    }
}
