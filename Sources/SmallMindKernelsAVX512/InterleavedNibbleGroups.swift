// The regrouped layouts of Q5_0, Q4_1, Q5_1 and IQ4_NL for `InterleavedVNNI` (the layouts are
// described, and built, by SmallMindKernels' `InterleavedRows`). All four keep Q4_0's packed
// nibbles — 32-byte chunk j holds bytes 4j ..< 4j + 4 of each row, low nibbles elements 4j + i,
// high nibbles 16 + 4j + i — so vector 2j is chunk j's low nibbles and vector 2j + 1 its high ones.
// What each adds:
//
//   Q5_0    the high bits as one more vector: bit v of byte 4r + i is the high bit of the element
//           whose nibble is byte 4r + i of vector v; shifted to bit 4 and or-ed into the nibbles
//           (LLVM fuses the and and the or into one vpternlogd), giving u = value + 16
//   Q4_1    the rows' f16 minimums; the nibbles are the unsigned codes as they are (offset 0)
//   Q5_1    both: minimums, and the high-bit masks
//   IQ4_NL  each nibble looked up (vpshufb) in the table of its value + 128, an unsigned byte
//
// The high bits take the bytes Q5_0's own qh fields do: a group block is exactly eight file blocks.
// (A first form kept one 32-bit mask per vector and added 16 under the mask — kmovd, vpor and a
// masked vmovdqu8 per vector: 896x4864 B=1 32.5-35.5 GFLOP/s, one thread.)
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel

/// The eight nibble vectors of the four chunks at `at`.
@inline(__always)
func nibbleVectors(_ block: UnsafeRawPointer, at: Int) -> Vectors {
    let mask = _mm256_set1_epi8(0x0F)
    @inline(__always) func chunk(_ j: Int) -> (__m256i, __m256i) {
        let packed = block.loadUnaligned(fromByteOffset: at &+ 32 &* j, as: __m256i.self)
        return (_mm256_and_si256(packed, mask), _mm256_and_si256(_mm256_srli_epi16(packed, 4), mask))
    }
    let (v0, v1) = chunk(0), (v2, v3) = chunk(1), (v4, v5) = chunk(2), (v6, v7) = chunk(3)
    return Vectors(v0: v0, v1: v1, v2: v2, v3: v3, v4: v4, v5: v5, v6: v6, v7: v7)
}

/// `nibbleVectors` with bit 4 of each byte set from the vector of high bits at `high` (bit v
/// for vector v). Word shifts are safe: the bits they carry across bytes land outside bit 4.
@inline(__always)
func fiveBitVectors(_ block: UnsafeRawPointer, at: Int, high: Int) -> Vectors {
    var v = nibbleVectors(block, at: at)
    let bits = block.loadUnaligned(fromByteOffset: high, as: __m256i.self), bit4 = _mm256_set1_epi8(0x10)
    @inline(__always) func or(_ nibbles: __m256i, _ shifted: __m256i) -> __m256i {
        _mm256_or_si256(nibbles, _mm256_and_si256(shifted, bit4))
    }
    v.v0 = or(v.v0, _mm256_slli_epi16(bits, 4)); v.v1 = or(v.v1, _mm256_slli_epi16(bits, 3))
    v.v2 = or(v.v2, _mm256_slli_epi16(bits, 2)); v.v3 = or(v.v3, _mm256_slli_epi16(bits, 1))
    v.v4 = or(v.v4, bits); v.v5 = or(v.v5, _mm256_srli_epi16(bits, 1))
    v.v6 = or(v.v6, _mm256_srli_epi16(bits, 2)); v.v7 = or(v.v7, _mm256_srli_epi16(bits, 3))
    return v
}

/// Vector v's activation bytes in the nibble layouts (Q4_0's).
@inline(__always)
func nibbleXOffset(_ v: Int) -> Int { 4 &* (v >> 1) &+ 16 &* (v & 1) }

/// Q5_0 (176 bytes): scales, the chunks at 16, the high bits at 144.
enum Q5_0Group: GroupBlock {
    static var bytes: Int { 16 + 128 + 32 }
    static var offset: Int32 { 16 }
    @inline(__always) static func vectors(_ block: UnsafeRawPointer) -> Vectors { fiveBitVectors(block, at: 16, high: 144) }
    @inline(__always) static func xOffset(_ v: Int) -> Int { nibbleXOffset(v) }
}

/// Q4_1 (160 bytes): scales, minimums at 16, the chunks at 32.
enum Q4_1Group: GroupBlock {
    static var bytes: Int { 32 + 128 }
    static var offset: Int32 { 0 }
    static var minimumOffset: Int? { 16 }
    @inline(__always) static func vectors(_ block: UnsafeRawPointer) -> Vectors { nibbleVectors(block, at: 32) }
    @inline(__always) static func xOffset(_ v: Int) -> Int { nibbleXOffset(v) }
}

/// Q5_1 (192 bytes): scales, minimums at 16, the chunks at 32, the high bits at 160.
enum Q5_1Group: GroupBlock {
    static var bytes: Int { 32 + 128 + 32 }
    static var offset: Int32 { 0 }
    static var minimumOffset: Int? { 16 }
    @inline(__always) static func vectors(_ block: UnsafeRawPointer) -> Vectors { fiveBitVectors(block, at: 32, high: 160) }
    @inline(__always) static func xOffset(_ v: Int) -> Int { nibbleXOffset(v) }
}

/// IQ4_NL (144 bytes, as Q4_0): scales, the chunks at 16, looked up into value + 128.
enum IQ4_NLGroup: GroupBlock {
    static var bytes: Int { 16 + 128 }
    static var offset: Int32 { 128 }
    @inline(__always)
    static func vectors(_ block: UnsafeRawPointer) -> Vectors {
        // ggml's kvalues_iq4nl + 128, as little-endian words (bytes 0..<8, 8..<16), in both halves.
        let low = 0x766A_5D4F_3F2D_1801 as Int64, high = Int64(bitPattern: 0xF1D9_C5B5_A699_8D81)
        let table = _mm256_set_epi64x(high, low, high, low)
        var v = nibbleVectors(block, at: 16)
        v.v0 = _mm256_shuffle_epi8(table, v.v0); v.v1 = _mm256_shuffle_epi8(table, v.v1)
        v.v2 = _mm256_shuffle_epi8(table, v.v2); v.v3 = _mm256_shuffle_epi8(table, v.v3)
        v.v4 = _mm256_shuffle_epi8(table, v.v4); v.v5 = _mm256_shuffle_epi8(table, v.v5)
        v.v6 = _mm256_shuffle_epi8(table, v.v6); v.v7 = _mm256_shuffle_epi8(table, v.v7)
        return v
    }
    @inline(__always) static func xOffset(_ v: Int) -> Int { nibbleXOffset(v) }
}
#endif
