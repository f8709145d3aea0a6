// IQ4_XS weights times Q8_K activation codes with AVX-512 VNNI, on rows regrouped eight at a time
// (layout: SmallMindKernels' `InterleavedRows`; order: its `InterleavedMatmul`, the naive twin).
// Lane r of every vector is weight row r. Per group super-block (eight rows × 256 elements) and
// activation row x (scale d_x, code sums S_s of each sub-block s of 32):
//
//   each 4-bit index looked up (vpshufb) as its level + 128 (1 … 241: vpdpbusd's unsigned side)
//   vpdpbusd, per sub-block: lane r = Σ (level + 128)·x, exact;  minus 128·S_s: Σ level·x
//   vpmulld by the sub-scales ls_s − 32, added: isum, exact
//   acc = fma(Float(isum), d·d_x, acc)
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel

public enum InterleavedIQ4XSVNNI {
    /// Bytes of one group super-block: d (eight f16), sub-scales (eight sub-blocks × eight rows,
    /// ls − 32 as a signed byte each), indices (8 × 4 vectors of 32 packed bytes).
    static let bytes = 16 + 64 + 1024

    /// y[b, o] for o in `rows` of the matrix whose groups start at `groups`, `superBlocks` group
    /// super-blocks per group; `a.sums` must hold the sums of each 32 codes. A group only partly
    /// inside `rows` is computed whole and stored in part.
    public static func multiply(
        groups: UnsafeRawPointer, superBlocks: Int, _ a: ActivationCodes, y: UnsafeMutablePointer<Float>, ldy: Int,
        rows: Range<Int>
    ) {
        walkGroups(rows: rows, batch: a.batch, eight: false) { g, first, end, b, width in
            tile(groups + g &* superBlocks &* bytes, superBlocks, a, b, y + b * ldy + 8 * g, ldy, first, end, four: width == 4)
        }
    }

    /// One group against four activation rows (one without `four`): each vector of indices loaded
    /// and looked up once for all of them.
    @inline(__always)
    static func tile(
        _ group: UnsafeRawPointer, _ superBlocks: Int, _ a: ActivationCodes, _ t: Int,
        _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ first: Int, _ end: Int, four: Bool
    ) {
        let columns = a.columns, x = UnsafeRawPointer(a.codes + t &* columns)
        let zero = _mm256_setzero_si256(), mask = _mm256_set1_epi8(0x0F)
        // kvalues_iq4nl + 128, in both 128-bit halves (vpshufb looks up within each half).
        let table = _mm256_setr_epi8(
            1, 24, 45, 63, 79, 93, 106, 118, -127, -115, -103, -90, -75, -59, -39, -15,
            1, 24, 45, 63, 79, 93, 106, 118, -127, -115, -103, -90, -75, -59, -39, -15)
        var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
        let ahead = four ? Prefetch.distance(firstRow: t, batch: a.batch) : 0
        for sb in 0..<superBlocks {
            let block = group + sb &* bytes, xs = x + sb &* 256
            Prefetch.ahead(block, bytes: bytes, distance: ahead)
            var i0 = zero, i1 = zero, i2 = zero, i3 = zero
            for s in 0..<8 {
                var s0 = zero, s1 = zero, s2 = zero, s3 = zero
                for k in 0..<4 {
                    let packed = block.loadUnaligned(fromByteOffset: 80 &+ 128 &* s &+ 32 &* k, as: __m256i.self)
                    let low = _mm256_shuffle_epi8(table, _mm256_and_si256(packed, mask))
                    let high = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(packed, 4), mask))
                    let at = 32 &* s &+ 4 &* k
                    @inline(__always) func dp(_ acc: __m256i, _ v: __m256i, _ row: Int, _ offset: Int) -> __m256i {
                        _mm256_mask_dpbusd_epi32(
                            acc, 0xFF, v, _mm256_set1_epi32(xs.loadUnaligned(fromByteOffset: row &* columns &+ offset, as: Int32.self)))
                    }
                    s0 = dp(dp(s0, low, 0, at), high, 0, at &+ 16)
                    if four {
                        s1 = dp(dp(s1, low, 1, at), high, 1, at &+ 16)
                        s2 = dp(dp(s2, low, 2, at), high, 2, at &+ 16)
                        s3 = dp(dp(s3, low, 3, at), high, 3, at &+ 16)
                    }
                }
                let scales = _mm256_cvtepi8_epi32(_mm_loadl_epi64(UnsafePointer<__m128i>(OpaquePointer(block + (16 &+ 8 &* s)))))
                @inline(__always) func fold(_ i: inout __m256i, _ sum: __m256i, _ row: Int) {
                    let at = (t &+ row) &* (columns / 256) &+ sb
                    let exact = _mm256_sub_epi32(sum, _mm256_set1_epi32(128 &* a.sums[at &* 8 &+ s]))
                    i = _mm256_add_epi32(i, _mm256_mullo_epi32(exact, scales))
                }
                fold(&i0, s0, 0)
                if four { fold(&i1, s1, 1); fold(&i2, s2, 2); fold(&i3, s3, 3) }
            }
            let d = _mm256_cvtph_ps(block.loadUnaligned(as: __m128i.self))
            @inline(__always) func finish(_ acc: inout __m256, _ isum: __m256i, _ row: Int) {
                let at = (t &+ row) &* (columns / 256) &+ sb
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(d, _mm256_set1_ps(a.scales[at])), acc)
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
}
#endif
