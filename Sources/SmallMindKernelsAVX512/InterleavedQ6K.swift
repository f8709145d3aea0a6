// Q6_K weights times Q8_K activation codes with AVX-512 VNNI, on rows regrouped eight at a time
// (layout: SmallMindKernels' `InterleavedRows`; order: its `InterleavedMatmul`, the naive twin).
// Lane r of every vector is weight row r. Per group super-block (eight rows × 256 elements) and
// activation row x (scale d_x, code sums S_s of each sub-block s of 16):
//
//   the 6-bit codes u (0 ..< 64) reassembled from their low four and high two bits
//   vpdpbusd, per sub-block: lane r = Σ u·x, exact;  vpmulld by the sub-scales sc_s, added
//   minus 32 · Σ_s sc_s · S_s (the codes stand for u − 32): isum = Σ_s sc_s · Σ (u − 32)·x, exact
//   acc = fma(Float(isum), d·d_x, acc)
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel

public enum InterleavedQ6KVNNI {
    /// Bytes of one group super-block: d (eight f16), sub-scales (16 sub-blocks × eight rows, a
    /// signed byte each), codes (2 × 8 triples of 32-byte vectors: two of low bits, one of high).
    static let bytes = 16 + 128 + 1536

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

    /// The codes of elements 128n + 32t + 4k ..< +4 of each row: triple (n, k) holds bytes
    /// 4k ..< 4k + 4 of the row's ql[64n ..< 64n + 32] (A), ql[64n + 32 ..< 64n + 64] (B) and
    /// qh[32n ..< 32n + 32] (H); quarter t takes A's (t = 0, 2) or B's (t = 1, 3) low or high
    /// nibbles and H's bits 2t, 2t + 1 above them.
    @inline(__always)
    static func codes(_ block: UnsafeRawPointer, _ n: Int, _ k: Int, _ t: Int) -> __m256i {
        let triple = 144 &+ 96 &* (8 &* n &+ k)
        let low = block.loadUnaligned(fromByteOffset: triple &+ 32 &* (t & 1), as: __m256i.self)
        let high = block.loadUnaligned(fromByteOffset: triple &+ 64, as: __m256i.self)
        let nibble = _mm256_and_si256(t < 2 ? low : _mm256_srli_epi16(low, 4), _mm256_set1_epi8(0x0F))
        let two = _mm256_and_si256(_mm256_srli_epi16(high, Int32(2 &* t)), _mm256_set1_epi8(3))
        return _mm256_or_si256(nibble, _mm256_slli_epi16(two, 4))
    }

    /// One group against four activation rows (one without `four`).
    @inline(__always)
    static func tile(
        _ group: UnsafeRawPointer, _ superBlocks: Int, _ a: ActivationCodes, _ t0: Int,
        _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ first: Int, _ end: Int, four: Bool
    ) {
        let columns = a.columns, x = UnsafeRawPointer(a.codes + t0 &* columns)
        let zero = _mm256_setzero_si256()
        var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
        let ahead = four ? Prefetch.distance(firstRow: t0, batch: a.batch) : 0
        for sb in 0..<superBlocks {
            let block = group + sb &* bytes, xs = x + sb &* 256
            Prefetch.ahead(block, bytes: bytes, distance: ahead)
            var i0 = zero, i1 = zero, i2 = zero, i3 = zero
            for n in 0..<2 {
                // Quarter t (sub-blocks 8n + 2t for k < 4, 8n + 2t + 1 for k ≥ 4), written out four
                // times below so that t is a constant in each: rolled, the loop kept t's choices as
                // branches and variable shifts (m110-shaped Q6_K products ran at 155 GFLOP/s).
                @inline(__always) func quarter(_ t: Int) {
                    var lo0 = zero, lo1 = zero, lo2 = zero, lo3 = zero
                    var hi0 = zero, hi1 = zero, hi2 = zero, hi3 = zero
                    @inline(__always) func dp(_ acc: __m256i, _ u: __m256i, _ row: Int, _ k: Int) -> __m256i {
                        let at = 128 &* n &+ 32 &* t &+ 4 &* k
                        return _mm256_mask_dpbusd_epi32(
                            acc, 0xFF, u, _mm256_set1_epi32(xs.loadUnaligned(fromByteOffset: row &* columns &+ at, as: Int32.self)))
                    }
                    for k in 0..<4 {
                        let u = codes(block, n, k, t)
                        lo0 = dp(lo0, u, 0, k)
                        if four { lo1 = dp(lo1, u, 1, k); lo2 = dp(lo2, u, 2, k); lo3 = dp(lo3, u, 3, k) }
                    }
                    for k in 4..<8 {
                        let u = codes(block, n, k, t)
                        hi0 = dp(hi0, u, 0, k)
                        if four { hi1 = dp(hi1, u, 1, k); hi2 = dp(hi2, u, 2, k); hi3 = dp(hi3, u, 3, k) }
                    }
                    let s = 8 &* n &+ 2 &* t
                    let scLo = subScales(block, s), scHi = subScales(block, s &+ 1)
                    @inline(__always) func fold(_ i: inout __m256i, _ lo: __m256i, _ hi: __m256i) {
                        i = _mm256_add_epi32(i, _mm256_add_epi32(_mm256_mullo_epi32(lo, scLo), _mm256_mullo_epi32(hi, scHi)))
                    }
                    fold(&i0, lo0, hi0)
                    if four { fold(&i1, lo1, hi1); fold(&i2, lo2, hi2); fold(&i3, lo3, hi3) }
                }
                quarter(0); quarter(1); quarter(2); quarter(3)
            }
            let d = _mm256_cvtph_ps(block.loadUnaligned(as: __m128i.self))
            @inline(__always) func finish(_ acc: inout __m256, _ isum: __m256i, _ row: Int) {
                let at = (t0 &+ row) &* (columns / 256) &+ sb
                let sums = a.sums + at &* 16
                var offset = zero
                for s in 0..<16 {
                    offset = _mm256_add_epi32(offset, _mm256_mullo_epi32(subScales(block, s), _mm256_set1_epi32(sums[s])))
                }
                let exact = _mm256_sub_epi32(isum, _mm256_slli_epi32(offset, 5))
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

    /// Sub-block s's scale for each of the eight rows, widened to int32.
    @inline(__always)
    static func subScales(_ block: UnsafeRawPointer, _ s: Int) -> __m256i {
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(UnsafePointer<__m128i>(OpaquePointer(block + (16 &+ 8 &* s)))))
    }
}
#endif
