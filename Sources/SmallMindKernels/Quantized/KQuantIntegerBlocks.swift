// How `KQuantIntegerKernels` reads Q5_K, Q3_K, Q2_K and IQ4_XS super-blocks (layouts in Q5K.swift,
// Q3K.swift, Q2K.swift, IQ4XS.swift): chunk c is elements 32c ..< 32c + 32, with the integer
// scale of each pair of them. The integers are llama.cpp's (ggml_vec_dot_*_q8_K): Q5_K's 5-bit
// codes with Q4_K's 6-bit scales and mins; Q3_K's codes q2 + 4·bit offset by 4, scales sc − 32
// per 16; Q2_K's 2-bit codes, 4-bit scales per 16 and mins against the activations' sums of 16;
// IQ4_XS's signed levels with scales ls − 32 per 32.
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel
#endif

extension Q5KDecoder: KQuantBlocks {
    static var codes: KQuantCodes { .unsigned(offset: 0) }
    static var hasMins: Bool { true }

    /// d, dmin, sub-scales and sub-mins sit where Q4_K's do.
    @inline(__always)
    static func header<I: InstructionSet>(_ block: UnsafeRawPointer, _: I.Type) -> Q4KDecoder.Header { Q4KDecoder.header(block, I.self) }

    @inline(__always)
    static func scale(_ header: Q4KDecoder.Header) -> Float { header.d }

    @inline(__always)
    static func chunk<I: InstructionSet>(_ block: UnsafeRawPointer, _ header: Q4KDecoder.Header, _ c: Int, _: I.Type) -> (codes: SIMD32<UInt8>, scales: SIMD16<Int16>) {
        let bytes = block.loadUnaligned(fromByteOffset: 48 &+ (c &>> 1) &* 32, as: SIMD32<UInt8>.self)
        let high = block.loadUnaligned(fromByteOffset: 16, as: SIMD32<UInt8>.self)
        let scale = SIMD16<Int16>(repeating: header.scales[c])
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            let v = unsafeBitCast(bytes, to: __m256i.self), h = unsafeBitCast(high, to: __m256i.self)
            let nibbles = _mm256_and_si256(c & 1 == 0 ? v : _mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F))
            // Bit c of each byte, to bit 4 (a 16-bit shift: the bit never crosses into the next byte).
            let bit = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, Int32(truncatingIfNeeded: c)), _mm256_set1_epi8(1)), 4)
            return (unsafeBitCast(_mm256_or_si256(nibbles, bit), to: SIMD32<UInt8>.self), scale)
        }
        #endif
        let nibbles = (c & 1 == 0 ? bytes : bytes &>> 4) & 0x0F
        return (nibbles | ((high &>> UInt8(truncatingIfNeeded: c)) & 1) &<< 4, scale)
    }

    @inline(__always)
    static func mins<I: InstructionSet>(_ header: Q4KDecoder.Header, sums32: UnsafePointer<Int32>, sums16: UnsafePointer<Int32>, _: I.Type) -> (Int32, Float) {
        Q4KDecoder.mins(header, sums32: sums32, sums16: sums16, I.self)
    }

    static func mins(_ header: Q4KDecoder.Header, chunks: Range<Int>, sums32: UnsafePointer<Int32>, sums16: UnsafePointer<Int32>) -> (sum: Int32, dmin: Float) {
        Q4KDecoder.mins(header, chunks: chunks, sums32: sums32, sums16: sums16)
    }
}

extension Q3KDecoder: KQuantBlocks {
    /// d and the sixteen signed sub-scales (in 32-bit lanes, as computed: narrowing them was a
    /// generic conversion, out of line).
    struct Header {
        var d: Float
        var scales: SIMD16<Int32>
    }

    static var codes: KQuantCodes { .unsigned(offset: 4) }
    static var hasMins: Bool { false }

    @inline(__always)
    static func header<I: InstructionSet>(_ block: UnsafeRawPointer, _: I.Type) -> Header {
        // `scale(s, block)` for all sixteen at once, in 32-bit lanes (per-lane shifts are vpsrlvd;
        // filling a vector lane by lane went through the stack and stalled: 1 GFLOP/s).
        let a = block.loadUnaligned(fromByteOffset: 96, as: UInt32.self), b = block.loadUnaligned(fromByteOffset: 100, as: UInt32.self)
        let t = block.loadUnaligned(fromByteOffset: 104, as: UInt32.self)
        let four = SIMD4<UInt32>(repeating: a), other = SIMD4<UInt32>(repeating: b)
        let low = SIMD16(lowHalf: SIMD8(lowHalf: four, highHalf: other), highHalf: SIMD8(lowHalf: four, highHalf: other))
        let lowShifts: SIMD16<UInt32> = [0, 8, 16, 24, 0, 8, 16, 24, 4, 12, 20, 28, 4, 12, 20, 28]
        let highShifts: SIMD16<UInt32> = [0, 8, 16, 24, 2, 10, 18, 26, 4, 12, 20, 28, 6, 14, 22, 30]
        let raw = ((low &>> lowShifts) & 0xF) | (((SIMD16(repeating: t) &>> highShifts) & 3) &<< 4)
        return Header(d: loadHalfScale(block + 108, I.self), scales: unsafeBitCast(raw, to: SIMD16<Int32>.self) &- 32)
    }

    @inline(__always)
    static func scale(_ header: Header) -> Float { header.d }

    @inline(__always)
    static func chunk<I: InstructionSet>(_ block: UnsafeRawPointer, _ header: Header, _ c: Int, _: I.Type) -> (codes: SIMD32<UInt8>, scales: SIMD16<Int16>) {
        let low = block.loadUnaligned(fromByteOffset: 32 &+ 32 &* (c &>> 2), as: SIMD32<UInt8>.self)
        let high = block.loadUnaligned(as: SIMD32<UInt8>.self)
        let first = Int16(truncatingIfNeeded: header.scales[2 &* c]), second = Int16(truncatingIfNeeded: header.scales[2 &* c &+ 1])
        let scales = SIMD16(lowHalf: SIMD8(repeating: first), highHalf: SIMD8(repeating: second))
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            let l = unsafeBitCast(low, to: __m256i.self), h = unsafeBitCast(high, to: __m256i.self)
            let two = _mm256_and_si256(_mm256_srli_epi16(l, Int32(truncatingIfNeeded: 2 &* (c & 3))), _mm256_set1_epi8(3))
            let bit = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, Int32(truncatingIfNeeded: c)), _mm256_set1_epi8(1)), 2)
            return (unsafeBitCast(_mm256_or_si256(two, bit), to: SIMD32<UInt8>.self), scales)
        }
        #endif
        let two = (low &>> UInt8(truncatingIfNeeded: 2 &* (c & 3))) & 3
        return (two | ((high &>> UInt8(truncatingIfNeeded: c)) & 1) &<< 2, scales)
    }
}

extension Q2KDecoder: KQuantBlocks {
    /// d, dmin and the sixteen packed scale/min bytes.
    struct Header {
        var d: Float
        var dmin: Float
        var packed: SIMD16<UInt8>
    }

    static var codes: KQuantCodes { .unsigned(offset: 0) }
    static var hasMins: Bool { true }

    @inline(__always)
    static func header<I: InstructionSet>(_ block: UnsafeRawPointer, _: I.Type) -> Header {
        Header(d: loadHalfScale(block + 80, I.self), dmin: loadHalfScale(block + 82, I.self), packed: block.loadUnaligned(as: SIMD16<UInt8>.self))
    }

    @inline(__always)
    static func scale(_ header: Header) -> Float { header.d }

    @inline(__always)
    static func chunk<I: InstructionSet>(_ block: UnsafeRawPointer, _ header: Header, _ c: Int, _: I.Type) -> (codes: SIMD32<UInt8>, scales: SIMD16<Int16>) {
        let bytes = block.loadUnaligned(fromByteOffset: 16 &+ 32 &* (c &>> 2), as: SIMD32<UInt8>.self)
        let first = Int16(header.packed[2 &* c] & 0xF), second = Int16(header.packed[2 &* c &+ 1] & 0xF)
        let scales = SIMD16(lowHalf: SIMD8(repeating: first), highHalf: SIMD8(repeating: second))
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            let v = unsafeBitCast(bytes, to: __m256i.self)
            let two = _mm256_and_si256(_mm256_srli_epi16(v, Int32(truncatingIfNeeded: 2 &* (c & 3))), _mm256_set1_epi8(3))
            return (unsafeBitCast(two, to: SIMD32<UInt8>.self), scales)
        }
        #endif
        return ((bytes &>> UInt8(truncatingIfNeeded: 2 &* (c & 3))) & 3, scales)
    }

    @inline(__always)
    static func mins<I: InstructionSet>(
        _ header: Header, sums32: UnsafePointer<Int32>, sums16: UnsafePointer<Int32>, _: I.Type
    ) -> (Int32, Float) {
        // Exact: |min · sum| ≤ 15 · 16 · 127 per sub-block of 16.
        let products = minProducts(header, sums16, I.self)
        let four = products.lowHalf &+ products.highHalf, two = four.lowHalf &+ four.highHalf
        return (two[0] &+ two[1], header.dmin)
    }

    /// Chunk c holds the sub-blocks of 16 numbered 2c and 2c + 1.
    static func mins(_ header: Header, chunks: Range<Int>, sums32: UnsafePointer<Int32>, sums16: UnsafePointer<Int32>) -> (sum: Int32, dmin: Float) {
        let subBlocks = (2 * chunks.lowerBound)..<(2 * chunks.upperBound)
        return (subBlocks.reduce(0) { $0 &+ Int32(header.packed[$1] >> 4) &* sums16[$1] }, header.dmin)
    }

    /// Each sub-block's min times its activation sum, sub-blocks j and j + 8 added in lane j.
    @inline(__always)
    static func minProducts<I: InstructionSet>(_ header: Header, _ sums16: UnsafePointer<Int32>, _: I.Type) -> SIMD8<Int32> {
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            // Widened before the shift (byte-lane shifts have no x86 instruction); the generic SIMD
            // conversion and sum ran out of line.
            let packed = unsafeBitCast(header.packed, to: __m128i.self)
            let first = _mm256_srli_epi32(_mm256_cvtepu8_epi32(packed), 4)
            let second = _mm256_srli_epi32(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(packed, packed)), 4)
            let sums = UnsafeRawPointer(sums16)
            return unsafeBitCast(_mm256_add_epi32(
                _mm256_mullo_epi32(first, sums.loadUnaligned(as: __m256i.self)),
                _mm256_mullo_epi32(second, sums.loadUnaligned(fromByteOffset: 32, as: __m256i.self))), to: SIMD8<Int32>.self)
        }
        #endif
        let mins = SIMD16<Int32>(truncatingIfNeeded: header.packed) &>> 4
        let all = mins &* UnsafeRawPointer(sums16).loadUnaligned(as: SIMD16<Int32>.self)
        return all.lowHalf &+ all.highHalf
    }
}

extension IQ4XSDecoder: KQuantBlocks {
    /// d and the eight signed sub-scales (32-bit lanes, as for Q3_K).
    struct Header {
        var d: Float
        var scales: SIMD8<Int32>
    }

    static var codes: KQuantCodes { .signed }
    static var hasMins: Bool { false }

    @inline(__always)
    static func header<I: InstructionSet>(_ block: UnsafeRawPointer, _: I.Type) -> Header {
        // `scale(s, block)` for all eight at once: sub-block s's low nibble is bits 4s ..< 4s + 4
        // of the four scales_l bytes, its high bits 2s, 2s + 1 of scales_h (32-bit lanes, vpsrlvd).
        let low = SIMD8<UInt32>(repeating: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let high = SIMD8<UInt32>(repeating: UInt32(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        let lowShifts: SIMD8<UInt32> = [0, 4, 8, 12, 16, 20, 24, 28], highShifts: SIMD8<UInt32> = [0, 2, 4, 6, 8, 10, 12, 14]
        let raw = ((low &>> lowShifts) & 0xF) | (((high &>> highShifts) & 3) &<< 4)
        return Header(d: loadHalfScale(block, I.self), scales: unsafeBitCast(raw, to: SIMD8<Int32>.self) &- 32)
    }

    @inline(__always)
    static func scale(_ header: Header) -> Float { header.d }

    @inline(__always)
    static func chunk<I: InstructionSet>(_ block: UnsafeRawPointer, _ header: Header, _ c: Int, _: I.Type) -> (codes: SIMD32<UInt8>, scales: SIMD16<Int16>) {
        let scale = SIMD16<Int16>(repeating: Int16(truncatingIfNeeded: header.scales[c]))
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            let packed = block.loadUnaligned(fromByteOffset: 8 &+ 16 &* c, as: __m128i.self), mask = _mm_set1_epi8(0x0F)
            // Indices of elements 0..<16 (low nibbles) in the lower 128 bits, 16..<32 in the upper;
            // vpshufb looks each up in the table (repeated in both halves).
            let indices = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), mask), _mm_and_si128(packed, mask))
            let table = unsafeBitCast(SIMD32(lowHalf: levels, highHalf: levels), to: __m256i.self)
            return (unsafeBitCast(_mm256_shuffle_epi8(table, indices), to: SIMD32<UInt8>.self), scale)
        }
        #endif
        var codes = SIMD32<UInt8>()
        for i in 0..<16 {
            let byte = block.load(fromByteOffset: 8 &+ 16 &* c &+ i, as: UInt8.self)
            codes[i] = UInt8(bitPattern: levels[Int(byte & 0xF)])
            codes[i + 16] = UInt8(bitPattern: levels[Int(byte >> 4)])
        }
        return (codes, scale)
    }
}
