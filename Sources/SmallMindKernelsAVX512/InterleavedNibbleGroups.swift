// The regrouped layouts of Q5_0, Q4_1, Q5_1 and IQ4_NL for `InterleavedVNNI` (the layouts are
// described, and built, by SmallMindKernels' `InterleavedRows`). All four keep Q4_0's packed
// nibbles — 32-byte chunk j holds bytes 4j ..< 4j + 4 of each row, low nibbles elements 4j + i,
// high nibbles 16 + 4j + i — so vector 2j is chunk j's low nibbles and vector 2j + 1 its high ones.
// What each adds:
//
//   Q5_0    high bits as one 32-bit mask per vector (bit 4r + i: row r's element of byte i): where
//           set, 16 is added to the nibble's byte (one masked vpaddb), giving u = value + 16
//   Q4_1    the rows' f16 minimums; the nibbles are the unsigned codes as they are (offset 0)
//   Q5_1    both: minimums, and the high-bit masks
//   IQ4_NL  each nibble looked up (vpshufb) in the table of its value + 128, an unsigned byte
//
// The masks cost the bytes Q5_0's own qh fields do: a group block is exactly eight file blocks.
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

/// `nibbleVectors` with 16 added to each byte whose bit is set in the vector's mask (eight
/// 32-bit masks at `masks`).
@inline(__always)
func fiveBitVectors(_ block: UnsafeRawPointer, at: Int, masks: Int) -> Vectors {
    var v = nibbleVectors(block, at: at)
    let sixteen = _mm256_set1_epi8(16)
    @inline(__always) func high(_ nibbles: __m256i, _ k: Int) -> __m256i {
        _mm256_mask_add_epi8(nibbles, block.loadUnaligned(fromByteOffset: masks &+ 4 &* k, as: UInt32.self), nibbles, sixteen)
    }
    v.v0 = high(v.v0, 0); v.v1 = high(v.v1, 1); v.v2 = high(v.v2, 2); v.v3 = high(v.v3, 3)
    v.v4 = high(v.v4, 4); v.v5 = high(v.v5, 5); v.v6 = high(v.v6, 6); v.v7 = high(v.v7, 7)
    return v
}

/// Vector v's activation bytes in the nibble layouts (Q4_0's).
@inline(__always)
func nibbleXOffset(_ v: Int) -> Int { 4 &* (v >> 1) &+ 16 &* (v & 1) }

/// Q5_0 (176 bytes): scales, the chunks at 16, the high-bit masks at 144.
enum Q5_0Group: GroupBlock {
    static var bytes: Int { 16 + 128 + 32 }
    static var offset: Int32 { 16 }
    @inline(__always) static func vectors(_ block: UnsafeRawPointer) -> Vectors { fiveBitVectors(block, at: 16, masks: 144) }
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

/// Q5_1 (192 bytes): scales, minimums at 16, the chunks at 32, the high-bit masks at 160.
enum Q5_1Group: GroupBlock {
    static var bytes: Int { 32 + 128 + 32 }
    static var offset: Int32 { 0 }
    static var minimumOffset: Int? { 16 }
    @inline(__always) static func vectors(_ block: UnsafeRawPointer) -> Vectors { fiveBitVectors(block, at: 32, masks: 160) }
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
