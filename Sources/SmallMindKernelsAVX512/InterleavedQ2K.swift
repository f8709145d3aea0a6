// Q2_K weights times Q8_K activation codes with AVX-512 VNNI, on rows regrouped eight at a time
// (layout: SmallMindKernels' `InterleavedRows`; order: its `InterleavedMatmul`, the naive twin —
// one integer per super-block, as llama.cpp's own regrouped Q2_K kernels sum it). Lane r of every
// vector is weight row r. Per group super-block (eight rows × 256 elements) and activation row x
// (scale d_x, code sums S_s of each sub-block s of 16):
//
//   vpdpbusd, per sub-block of 16: lane r = Σ u·x (u the 2-bit code), exact
//   vpmulld by the 4-bit sub-scales, added: isum;  vpmulld of the 4-bit sub-mins by S_s: msum
//   acc = fma(Float(isum), d·d_x, acc),  accMin = fma(Float(msum), dmin·d_x, accMin);  y = acc − accMin
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel

public enum InterleavedQ2KVNNI {
    /// Bytes of one group super-block: d and dmin (eight f16 each), sub-scales and sub-mins (16
    /// sub-blocks × eight rows, a byte each), codes (2 × 8 vectors of packed 2-bit codes).
    static let bytes = 32 + 256 + 512

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

    /// One group against four activation rows (one without `four`).
    @inline(__always)
    static func tile(
        _ group: UnsafeRawPointer, _ superBlocks: Int, _ a: ActivationCodes, _ t: Int,
        _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ first: Int, _ end: Int, four: Bool
    ) {
        let columns = a.columns, x = UnsafeRawPointer(a.codes + t &* columns)
        let zero = _mm256_setzero_si256(), three = _mm256_set1_epi8(3)
        var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
        var min0 = acc0, min1 = acc0, min2 = acc0, min3 = acc0
        let ahead = four ? Prefetch.distance(firstRow: t, batch: a.batch) : 0
        for sb in 0..<superBlocks {
            let block = group + sb &* bytes, xs = x + sb &* 256
            Prefetch.ahead(block, bytes: bytes, distance: ahead)
            var i0 = zero, i1 = zero, i2 = zero, i3 = zero
            for c in 0..<8 {
                // Chunk c = 4n + j: bits 2j, 2j + 1 of vector (n, k) — each row's qs bytes 32n + 4k ..< +4.
                let shift = Int32(truncatingIfNeeded: 2 &* (c & 3)), vectors = 288 &+ 256 &* (c &>> 2)
                var lo0 = zero, lo1 = zero, lo2 = zero, lo3 = zero
                var hi0 = zero, hi1 = zero, hi2 = zero, hi3 = zero
                @inline(__always) func dp(_ acc: __m256i, _ u: __m256i, _ row: Int, _ k: Int) -> __m256i {
                    _mm256_mask_dpbusd_epi32(
                        acc, 0xFF, u, _mm256_set1_epi32(xs.loadUnaligned(fromByteOffset: row &* columns &+ 32 &* c &+ 4 &* k, as: Int32.self)))
                }
                @inline(__always) func codes(_ k: Int) -> __m256i {
                    _mm256_and_si256(_mm256_srli_epi16(block.loadUnaligned(fromByteOffset: vectors &+ 32 &* k, as: __m256i.self), shift), three)
                }
                for k in 0..<4 {
                    let u = codes(k)
                    lo0 = dp(lo0, u, 0, k)
                    if four { lo1 = dp(lo1, u, 1, k); lo2 = dp(lo2, u, 2, k); lo3 = dp(lo3, u, 3, k) }
                }
                for k in 4..<8 {
                    let u = codes(k)
                    hi0 = dp(hi0, u, 0, k)
                    if four { hi1 = dp(hi1, u, 1, k); hi2 = dp(hi2, u, 2, k); hi3 = dp(hi3, u, 3, k) }
                }
                let scLo = subBlockBytes(block, 32 &+ 16 &* c), scHi = subBlockBytes(block, 40 &+ 16 &* c)
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
                let sums = a.sums + at &* 16
                var msum = zero
                for s in 0..<16 {
                    msum = _mm256_add_epi32(msum, _mm256_mullo_epi32(subBlockBytes(block, 160 &+ 8 &* s), _mm256_set1_epi32(sums[s])))
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
