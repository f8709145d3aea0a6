// Q8_0 and Q4_0 weights (and Q5_0, Q4_1, Q5_1, IQ4_NL: InterleavedNibbleGroups.swift) times Q8_0
// activation codes with AVX-512 VNNI, on rows stored as
// interleaved groups of eight (the layout is described, and built, by SmallMindKernels'
// `InterleavedRows`): the vector lanes are weight rows, so a block's integer sums and its scales
// land in one register for eight rows at once — no horizontal sums, one conversion and one FMA per
// block and activation row for eight outputs.
//
// Per group block (eight rows × 32 elements) and activation row x with block sum S:
//
//   vpdpbusd: for each of eight weight vectors (row r's four unsigned codes in lane r) against the
//             four activation codes they meet (one 32-bit broadcast): lane r += Σ u·x, exact in int32
//   start from −offset·S, so that lane r = Σ (u − offset)·x = Σ w·x (offset 128 for Q8_0, whose
//             codes are stored +128; 8 for Q4_0, whose nibbles are stored as they are)
//   vcvtdq2ps, then one FMA by d_w·d_x (eight row scales times the activation scale).
//   Q4_1/Q5_1 (value = d·u + m): then a second FMA, of the eight row minimums by the block's scaled
//   code sum s_x (llama.cpp's block_q8_1.s), into the same accumulator.
//
// That is `InterleavedMatmul`'s order (SmallMindKernels, the naive twin): one exact integer sum per
// block, one fused multiply-add per block into one float per output, blocks ascending.
//
// This is its own module because Swift has no per-function target attribute: the module is
// compiled for Cascade Lake (AVX-512 F/CD/BW/DQ/VL + VNNI) and SmallMindKernels calls it only
// after checking that the processor has those features (`InterleavedRows.isAvailable`). The VNNI
// instruction is reached through the masked intrinsic with a full mask: the plain one is a C macro,
// which Swift cannot import; LLVM emits the plain instruction (with the broadcast folded in).
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel

/// One of the interleaved block layouts of 32-element blocks.
protocol GroupBlock {
    /// Bytes of one group block: eight f16 scales, then the codes.
    static var bytes: Int { get }
    /// What the stored unsigned codes exceed the signed values by.
    static var offset: Int32 { get }
    /// Where the eight rows' f16 minimums lie (Q4_1, Q5_1), or nil.
    static var minimumOffset: Int? { get }
    /// The eight weight vectors of a group block; vector v meets activation bytes `xOffset(v)`.
    static func vectors(_ block: UnsafeRawPointer) -> Vectors
    static func xOffset(_ v: Int) -> Int
}

extension GroupBlock {
    static var minimumOffset: Int? { nil }
}

struct Vectors {
    var v0, v1, v2, v3, v4, v5, v6, v7: __m256i
}

/// Q8_0: vector k holds elements 4k ..< 4k + 4 of each row, each stored as w + 128.
enum Q8_0Group: GroupBlock {
    static var bytes: Int { 16 + 256 }
    static var offset: Int32 { 128 }
    @inline(__always)
    static func vectors(_ block: UnsafeRawPointer) -> Vectors {
        @inline(__always) func load(_ k: Int) -> __m256i {
            block.loadUnaligned(fromByteOffset: 16 &+ 32 &* k, as: __m256i.self)
        }
        return Vectors(v0: load(0), v1: load(1), v2: load(2), v3: load(3), v4: load(4), v5: load(5), v6: load(6), v7: load(7))
    }
    @inline(__always) static func xOffset(_ v: Int) -> Int { 4 &* v }
}

/// Q4_0: 32-byte chunk j holds bytes 4j ..< 4j + 4 of each row's packed nibbles; their low nibbles
/// are elements 4j ..< 4j + 4, their high nibbles elements 16 + 4j ..< 16 + 4j + 4. Vector 2j is
/// chunk j's low nibbles, vector 2j + 1 its high ones.
enum Q4_0Group: GroupBlock {
    static var bytes: Int { 16 + 128 }
    static var offset: Int32 { 8 }
    @inline(__always)
    static func vectors(_ block: UnsafeRawPointer) -> Vectors {
        let mask = _mm256_set1_epi8(0x0F)
        @inline(__always) func chunk(_ j: Int) -> (__m256i, __m256i) {
            let packed = block.loadUnaligned(fromByteOffset: 16 &+ 32 &* j, as: __m256i.self)
            return (_mm256_and_si256(packed, mask), _mm256_and_si256(_mm256_srli_epi16(packed, 4), mask))
        }
        let (v0, v1) = chunk(0), (v2, v3) = chunk(1), (v4, v5) = chunk(2), (v6, v7) = chunk(3)
        return Vectors(v0: v0, v1: v1, v2: v2, v3: v3, v4: v4, v5: v5, v6: v6, v7: v7)
    }
    @inline(__always) static func xOffset(_ v: Int) -> Int { 4 &* (v >> 1) &+ 16 &* (v & 1) }
}

/// Quantized activation rows: codes (batch × columns), one scale per block (Q8_0: 32 codes; Q8_K:
/// 256) and the sums of the codes in each sub-block the weights need (32 codes, or 16 for Q6_K, Q3_K and Q2_K);
/// for Q4_1/Q5_1 weights also each block's scaled sum (f16(d_x · sum), llama.cpp's block_q8_1.s).
public struct ActivationCodes {
    public let codes: UnsafePointer<Int8>
    public let scales: UnsafePointer<Float>
    public let sums: UnsafePointer<Int32>
    public let scaledSums: UnsafePointer<Float>?
    public let batch: Int
    public let columns: Int

    public init(
        codes: UnsafePointer<Int8>, scales: UnsafePointer<Float>, sums: UnsafePointer<Int32>,
        scaledSums: UnsafePointer<Float>? = nil, batch: Int, columns: Int
    ) {
        self.codes = codes
        self.scales = scales
        self.sums = sums
        self.scaledSums = scaledSums
        self.batch = batch
        self.columns = columns
    }
}

/// The walk every interleaved kernel makes: each group touching `rows`, and for each, the
/// activation rows in tiles of eight (when `eight`), then four, then one. `tile(g, first, end, b,
/// width)` computes group g against activation rows b ..< b + width and stores lanes first ..< end.
@inline(__always)
func walkGroups(rows: Range<Int>, batch: Int, eight: Bool, _ tile: (Int, Int, Int, Int, Int) -> Void) {
    guard !rows.isEmpty else { return }
    for g in (rows.lowerBound / 8)..<((rows.upperBound + 7) / 8) {
        // Lanes of this group inside `rows`.
        let first = max(rows.lowerBound - 8 * g, 0), end = min(rows.upperBound - 8 * g, 8)
        var b = 0
        while eight && b + 8 <= batch {
            tile(g, first, end, b, 8)
            b += 8
        }
        while b + 4 <= batch {
            tile(g, first, end, b, 4)
            b += 4
        }
        while b < batch {
            tile(g, first, end, b, 1)
            b += 1
        }
    }
}

public enum InterleavedVNNI {
    /// The regrouped layouts of 32-element blocks (described in SmallMindKernels' `InterleavedRows`).
    public enum Layout: Sendable {
        case q8_0, q4_0, q5_0, q4_1, q5_1, iq4_nl
    }

    /// y[b, o] for o in `rows` (rows of the matrix whose groups start at `groups`; every group
    /// is `blocks` group blocks of `layout`). A group only partly inside `rows` is computed whole
    /// and stored in part. Q4_1/Q5_1 need `a.scaledSums`.
    public static func multiply(
        _ layout: Layout, groups: UnsafeRawPointer, blocks: Int, _ a: ActivationCodes,
        y: UnsafeMutablePointer<Float>, ldy: Int, rows: Range<Int>
    ) {
        switch layout {
        case .q8_0: multiply(Q8_0Group.self, groups, blocks, a, y, ldy, rows)
        case .q4_0: multiply(Q4_0Group.self, groups, blocks, a, y, ldy, rows)
        case .q5_0: multiply(Q5_0Group.self, groups, blocks, a, y, ldy, rows)
        case .q4_1: multiply(Q4_1Group.self, groups, blocks, a, y, ldy, rows)
        case .q5_1: multiply(Q5_1Group.self, groups, blocks, a, y, ldy, rows)
        case .iq4_nl: multiply(IQ4_NLGroup.self, groups, blocks, a, y, ldy, rows)
        }
    }

    static func multiply<G: GroupBlock>(
        _: G.Type, _ groups: UnsafeRawPointer, _ blocks: Int, _ a: ActivationCodes,
        _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ rows: Range<Int>
    ) {
        precondition(G.minimumOffset == nil || a.scaledSums != nil, "weights with minimums need the activations' scaled sums")
        walkGroups(rows: rows, batch: a.batch, eight: true) { g, first, end, b, width in
            let group = groups + g &* blocks &* G.bytes, out = y + b * ldy + 8 * g
            switch width {
            case 8: tile(G.self, group, blocks, a, b, out, ldy, first, end, eight: true)
            case 4: tile(G.self, group, blocks, a, b, out, ldy, first, end, eight: false)
            default: store(single(G.self, group, blocks, a, b), out, first, end)
            }
        }
    }

    /// Lanes first ..< end of v to y[first ..< end].
    @inline(__always)
    static func store(_ v: __m256, _ y: UnsafeMutablePointer<Float>, _ first: Int, _ end: Int) {
        if first == 0 && end == 8 {
            _mm256_storeu_ps(y, v)
        } else {
            for r in first..<end { y[r] = v[r] }
        }
    }

    /// Σ w·x of one group block against activation row t's block: lane r for weight row r.
    @inline(__always)
    static func blockSums<G: GroupBlock>(
        _: G.Type, _ w: Vectors, _ x: UnsafeRawPointer, start: __m256i
    ) -> __m256i {
        @inline(__always) func dp(_ acc: __m256i, _ v: __m256i, _ i: Int) -> __m256i {
            _mm256_mask_dpbusd_epi32(acc, 0xFF, v, _mm256_set1_epi32(x.loadUnaligned(fromByteOffset: G.xOffset(i), as: Int32.self)))
        }
        var acc = dp(start, w.v0, 0)
        acc = dp(acc, w.v1, 1); acc = dp(acc, w.v2, 2); acc = dp(acc, w.v3, 3)
        acc = dp(acc, w.v4, 4); acc = dp(acc, w.v5, 5); acc = dp(acc, w.v6, 6)
        return dp(acc, w.v7, 7)
    }

    /// One group against one activation row. Two dependency chains of four vpdpbusd each (the
    /// integer sum is exact, so splitting it changes nothing) keep a lone row from waiting on
    /// the instruction's latency.
    @inline(__always)
    static func single<G: GroupBlock>(
        _: G.Type, _ group: UnsafeRawPointer, _ blocks: Int, _ a: ActivationCodes, _ t: Int
    ) -> __m256 {
        let x = UnsafeRawPointer(a.codes + t &* a.columns), s = a.scales + t &* blocks, sums = a.sums + t &* blocks
        let scaledSums = G.minimumOffset == nil ? s : a.scaledSums.unsafelyUnwrapped + t &* blocks
        var acc = _mm256_setzero_ps()
        for b in 0..<blocks {
            let block = group + b &* G.bytes, xb = x + b &* 32
            let w = G.vectors(block)
            @inline(__always) func dp(_ acc: __m256i, _ v: __m256i, _ i: Int) -> __m256i {
                _mm256_mask_dpbusd_epi32(acc, 0xFF, v, _mm256_set1_epi32(xb.loadUnaligned(fromByteOffset: G.xOffset(i), as: Int32.self)))
            }
            var even = dp(_mm256_set1_epi32(-G.offset &* sums[b]), w.v0, 0)
            var odd = dp(_mm256_setzero_si256(), w.v1, 1)
            even = dp(even, w.v2, 2); odd = dp(odd, w.v3, 3)
            even = dp(even, w.v4, 4); odd = dp(odd, w.v5, 5)
            even = dp(even, w.v6, 6); odd = dp(odd, w.v7, 7)
            let dw = _mm256_cvtph_ps(block.loadUnaligned(as: __m128i.self))
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(even, odd)), _mm256_mul_ps(dw, _mm256_set1_ps(s[b])), acc)
            if let at = G.minimumOffset {
                acc = _mm256_fmadd_ps(_mm256_cvtph_ps(block.loadUnaligned(fromByteOffset: at, as: __m128i.self)), _mm256_set1_ps(scaledSums[b]), acc)
            }
        }
        return acc
    }

    /// One group against four activation rows (eight with `eight`), each group block's weight
    /// vectors formed once for all of them.
    @inline(__always)
    static func tile<G: GroupBlock>(
        _: G.Type, _ group: UnsafeRawPointer, _ blocks: Int, _ a: ActivationCodes, _ t: Int,
        _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ first: Int, _ end: Int, eight: Bool
    ) {
        let x = UnsafeRawPointer(a.codes + t &* a.columns), columns = a.columns
        let s = a.scales + t &* blocks, sums = a.sums + t &* blocks
        let scaledSums = G.minimumOffset == nil ? s : a.scaledSums.unsafelyUnwrapped + t &* blocks
        var a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0
        let ahead = Prefetch.distance(firstRow: t, batch: a.batch)
        for b in 0..<blocks {
            let block = group + b &* G.bytes
            Prefetch.ahead(block, bytes: G.bytes, distance: ahead)
            let w = G.vectors(block), dw = _mm256_cvtph_ps(block.loadUnaligned(as: __m128i.self))
            let mins = _mm256_cvtph_ps(block.loadUnaligned(fromByteOffset: G.minimumOffset ?? 0, as: __m128i.self))
            let xb = x + b &* 32
            @inline(__always) func step(_ acc: inout __m256, _ i: Int) {
                let k = i &* blocks &+ b
                let sums = blockSums(G.self, w, xb + i &* columns, start: _mm256_set1_epi32(-G.offset &* sums[k]))
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_mul_ps(dw, _mm256_set1_ps(s[k])), acc)
                if G.minimumOffset != nil { acc = _mm256_fmadd_ps(mins, _mm256_set1_ps(scaledSums[k]), acc) }
            }
            step(&a0, 0); step(&a1, 1); step(&a2, 2); step(&a3, 3)
            if eight { step(&a4, 4); step(&a5, 5); step(&a6, 6); step(&a7, 7) }
        }
        store(a0, y, first, end); store(a1, y + ldy, first, end)
        store(a2, y + 2 * ldy, first, end); store(a3, y + 3 * ldy, first, end)
        if eight {
            store(a4, y + 4 * ldy, first, end); store(a5, y + 5 * ldy, first, end)
            store(a6, y + 6 * ldy, first, end); store(a7, y + 7 * ldy, first, end)
        }
    }
}
#endif
