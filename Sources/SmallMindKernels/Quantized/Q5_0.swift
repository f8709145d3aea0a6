// Q5_0: blocks of 32 elements, 22 bytes (ggml's block_q5_0):
//
//   offset 0   f16  d        scale
//   offset 2   u32  qh       bit j: the fifth (high) bit of element j
//   offset 6   u8   qs[16]   low nibble: element j, high nibble: element j + 16 (as Q4_0)
//
//   element j = ((nibble_j | high_j << 4) − 16) · d
//
// Most of the weights of the published Q4_K_M files of small models are Q5_0 (llama.cpp's mixes
// keep 256-element K-quants for rows that are multiples of 256; Qwen 2.5 0.5B's 896 and Gemma 3
// 270M's 640 are not), so this format is as hot as Q8_0.
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// 5-bit blocks with a fixed offset of 16.
enum Q5_0Decoder: BlockDecoder {
    static var blockElements: Int { 32 }
    static var blockBytes: Int { 22 }

    @inline(__always)
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup {
        let block = row + g &* 22
        let d = loadHalfScale(block, I.self)
        let high = highBits(block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        let first = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 6, as: SIMD8<UInt8>.self))
        let second = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 14, as: SIMD8<UInt8>.self))
        @inline(__always) func eight(_ q: SIMD8<Int32>, _ h: SIMD8<Int32>) -> SIMD8<Float> { SIMD8<Float>((q | h) &- 16) * d }
        return DecodedGroup(
            v0: eight(first & 0x0F, high.0), v1: eight(second & 0x0F, high.1),
            v2: eight(first &>> 4, high.2), v3: eight(second &>> 4, high.3))
    }

    /// dequantize_row_q5_0.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count / 32 {
            let block = row + i * 22
            let d = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
            let qh = block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
            for j in 0..<16 {
                let q = UInt32(block.load(fromByteOffset: 6 + j, as: UInt8.self))
                let high0 = ((qh >> UInt32(j)) << 4) & 0x10
                let high1 = (qh >> UInt32(j + 12)) & 0x10
                out[i * 32 + j] = Float(Int32((q & 0x0F) | high0) - 16) * d
                out[i * 32 + j + 16] = Float(Int32((q >> 4) | high1) - 16) * d
            }
        }
    }
}

/// The high bits of a Q5_0/Q5_1 block's elements 0..<8, 8..<16, 16..<24 and 24..<32, each as 16
/// or 0 in the element's lane.
@inline(__always)
func highBits(_ qh: UInt32) -> (SIMD8<Int32>, SIMD8<Int32>, SIMD8<Int32>, SIMD8<Int32>) {
    let shifts = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)
    let bits = SIMD8<UInt32>(repeating: qh)
    @inline(__always) func eight(_ from: UInt32) -> SIMD8<Int32> {
        SIMD8<Int32>(truncatingIfNeeded: ((bits &>> (shifts &+ from)) & 1) &<< 4)
    }
    return (eight(0), eight(8), eight(16), eight(24))
}

extension Q5_0Decoder: IntegerBlockDecoder {
    static func code(_ block: UnsafeRawPointer, _ i: Int) -> Int32 {
        let byte = block.load(fromByteOffset: 6 + i % 16, as: UInt8.self)
        let nibble = Int32(i < 16 ? byte & 0x0F : byte >> 4)
        let high = Int32((block.loadUnaligned(fromByteOffset: 2, as: UInt32.self) >> UInt32(i)) & 1)
        return nibble + 16 * high - 16
    }
}

extension Q5_0Decoder: IntegerWeightBlocks {
    /// ggml's way (ggml_vec_dot_q5_0_q8_0, AVX2): the nibbles, or-ed with 0xF0 where the high bit
    /// is clear — as a signed byte, nibble − 16 there and the nibble itself (= nibble + 16 − 16)
    /// where it is set.
    @inline(__always)
    static func codes<I: InstructionSet>(_ block: UnsafeRawPointer, _: I.Type) -> SIMD32<Int8> {
        let qh = block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            let nibbles = nibbleBytes(block + 6)
            return unsafeBitCast(_mm256_or_si256(nibbles, _mm256_andnot_si256(bitBytes(qh), _mm256_set1_epi8(-16))), to: SIMD32<Int8>.self)
        }
        #endif
        return portableNibbleCodes(block + 6, qh) &- 16
    }
}

#if os(Linux) && arch(x86_64)
/// The 16 packed bytes at `p` as 32 nibbles in element order (ggml's bytes_from_nibbles_32): low
/// nibbles are elements 0..<16, high nibbles 16..<32.
@inline(__always)
func nibbleBytes(_ p: UnsafeRawPointer) -> __m256i {
    let packed = unsafeBitCast(p.loadUnaligned(as: SIMD16<UInt8>.self), to: __m128i.self)
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0x0F))
}

/// Byte j is 0xFF where bit j of `bits` is set, else 0 (ggml's bytes_from_bits_32, another way):
/// byte j takes byte j / 8 of the word, then tests its bit j % 8.
@inline(__always)
func bitBytes(_ bits: UInt32) -> __m256i {
    let word = _mm256_set1_epi32(Int32(bitPattern: bits))
    // vpshufb works within 128-bit halves, each holding the whole broadcast word: bytes 0..<16
    // take its bytes 0 and 1, bytes 16..<32 its bytes 2 and 3.
    let order = _mm256_set_epi64x(0x0303_0303_0303_0303, 0x0202_0202_0202_0202, 0x0101_0101_0101_0101, 0)
    let select = _mm256_set1_epi64x(Int64(bitPattern: 0x8040_2010_0804_0201))
    return _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(word, order), select), select)
}
#endif

/// The 5-bit codes (0…31) of a Q5_0/Q5_1 block in portable SIMD: nibbles at `qs`, high bits `qh`.
@inline(__always)
func portableNibbleCodes(_ qs: UnsafeRawPointer, _ qh: UInt32) -> SIMD32<Int8> {
    let packed = qs.loadUnaligned(as: SIMD16<UInt8>.self)
    var codes = SIMD32<Int8>(lowHalf: SIMD16<Int8>(truncatingIfNeeded: packed & 0x0F), highHalf: SIMD16<Int8>(truncatingIfNeeded: packed &>> 4))
    for i in 0..<32 where (qh >> UInt32(i)) & 1 != 0 { codes[i] |= 16 }
    return codes
}
