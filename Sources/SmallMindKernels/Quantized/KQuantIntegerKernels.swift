// The fast form of `KQuantIntegerMatmul` (whose header states the order; the two agree bit for
// bit): K-quant (and IQ4_XS) super-blocks times Q8_K activation codes with vpmaddubsw (unsigned
// weight code × signed activation code, adjacent pairs summed) and vpmaddwd (times the sub-block's
// scale, adjacent pairs summed), 32 elements at a time. Codes that stand for u − offset (Q6_K: 32,
// Q3_K: 4) have the offset taken off in int16, as offset·x pair sums (a second vpmaddubsw):
// |u·x pair| ≤ 2·63·127, |32·x pair| ≤ 2·32·127, no overflow. IQ4_XS's codes are signed levels
// (−127 … 113): |w|·sign(x, w) pairs (vpsignb), ≤ 2·127·127. Off x86 the same exact sums come
// from portable SIMD (`portableChunkSums`).
//
// Each weight row is walked once (one sequential stream, as for Q8_0/Q4_0); each chunk of 32
// codes, decoded once, serves up to eight activation rows, and each super-block's sub-scales and
// mins are unpacked once per row of the tile (`Header`). That unpacking, done per activation row,
// held prompts to ~430 tok/s on m110 Q4_K_M; shared, with eight rows, ~650.
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// How a chunk's 32 code bytes stand for the weights' integer values.
enum KQuantCodes {
    /// Unsigned codes u; the value is u − offset (0 for Q4_K/Q5_K/Q2_K, 4 for Q3_K, 32 for Q6_K).
    case unsigned(offset: Int8)
    /// Signed values (the bytes' two's-complement bit patterns), |value| ≤ 127: IQ4_XS's levels.
    case signed
}

/// A K-quant super-block as the integer kernel reads it: eight chunks of 32 codes, each with the
/// integer scales of its int16 pair lanes, and optionally a mins term.
protocol KQuantBlocks {
    /// What a super-block's chunks and mins share, decoded once per super-block and tile.
    associatedtype Header
    static var blockBytes: Int { get }
    static var codes: KQuantCodes { get }
    /// Whether the weights carry mins (value = d·sc·u − dmin·m): Q4_K, Q5_K and Q2_K.
    static var hasMins: Bool { get }
    static func header<I: InstructionSet>(_ block: UnsafeRawPointer, _: I.Type) -> Header
    /// The scale of the integer sums (d, f16).
    static func scale(_ header: Header) -> Float
    /// Chunk c's codes (elements 32c ..< 32c + 32) and the scale of each pair of them.
    static func chunk<I: InstructionSet>(_ block: UnsafeRawPointer, _ header: Header, _ c: Int, _: I.Type) -> (codes: SIMD32<UInt8>, scales: SIMD16<Int16>)
    /// The mins term of a super-block — Σ min · (sum of the activation codes of the min's
    /// sub-block), from the sums of each 32 (`sums32`) or 16 (`sums16`) codes — and its scale dmin.
    static func mins<I: InstructionSet>(_ header: Header, sums32: UnsafePointer<Int32>, sums16: UnsafePointer<Int32>, _: I.Type) -> (Int32, Float)
    /// The mins term of the elements of `chunks` only (32 each), scalar: for llama.cpp's orders
    /// (KQuantLlamaCppOrder.swift), which sum the mins of part of a super-block at a time.
    static func mins(_ header: Header, chunks: Range<Int>, sums32: UnsafePointer<Int32>, sums16: UnsafePointer<Int32>) -> (sum: Int32, dmin: Float)
}

extension KQuantBlocks {
    static func mins<I: InstructionSet>(_ header: Header, sums32: UnsafePointer<Int32>, sums16: UnsafePointer<Int32>, _: I.Type) -> (Int32, Float) { (0, 0) }
    static func mins(_ header: Header, chunks: Range<Int>, sums32: UnsafePointer<Int32>, sums16: UnsafePointer<Int32>) -> (sum: Int32, dmin: Float) {
        (0, 0)
    }
}

extension Q4KDecoder: KQuantBlocks {
    /// d, dmin and the eight 6-bit sub-scales and sub-mins.
    struct Header {
        var d: Float
        var dmin: Float
        var scales: SIMD8<Int16>
        var mins: SIMD8<Int32>
    }

    static var codes: KQuantCodes { .unsigned(offset: 0) }
    static var hasMins: Bool { true }

    @inline(__always)
    static func header<I: InstructionSet>(_ block: UnsafeRawPointer, _: I.Type) -> Header {
        var scales = SIMD8<Int16>(), mins = SIMD8<Int32>()
        for s in 0..<8 {
            let (sc, m) = scaleMin(s, block + 4)
            scales[s] = Int16(sc)
            mins[s] = Int32(m)
        }
        return Header(d: loadHalfScale(block, I.self), dmin: loadHalfScale(block + 2, I.self), scales: scales, mins: mins)
    }

    @inline(__always)
    static func scale(_ header: Header) -> Float { header.d }

    @inline(__always)
    static func chunk<I: InstructionSet>(_ block: UnsafeRawPointer, _ header: Header, _ c: Int, _: I.Type) -> (codes: SIMD32<UInt8>, scales: SIMD16<Int16>) {
        let bytes = block.loadUnaligned(fromByteOffset: 16 &+ (c &>> 1) &* 32, as: SIMD32<UInt8>.self)
        let scale = SIMD16<Int16>(repeating: header.scales[c])
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            let v = unsafeBitCast(bytes, to: __m256i.self)
            let nibbles = c & 1 == 0 ? v : _mm256_srli_epi16(v, 4)
            return (unsafeBitCast(_mm256_and_si256(nibbles, _mm256_set1_epi8(0x0F)), to: SIMD32<UInt8>.self), scale)
        }
        #endif
        return (c & 1 == 0 ? bytes & 0x0F : bytes &>> 4, scale)
    }

    @inline(__always)
    static func mins<I: InstructionSet>(_ header: Header, sums32: UnsafePointer<Int32>, sums16: UnsafePointer<Int32>, _: I.Type) -> (Int32, Float) {
        // Exact: |min · sum| ≤ 63 · 32 · 127 per sub-block.
        let products = header.mins &* UnsafeRawPointer(sums32).loadUnaligned(as: SIMD8<Int32>.self)
        let four = products.lowHalf &+ products.highHalf, two = four.lowHalf &+ four.highHalf
        return (two[0] &+ two[1], header.dmin)
    }

    static func mins(_ header: Header, chunks: Range<Int>, sums32: UnsafePointer<Int32>, sums16: UnsafePointer<Int32>) -> (sum: Int32, dmin: Float) {
        (chunks.reduce(0) { $0 &+ header.mins[$1] &* sums32[$1] }, header.dmin)
    }
}

extension Q6KDecoder: KQuantBlocks {
    static var codes: KQuantCodes { .unsigned(offset: 32) }
    static var hasMins: Bool { false }

    /// d; the sub-scales are read per chunk.
    @inline(__always)
    static func header<I: InstructionSet>(_ block: UnsafeRawPointer, _: I.Type) -> Float { loadHalfScale(block + 208, I.self) }

    @inline(__always)
    static func scale(_ header: Float) -> Float { header }

    @inline(__always)
    static func chunk<I: InstructionSet>(_ block: UnsafeRawPointer, _ header: Float, _ c: Int, _: I.Type) -> (codes: SIMD32<UInt8>, scales: SIMD16<Int16>) {
        // Chunk c is quarter t of half n (layout in Q6K.swift); its two sub-blocks of 16 have
        // scales 8n + 2t and 8n + 2t + 1.
        let n = c &>> 2, t = c & 3
        let low = block.loadUnaligned(fromByteOffset: 64 &* n &+ 32 &* (t & 1), as: SIMD32<UInt8>.self)
        let high = block.loadUnaligned(fromByteOffset: 128 &+ 32 &* n, as: SIMD32<UInt8>.self)
        let scaleAt = 192 &+ 8 &* n &+ 2 &* t
        let first = Int16(block.load(fromByteOffset: scaleAt, as: Int8.self))
        let second = Int16(block.load(fromByteOffset: scaleAt &+ 1, as: Int8.self))
        let scales = SIMD16(lowHalf: SIMD8(repeating: first), highHalf: SIMD8(repeating: second))
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            let l = unsafeBitCast(low, to: __m256i.self), h = unsafeBitCast(high, to: __m256i.self)
            let mask = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3)
            let lowBits = _mm256_and_si256(t < 2 ? l : _mm256_srli_epi16(l, 4), mask)
            let highBits = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, Int32(2 &* t)), two), 4)
            return (unsafeBitCast(_mm256_or_si256(lowBits, highBits), to: SIMD32<UInt8>.self), scales)
        }
        #endif
        let lowBits = (t < 2 ? low : low &>> 4) & 0x0F
        let highBits = ((high &>> UInt8(2 &* t)) & 3) &<< 4
        return (lowBits | highBits, scales)
    }
}

enum KQuantIntegerKernels {
    /// Σ over each lane j of scale·value·x for the elements 4j ..< 4j + 4 of a chunk (value as
    /// `codes` says).
    @inline(__always)
    static func chunkSums<I: InstructionSet>(
        _ u: SIMD32<UInt8>, _ x: SIMD32<Int8>, _ scales: SIMD16<Int16>, _ codes: KQuantCodes, _: I.Type
    ) -> SIMD8<Int32> {
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            let uv = unsafeBitCast(u, to: __m256i.self), xv = unsafeBitCast(x, to: __m256i.self)
            var pairs: __m256i
            switch codes {
            case .unsigned(let offset):
                pairs = _mm256_maddubs_epi16(uv, xv)
                if offset != 0 { pairs = _mm256_sub_epi16(pairs, _mm256_maddubs_epi16(_mm256_set1_epi8(offset), xv)) }
            case .signed:
                // w·x = |w| · (x with w's sign): vpmaddubsw wants its unsigned operand first.
                pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(uv, uv), _mm256_sign_epi8(xv, uv))
            }
            return unsafeBitCast(_mm256_madd_epi16(pairs, unsafeBitCast(scales, to: __m256i.self)), to: SIMD8<Int32>.self)
        }
        #endif
        return portableChunkSums(u, x, scales, codes)
    }

    /// `chunkSums` in portable SIMD.
    @inline(__always)
    static func portableChunkSums(_ u: SIMD32<UInt8>, _ x: SIMD32<Int8>, _ scales: SIMD16<Int16>, _ codes: KQuantCodes) -> SIMD8<Int32> {
        let values: SIMD32<Int32>
        switch codes {
        case .unsigned(let offset): values = SIMD32<Int32>(truncatingIfNeeded: u) &- Int32(offset)
        case .signed: values = SIMD32<Int32>(truncatingIfNeeded: SIMD32<Int8>(truncatingIfNeeded: u))
        }
        let products = values &* SIMD32<Int32>(truncatingIfNeeded: x)
        let pairs = (products.evenHalf &+ products.oddHalf) &* SIMD16<Int32>(truncatingIfNeeded: scales)
        return pairs.evenHalf &+ pairs.oddHalf
    }

    @inline(__always)
    static func toFloat<I: InstructionSet>(_ v: SIMD8<Int32>, _: I.Type) -> SIMD8<Float> {
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            // The generic SIMD conversion ran lane by lane, out of line.
            return _mm256_cvtepi32_ps(unsafeBitCast(v, to: __m256i.self))
        }
        #endif
        return SIMD8<Float>(v)
    }

    /// y[b, o] for o in `rows`, in `KQuantIntegerMatmul`'s order.
    static func multiply<W: KQuantBlocks, I: InstructionSet>(
        _: W.Type, _: I.Type, _ a: Q8KActivations, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ ldy: Int, _ rows: Range<Int>
    ) {
        for o in rows {
            let row = w + o * rowBytes
            var b = 0
            while b + 8 <= a.batch {
                tile1x4(W.self, I.self, row, a, b, y + b * ldy + o, ldy, eight: true)
                b += 8
            }
            while b + 4 <= a.batch {
                tile1x4(W.self, I.self, row, a, b, y + b * ldy + o, ldy, eight: false)
                b += 4
            }
            while b < a.batch {
                y[b * ldy + o] = dot(W.self, I.self, row, a, b)
                b += 1
            }
        }
    }

    /// `chunkSums` of the chunks `chunks` of one super-block added lane by lane (`codes`: as the
    /// format's own unless given).
    @inline(__always)
    static func superBlockLanes<W: KQuantBlocks, I: InstructionSet>(
        _: W.Type, _: I.Type, _ block: UnsafeRawPointer, _ header: W.Header, _ xb: UnsafeRawPointer,
        chunks: Range<Int> = 0..<8, codes: KQuantCodes? = nil
    ) -> SIMD8<Int32> {
        var lanes = SIMD8<Int32>()
        for c in chunks {
            let (u, scales) = W.chunk(block, header, c, I.self)
            lanes &+= chunkSums(u, xb.loadUnaligned(fromByteOffset: c &* 32, as: SIMD32<Int8>.self), scales, codes ?? W.codes, I.self)
        }
        return lanes
    }

    @inline(__always)
    static func dot<W: KQuantBlocks, I: InstructionSet>(_: W.Type, _: I.Type, _ row: UnsafeRawPointer, _ a: Q8KActivations, _ b: Int) -> Float {
        let superBlocks = a.columns / 256
        let x = UnsafeRawPointer(a.codes + b * a.columns)
        var acc = SIMD8<Float>(), accMin: Float = 0
        for sb in 0..<superBlocks {
            let block = row + sb &* W.blockBytes, xb = x + sb &* 256
            let header = W.header(block, I.self)
            let lanes = superBlockLanes(W.self, I.self, block, header, xb)
            let at = b &* superBlocks &+ sb, dx = a.scales[at]
            acc = acc.addingProduct(toFloat(lanes, I.self), SIMD8(repeating: W.scale(header) * dx))
            if W.hasMins {
                let (mins, dmin) = W.mins(header, sums32: a.sums + at &* 8, sums16: a.halfSums + at &* 16, I.self)
                accMin = accMin.addingProduct(Float(mins), dmin * dx)
            }
        }
        return Matmul.reduceLanes(acc) - accMin
    }

    /// One weight row against four activation rows (eight with `eight`, as two fours sharing each
    /// decoded chunk): every chunk decoded once for all of them.
    @inline(__always)
    static func tile1x4<W: KQuantBlocks, I: InstructionSet>(
        _: W.Type, _: I.Type, _ row: UnsafeRawPointer, _ a: Q8KActivations, _ b: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int,
        eight: Bool
    ) {
        let superBlocks = a.columns / 256, columns = a.columns
        let x = UnsafeRawPointer(a.codes + b * columns)
        var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        var acc2 = acc
        var accMin = SIMD4<Float>(), accMin2 = SIMD4<Float>()
        for sb in 0..<superBlocks {
            let block = row + sb &* W.blockBytes, xb = x + sb &* 256
            let header = W.header(block, I.self)
            var l0 = SIMD8<Int32>(), l1 = SIMD8<Int32>(), l2 = SIMD8<Int32>(), l3 = SIMD8<Int32>()
            var l4 = SIMD8<Int32>(), l5 = SIMD8<Int32>(), l6 = SIMD8<Int32>(), l7 = SIMD8<Int32>()
            for c in 0..<8 {
                let (codes, scales) = W.chunk(block, header, c, I.self)
                let xc = xb + c &* 32
                @inline(__always) func step(_ lanes: inout SIMD8<Int32>, _ i: Int) {
                    lanes &+= chunkSums(codes, xc.loadUnaligned(fromByteOffset: i &* columns, as: SIMD32<Int8>.self), scales, W.codes, I.self)
                }
                step(&l0, 0); step(&l1, 1); step(&l2, 2); step(&l3, 3)
                if eight { step(&l4, 4); step(&l5, 5); step(&l6, 6); step(&l7, 7) }
            }
            let d = W.scale(header)
            @inline(__always) func finish(_ acc: inout SIMD8<Float>, _ accMin: inout Float, _ lanes: SIMD8<Int32>, _ i: Int) {
                let at = (b &+ i) &* superBlocks &+ sb, dx = a.scales[at]
                acc = acc.addingProduct(toFloat(lanes, I.self), SIMD8(repeating: d * dx))
                if W.hasMins {
                    let (mins, dmin) = W.mins(header, sums32: a.sums + at &* 8, sums16: a.halfSums + at &* 16, I.self)
                    accMin = accMin.addingProduct(Float(mins), dmin * dx)
                }
            }
            finish(&acc.0, &accMin[0], l0, 0); finish(&acc.1, &accMin[1], l1, 1)
            finish(&acc.2, &accMin[2], l2, 2); finish(&acc.3, &accMin[3], l3, 3)
            if eight {
                finish(&acc2.0, &accMin2[0], l4, 4); finish(&acc2.1, &accMin2[1], l5, 5)
                finish(&acc2.2, &accMin2[2], l6, 6); finish(&acc2.3, &accMin2[3], l7, 7)
            }
        }
        let sums = Matmul.reduceLanes(acc.0, acc.1, acc.2, acc.3) - accMin
        y[0] = sums[0]; y[ldy] = sums[1]; y[2 * ldy] = sums[2]; y[3 * ldy] = sums[3]
        if eight {
            let more = Matmul.reduceLanes(acc2.0, acc2.1, acc2.2, acc2.3) - accMin2
            y[4 * ldy] = more[0]; y[5 * ldy] = more[1]; y[6 * ldy] = more[2]; y[7 * ldy] = more[3]
        }
    }
}
