// Q3_K weights times Q8_K activation codes with AVX-512 VNNI, on rows regrouped eight at a time
// (layout: SmallMindKernels' `InterleavedRows`; order: its `InterleavedMatmul`, the naive twin).
// Lane r of every vector is weight row r. Per group super-block (eight rows × 256 elements) and
// activation row x (scale d_x, code sums S_s of each sub-block s of 16):
//
//   the 3-bit codes u = q2 + 4·bit (0 ..< 8) reassembled from their low two bits and high bit
//   vpdpbusd, per sub-block of 16: lane r = Σ u·x, exact;  vpmulld by the sub-scales sc_s − 32, added
//   minus 4 · Σ_s (sc_s − 32) · S_s (the codes stand for u − 4): isum = Σ_s (sc_s − 32) · Σ (u − 4)·x
//   acc = fma(Float(isum), d·d_x, acc)
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel

public enum InterleavedQ3KVNNI {
    /// Bytes of one group super-block: d (eight f16), sub-scales (16 sub-blocks × eight rows, sc − 32
    /// as a signed byte each), low bits (2 × 8 vectors), high bits (8 vectors).
    static let bytes = 16 + 128 + 512 + 256

    /// y[b, o] for o in `rows` of the matrix whose groups start at `groups`, `superBlocks` group
    /// super-blocks per group; `a.sums` must hold the sums of each 16 codes. A group only partly
    /// inside `rows` is computed whole and stored in part.
    public static func multiply(
        groups: UnsafeRawPointer, superBlocks: Int, _ a: ActivationCodes, y: UnsafeMutablePointer<Float>, ldy: Int,
        rows: Range<Int>
    ) {
        walkGroups(rows: rows, batch: a.batch, eight: false) { g, first, end, b, width in
            tile(groups + g &* superBlocks &* bytes, superBlocks, a, b, y + b * ldy + 8 * g, ldy, first, end, four: width == 4)
        }
    }

    /// The codes of elements 32c + 4k ..< +4 of each row (c = 4n + j): bits 2j, 2j + 1 of the low-bit
    /// vector (n, k) — the row's qs bytes 32n + 4k ..< +4 — and bit c of the high-bit vector k (its
    /// hmask bytes 4k ..< +4) above them.
    @inline(__always)
    static func codes(_ block: UnsafeRawPointer, _ c: Int, _ k: Int) -> __m256i {
        let low = block.loadUnaligned(fromByteOffset: 144 &+ 32 &* (8 &* (c &>> 2) &+ k), as: __m256i.self)
        let high = block.loadUnaligned(fromByteOffset: 656 &+ 32 &* k, as: __m256i.self)
        let two = _mm256_and_si256(_mm256_srli_epi16(low, Int32(truncatingIfNeeded: 2 &* (c & 3))), _mm256_set1_epi8(3))
        let bit = _mm256_and_si256(_mm256_srli_epi16(high, Int32(truncatingIfNeeded: c)), _mm256_set1_epi8(1))
        return _mm256_or_si256(two, _mm256_slli_epi16(bit, 2))
    }

    /// One group against four activation rows (one without `four`).
    @inline(__always)
    static func tile(
        _ group: UnsafeRawPointer, _ superBlocks: Int, _ a: ActivationCodes, _ t: Int,
        _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ first: Int, _ end: Int, four: Bool
    ) {
        let columns = a.columns, x = UnsafeRawPointer(a.codes + t &* columns)
        let zero = _mm256_setzero_si256()
        var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
        let ahead = four ? Prefetch.distance(firstRow: t, batch: a.batch) : 0
        for sb in 0..<superBlocks {
            let block = group + sb &* bytes, xs = x + sb &* 256
            Prefetch.ahead(block, bytes: bytes, distance: ahead)
            var i0 = zero, i1 = zero, i2 = zero, i3 = zero
            for c in 0..<8 {
                var lo0 = zero, lo1 = zero, lo2 = zero, lo3 = zero
                var hi0 = zero, hi1 = zero, hi2 = zero, hi3 = zero
                @inline(__always) func dp(_ acc: __m256i, _ u: __m256i, _ row: Int, _ k: Int) -> __m256i {
                    _mm256_mask_dpbusd_epi32(
                        acc, 0xFF, u, _mm256_set1_epi32(xs.loadUnaligned(fromByteOffset: row &* columns &+ 32 &* c &+ 4 &* k, as: Int32.self)))
                }
                for k in 0..<4 {
                    let u = codes(block, c, k)
                    lo0 = dp(lo0, u, 0, k)
                    if four { lo1 = dp(lo1, u, 1, k); lo2 = dp(lo2, u, 2, k); lo3 = dp(lo3, u, 3, k) }
                }
                for k in 4..<8 {
                    let u = codes(block, c, k)
                    hi0 = dp(hi0, u, 0, k)
                    if four { hi1 = dp(hi1, u, 1, k); hi2 = dp(hi2, u, 2, k); hi3 = dp(hi3, u, 3, k) }
                }
                let scLo = subScales(block, 2 &* c), scHi = subScales(block, 2 &* c &+ 1)
                @inline(__always) func fold(_ i: inout __m256i, _ lo: __m256i, _ hi: __m256i) {
                    i = _mm256_add_epi32(i, _mm256_add_epi32(_mm256_mullo_epi32(lo, scLo), _mm256_mullo_epi32(hi, scHi)))
                }
                fold(&i0, lo0, hi0)
                if four { fold(&i1, lo1, hi1); fold(&i2, lo2, hi2); fold(&i3, lo3, hi3) }
            }
            let d = _mm256_cvtph_ps(block.loadUnaligned(as: __m128i.self))
            @inline(__always) func finish(_ acc: inout __m256, _ isum: __m256i, _ row: Int) {
                let at = (t &+ row) &* (columns / 256) &+ sb
                let sums = a.sums + at &* 16
                var offset = zero
                for s in 0..<16 {
                    offset = _mm256_add_epi32(offset, _mm256_mullo_epi32(subScales(block, s), _mm256_set1_epi32(sums[s])))
                }
                let exact = _mm256_sub_epi32(isum, _mm256_slli_epi32(offset, 2))
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(exact), _mm256_mul_ps(d, _mm256_set1_ps(a.scales[at])), acc)
            }
            finish(&acc0, i0, 0)
            if four { finish(&acc1, i1, 1); finish(&acc2, i2, 2); finish(&acc3, i3, 3) }
        }
        InterleavedVNNI.store(acc0, y, first, end)
        if four {
            InterleavedVNNI.store(acc1, y + ldy, first, end)
            InterleavedVNNI.store(acc2, y + 2 * ldy, first, end)
            InterleavedVNNI.store(acc3, y + 3 * ldy, first, end)
        }
    }

    /// Sub-block s's signed scale for each of the eight rows, widened to int32.
    @inline(__always)
    static func subScales(_ block: UnsafeRawPointer, _ s: Int) -> __m256i {
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(UnsafePointer<__m128i>(OpaquePointer(block + (16 &+ 8 &* s)))))
    }
}
#endif
