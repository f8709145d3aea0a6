// The fast form of `IntegerMatmul`: the 32-element block formats times Q8_0 activation codes with x86's
// integer dot-product instructions, in exactly `IntegerMatmul`'s order (its header states it), so
// the two agree bit for bit — the scalar one is this kernel's naive twin.
//
// Per block of 32 and activation row (ggml's mul_sum_i8_pairs_float):
//
//   |w| (vpsignb w, w)   and   x·sign(w) (vpsignb x, w)     so that |w| · (x·sign(w)) = w·x
//   vpmaddubsw: unsigned × signed bytes, adjacent pairs summed → 16 int16 (|w| ≤ 128, |x| ≤ 127:
//               a pair is at most 32 512, no saturation)
//   vpmaddwd with ones: adjacent int16 pairs summed → lane j = Σ w·x over elements 4j ..< 4j + 4
//   vcvtdq2ps, then one FMA by d_w·d_x into lane j of the accumulator.
//
// The integer sums are exact, so any tiling gives the same floats as long as each accumulator sees
// its blocks in ascending order — which every shape here (one activation row, four, eight) does.
// Where the target has no AVX2 (other platforms) the same sums come from portable SIMD
// (`portableBlockSums`), equally exact.
//
// LLVM does not form vpmaddubsw/vpmaddwd from Swift SIMD arithmetic (an earlier session tried it
// in real tiles: the loops compiled to widening multiplies and came out slower than decoding to
// floats), so on x86 the instructions are named through Clang's intrinsics module, which the Swift
// toolchain ships: still Swift code, no C in the package.
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Weights whose blocks the integer kernels read: 32 codes (signed, or Q4_1/Q5_1's unsigned ones
/// below 32) and an f16 scale at offset 0, and for Q4_1/Q5_1 an f16 minimum (`minimumOffset`,
/// summed apart as `IntegerMatmul` describes).
protocol IntegerWeightBlocks: IntegerBlockDecoder {
    /// The block's 32 codes as signed bytes, in element order.
    static func codes<I: InstructionSet>(_ block: UnsafeRawPointer, _: I.Type) -> SIMD32<Int8>
}

extension Q8_0Decoder: IntegerWeightBlocks {
    @inline(__always)
    static func codes<I: InstructionSet>(_ block: UnsafeRawPointer, _: I.Type) -> SIMD32<Int8> {
        block.loadUnaligned(fromByteOffset: 2, as: SIMD32<Int8>.self)
    }
}

extension Q4_0Decoder: IntegerWeightBlocks {
    @inline(__always)
    static func codes<I: InstructionSet>(_ block: UnsafeRawPointer, _: I.Type) -> SIMD32<Int8> {
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            // ggml's bytes_from_nibbles_32: low nibbles are elements 0..<16, high nibbles 16..<32.
            let packed = unsafeBitCast(block.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self), to: __m128i.self)
            let both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed)
            let nibbles = _mm256_and_si256(both, _mm256_set1_epi8(0x0F))
            return unsafeBitCast(_mm256_sub_epi8(nibbles, _mm256_set1_epi8(8)), to: SIMD32<Int8>.self)
        }
        #endif
        let packed = block.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
        let low = SIMD16<Int8>(truncatingIfNeeded: packed & 0x0F) &- 8
        let high = SIMD16<Int8>(truncatingIfNeeded: packed &>> 4) &- 8
        return SIMD32(lowHalf: low, highHalf: high)
    }
}

enum IntegerKernels {
    /// The eight exact lane sums of one block: lane j = Σ w[i]·x[i] over i = 4j ..< 4j + 4, as floats.
    @inline(__always)
    static func blockSums<I: InstructionSet>(_ w: SIMD32<Int8>, _ x: SIMD32<Int8>, _: I.Type) -> SIMD8<Float> {
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            let wv = unsafeBitCast(w, to: __m256i.self), xv = unsafeBitCast(x, to: __m256i.self)
            let pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv))
            return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
        }
        #endif
        return portableBlockSums(w, x)
    }

    /// `blockSums` in portable SIMD: int16 products, then adjacent pairs summed twice.
    @inline(__always)
    static func portableBlockSums(_ w: SIMD32<Int8>, _ x: SIMD32<Int8>) -> SIMD8<Float> {
        let products = SIMD32<Int16>(truncatingIfNeeded: w) &* SIMD32<Int16>(truncatingIfNeeded: x)
        let pairs = SIMD16<Int32>(truncatingIfNeeded: products.evenHalf) &+ SIMD16<Int32>(truncatingIfNeeded: products.oddHalf)
        return SIMD8<Float>(pairs.evenHalf &+ pairs.oddHalf)
    }

    /// y[b, o] for o in `rows`: weight rows of `rowBytes` bytes against the quantized activations.
    /// The weight rows are walked one after another, each block loaded once for up to eight
    /// activation rows (`tile1x4`), so the matrix streams from memory in one sequential
    /// pass. Eight rows rather than four: m110 Q8_0 S_TG B=8 349–389 → 382–420 tok/s, B=32
    /// 364–437 → 421–451 (three alternating runs).
    /// Walking four rows side by side (4×1 and 4×2 tiles) was slower everywhere: m110 Q8_0 S_TG
    /// B=1 97–102 vs 191–202 tok/s, B=8 247–252 vs 342–380 — the interleaved row streams starve
    /// the memory bus, as they did for the float kernels.
    static func multiply<W: IntegerWeightBlocks, I: InstructionSet>(
        _: W.Type, _: I.Type, _ a: Q8Activations, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ ldy: Int, _ rows: Range<Int>
    ) {
        let blocks = a.columns / 32
        for o in rows {
            let row = w + o * rowBytes
            var b = 0
            while b + 8 <= a.batch {
                tile1x4(W.self, I.self, row, a, b, blocks, y + b * ldy + o, ldy, eight: true)
                b += 8
            }
            while b + 4 <= a.batch {
                tile1x4(W.self, I.self, row, a, b, blocks, y + b * ldy + o, ldy, eight: false)
                b += 4
            }
            while b < a.batch {
                y[b * ldy + o] = dot(W.self, I.self, row, a, b, blocks)
                b += 1
            }
        }
    }

    @inline(__always)
    static func dot<W: IntegerWeightBlocks, I: InstructionSet>(
        _: W.Type, _: I.Type, _ row: UnsafeRawPointer, _ a: Q8Activations, _ b: Int, _ blocks: Int
    ) -> Float {
        let x = UnsafeRawPointer(a.codes + b * a.columns), scales = a.scales + b * blocks
        let scaledSums = a.scaledSums + b * blocks
        var acc = SIMD8<Float>(), mins: Float = 0
        for g in 0..<blocks {
            let block = row + g &* W.blockBytes
            let sums = blockSums(W.codes(block, I.self), x.loadUnaligned(fromByteOffset: g &* 32, as: SIMD32<Int8>.self), I.self)
            acc = acc.addingProduct(sums, SIMD8(repeating: loadHalfScale(block, I.self) * scales[g]))
            if let at = W.minimumOffset { mins = mins.addingProduct(loadHalfScale(block + at, I.self), scaledSums[g]) }
        }
        return W.minimumOffset == nil ? Matmul.reduceLanes(acc) : Matmul.reduceLanes(acc) + mins
    }

    /// One weight row against four activation rows (eight with `eight`): each block decoded once
    /// for all of them, one FMA chain each.
    @inline(__always)
    static func tile1x4<W: IntegerWeightBlocks, I: InstructionSet>(
        _: W.Type, _: I.Type, _ row: UnsafeRawPointer, _ a: Q8Activations, _ b: Int, _ blocks: Int,
        _ y: UnsafeMutablePointer<Float>, _ ldy: Int, eight: Bool
    ) {
        let x = UnsafeRawPointer(a.codes + b * a.columns), columns = a.columns
        let s = a.scales + b * blocks, scaledSums = a.scaledSums + b * blocks
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
        // The minimum terms of Q4_1/Q5_1, activation row i's in lane i (the scalar chains of
        // `dot`, side by side: lane-wise FMAs round exactly as scalar ones).
        var mins0 = SIMD4<Float>(), mins1 = SIMD4<Float>()
        for g in 0..<blocks {
            let block = row + g &* W.blockBytes
            let codes = W.codes(block, I.self), dw = SIMD8(repeating: loadHalfScale(block, I.self))
            let xg = x + g &* 32
            @inline(__always) func step(_ acc: inout SIMD8<Float>, _ i: Int) {
                let sums = blockSums(codes, xg.loadUnaligned(fromByteOffset: i &* columns, as: SIMD32<Int8>.self), I.self)
                acc = acc.addingProduct(sums, dw * SIMD8(repeating: s[i &* blocks &+ g]))
            }
            step(&a0, 0); step(&a1, 1); step(&a2, 2); step(&a3, 3)
            if eight { step(&a4, 4); step(&a5, 5); step(&a6, 6); step(&a7, 7) }
            if let at = W.minimumOffset {
                let m = SIMD4<Float>(repeating: loadHalfScale(block + at, I.self))
                @inline(__always) func sums(_ first: Int) -> SIMD4<Float> {
                    SIMD4(scaledSums[first &* blocks &+ g], scaledSums[(first &+ 1) &* blocks &+ g],
                          scaledSums[(first &+ 2) &* blocks &+ g], scaledSums[(first &+ 3) &* blocks &+ g])
                }
                mins0 = mins0.addingProduct(m, sums(0))
                if eight { mins1 = mins1.addingProduct(m, sums(4)) }
            }
        }
        var sums = Matmul.reduceLanes(a0, a1, a2, a3)
        if W.minimumOffset != nil { sums += mins0 }
        y[0] = sums[0]; y[ldy] = sums[1]; y[2 * ldy] = sums[2]; y[3 * ldy] = sums[3]
        if eight {
            var more = Matmul.reduceLanes(a4, a5, a6, a7)
            if W.minimumOffset != nil { more += mins1 }
            y[4 * ldy] = more[0]; y[5 * ldy] = more[1]; y[6 * ldy] = more[2]; y[7 * ldy] = more[3]
        }
    }
}
