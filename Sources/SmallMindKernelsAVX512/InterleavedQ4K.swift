// Q4_K and Q5_K weights times Q8_K activation codes with AVX-512 VNNI, on rows regrouped eight at a
// time (layout: SmallMindKernels' `InterleavedRows`; order: its `InterleavedMatmul`, the naive twin).
// Q5_K's group super-block is Q4_K's followed by eight vectors of fifth bits, which join the
// nibbles (u = nibble + 16·bit) before the products; everything else is shared.
// As for Q8_0/Q4_0, lane r of every vector is weight row r. Per group super-block (eight rows ×
// 256 elements) and activation row x (scale d_x, code sums S_s of each sub-block of 32):
//
//   vpdpbusd, per sub-block s: lane r = Σ u·x over the sub-block (u the nibble), exact
//   vpmulld by the sub-scales sc_s (lane r: row r's), added over the sub-blocks: isum, exact
//   vpmulld of the sub-mins m_s by S_s, added: msum, exact
//   acc = fma(Float(isum), d·d_x, acc),  accMin = fma(Float(msum), dmin·d_x, accMin);  y = acc − accMin
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel

public enum InterleavedQ4KVNNI {
    /// Bytes of one Q4_K group super-block: d and dmin (eight f16 each), sub-scales and sub-mins
    /// (eight sub-blocks × eight rows, a byte each), codes (4 × 8 vectors of 32 bytes).
    static let bytes = 32 + 128 + 1024
    /// Bytes of one Q5_K group super-block: the above, then the fifth bits (8 vectors of 32 bytes).
    static let fiveBitBytes = bytes + 256

    /// y[b, o] for o in `rows` of the matrix whose groups start at `groups`, `superBlocks` group
    /// super-blocks per group (Q5_K's with `fifthBits`, Q4_K's without). A group only partly
    /// inside `rows` is computed whole, stored in part.
    public static func multiply(
        fifthBits: Bool, groups: UnsafeRawPointer, superBlocks: Int, _ a: ActivationCodes, y: UnsafeMutablePointer<Float>, ldy: Int,
        rows: Range<Int>
    ) {
        // Two walks, so that `fifthBits` is a constant inside each inlined tile.
        if fifthBits {
            walkGroups(rows: rows, batch: a.batch, eight: false) { g, first, end, b, width in
                tile(groups + g &* superBlocks &* fiveBitBytes, superBlocks, a, b, y + b * ldy + 8 * g, ldy, first, end,
                     four: width == 4, fifthBits: true)
            }
        } else {
            walkGroups(rows: rows, batch: a.batch, eight: false) { g, first, end, b, width in
                tile(groups + g &* superBlocks &* bytes, superBlocks, a, b, y + b * ldy + 8 * g, ldy, first, end,
                     four: width == 4, fifthBits: false)
            }
        }
    }

    /// One group against four activation rows (one without `four`): each vector of codes loaded
    /// and split into nibbles (with their fifth bits) once for all of them.
    @inline(__always)
    static func tile(
        _ group: UnsafeRawPointer, _ superBlocks: Int, _ a: ActivationCodes, _ t: Int,
        _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ first: Int, _ end: Int, four: Bool, fifthBits: Bool
    ) {
        let columns = a.columns, x = UnsafeRawPointer(a.codes + t &* columns)
        let zero = _mm256_setzero_si256(), mask = _mm256_set1_epi8(0x0F), sixteen = _mm256_set1_epi8(16)
        var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
        var min0 = acc0, min1 = acc0, min2 = acc0, min3 = acc0
        let ahead = four ? Prefetch.distance(firstRow: t, batch: a.batch) : 0
        for sb in 0..<superBlocks {
            let block = group + sb &* (fifthBits ? fiveBitBytes : bytes), xs = x + sb &* 256
            Prefetch.ahead(block, bytes: fifthBits ? fiveBitBytes : bytes, distance: ahead)
            var i0 = zero, i1 = zero, i2 = zero, i3 = zero
            for j in 0..<4 {
                var lo0 = zero, lo1 = zero, lo2 = zero, lo3 = zero
                var hi0 = zero, hi1 = zero, hi2 = zero, hi3 = zero
                for k in 0..<8 {
                    let packed = block.loadUnaligned(fromByteOffset: 160 &+ 256 &* j &+ 32 &* k, as: __m256i.self)
                    var low = _mm256_and_si256(packed, mask), high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), mask)
                    if fifthBits {
                        // Bits 2j and 2j + 1 of the row's qh bytes 4k ..< 4k + 4, to bit 4 of each code.
                        let bits = block.loadUnaligned(fromByteOffset: bytes &+ 32 &* k, as: __m256i.self)
                        low = _mm256_or_si256(low, _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(bits, Int32(truncatingIfNeeded: 2 &* j)), 4), sixteen))
                        high = _mm256_or_si256(high, _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(bits, Int32(truncatingIfNeeded: 2 &* j &+ 1)), 4), sixteen))
                    }
                    let at = 64 &* j &+ 4 &* k
                    @inline(__always) func dp(_ acc: __m256i, _ v: __m256i, _ row: Int, _ offset: Int) -> __m256i {
                        _mm256_mask_dpbusd_epi32(
                            acc, 0xFF, v, _mm256_set1_epi32(xs.loadUnaligned(fromByteOffset: row &* columns &+ offset, as: Int32.self)))
                    }
                    lo0 = dp(lo0, low, 0, at); hi0 = dp(hi0, high, 0, at &+ 32)
                    if four {
                        lo1 = dp(lo1, low, 1, at); hi1 = dp(hi1, high, 1, at &+ 32)
                        lo2 = dp(lo2, low, 2, at); hi2 = dp(hi2, high, 2, at &+ 32)
                        lo3 = dp(lo3, low, 3, at); hi3 = dp(hi3, high, 3, at &+ 32)
                    }
                }
                let scLo = subBlockBytes(block, 32 &+ 16 &* j), scHi = subBlockBytes(block, 40 &+ 16 &* j)
                @inline(__always) func fold(_ i: inout __m256i, _ lo: __m256i, _ hi: __m256i) {
                    i = _mm256_add_epi32(i, _mm256_add_epi32(_mm256_mullo_epi32(lo, scLo), _mm256_mullo_epi32(hi, scHi)))
                }
                fold(&i0, lo0, hi0)
                if four { fold(&i1, lo1, hi1); fold(&i2, lo2, hi2); fold(&i3, lo3, hi3) }
            }
            let d = _mm256_cvtph_ps(block.loadUnaligned(as: __m128i.self))
            let dmin = _mm256_cvtph_ps(block.loadUnaligned(fromByteOffset: 16, as: __m128i.self))
            @inline(__always) func finish(_ acc: inout __m256, _ accMin: inout __m256, _ isum: __m256i, _ row: Int) {
                let at = (t &+ row) &* (columns / 256) &+ sb
                let sums = a.sums + at &* 8
                var msum = zero
                for s in 0..<8 {
                    msum = _mm256_add_epi32(msum, _mm256_mullo_epi32(subBlockBytes(block, 96 &+ 8 &* s), _mm256_set1_epi32(sums[s])))
                }
                let dx = _mm256_set1_ps(a.scales[at])
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(d, dx), acc)
                accMin = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_mul_ps(dmin, dx), accMin)
            }
            finish(&acc0, &min0, i0, 0)
            if four { finish(&acc1, &min1, i1, 1); finish(&acc2, &min2, i2, 2); finish(&acc3, &min3, i3, 3) }
        }
        InterleavedVNNI.store(_mm256_sub_ps(acc0, min0), y, first, end)
        if four {
            InterleavedVNNI.store(_mm256_sub_ps(acc1, min1), y + ldy, first, end)
            InterleavedVNNI.store(_mm256_sub_ps(acc2, min2), y + 2 * ldy, first, end)
            InterleavedVNNI.store(_mm256_sub_ps(acc3, min3), y + 3 * ldy, first, end)
        }
    }

    /// Eight bytes at `offset` (one sub-block's value for each of the eight rows), widened to int32.
    @inline(__always)
    static func subBlockBytes(_ block: UnsafeRawPointer, _ offset: Int) -> __m256i {
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(UnsafePointer<__m128i>(OpaquePointer(block + offset))))
    }
}
#endif
