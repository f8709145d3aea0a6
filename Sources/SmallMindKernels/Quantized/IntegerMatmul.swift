// Q8_0 and Q4_0 weights times activations quantized to Q8_0, in integers — llama.cpp's arithmetic
// for these types, run by the llama.cpp parity mode (`BlockFormat.multiplyIntegerProducts`).
//
// Not the default: it was built to speed up decoding (m110 Q4_0: 133 tok/s at batch 1 with float
// products, llama.cpp 377) but measured slower than the float-decoded kernels at every batch size
// (m110, 2 threads, loaded machine, medians of 3 alternating runs, tok/s integer vs float: Q4_0
// S_TG B=1 73 vs 80, B=8 152 vs 207, B=32 205 vs 318, prompt processing 244 vs 456; Q8_0 85 vs
// 88, 139 vs 189, 199 vs 300, 252 vs 439). Without vpmaddwd or vpmaddubsw (see "How" below) a
// block costs about as many instructions as decoding it to floats, and batch 1 is bound by the
// weight stream either way.
//
// Canonical order (batch invariance): activation row b is quantized on its own
// (`QuantizedActivations`: codes q_x and block scales d_x). For each block g of 32, ascending, and
// each lane j of eight, the exact integer
//
//   s_j = Σ q_x[i]·q_w[i]  over i = 4j ..< 4j + 4     (q_w: the int8 codes, or nibble − 8)
//
// is converted to float and fused into lane j of a float accumulator:
//
//   acc_j = fma(Float(s_j), d_w·d_x, acc_j)           (d_w·d_x one float product)
//
// then y[b, o] = `Matmul.reduceLanes(acc)`. Rows are whole blocks, so there is no tail. This is
// llama.cpp's AVX2 order for these types (ggml_vec_dot_q8_0_q8_0 / q4_0_q8_0: maddubs + madd
// give lane j the products 4j..<4j+4; the scale product, the FMA and the lane reduction are the
// same), where its CPU backend runs those kernels. `multiplyReference` is the scalar twin; the
// test is equality, bit for bit.
//
// How: without vpmaddubsw or a reliably matched vpmaddwd (LLVM turned Swift's SIMD widening
// conversions into calls and vpmulld), the weights are split by shifts. A Q8_0 block read as
// sixteen int16 holds element 2i in the low byte of lane i and 2i + 1 in the high byte, so
// (v << 8) >> 8 and v >> 8 (arithmetic) are the even and odd elements, sign-extended; Q4_0's
// nibbles come out the same way with masks. The activations are stored evens-then-odds to match.
// Two vpmullw and a vpaddw give, in int16 lane i, q[2i]·x[2i] + q[2i+1]·x[2i+1] (≤ 2·128·127 =
// 32512: no overflow); the same shift pair on that vector read as int32 adds lanes 2j and 2j + 1.
// Integer sums are exact, so how they are added is not part of the order; which elements share
// a lane is. Per block and weight row × activation row: ~11 vector instructions, one FMA.

/// The integer codes of a Q8_0/Q4_0 block (f16 scale at offset 0 in both).
protocol IntegerBlockDecoder: BlockDecoder {
    /// The block's codes at even elements (0, 2, …, 30) and at odd elements, as int16.
    static func codes(_ block: UnsafeRawPointer) -> (even: SIMD16<Int16>, odd: SIMD16<Int16>)
    /// The block's codes as floats (exact), in lane order: lane j of v0…v3 = element 4j…4j + 3
    /// (for `IntegerMatmul.multiplyBatched`).
    static func codeFloats(_ block: UnsafeRawPointer) -> DecodedGroup
    /// Element i of the block as an integer: the scalar reference of `codes`.
    static func codeReference(_ block: UnsafeRawPointer, _ i: Int) -> Int32
}

extension Q8_0Decoder: IntegerBlockDecoder {
    @inline(__always)
    static func codes(_ block: UnsafeRawPointer) -> (even: SIMD16<Int16>, odd: SIMD16<Int16>) {
        let v = block.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int16>.self)
        return ((v &<< 8) &>> 8, v &>> 8)
    }

    @inline(__always)
    static func codeFloats(_ block: UnsafeRawPointer) -> DecodedGroup {
        // Lane j of the block read as int32 holds bytes 4j…4j + 3; shifts sign-extend each.
        let u = block.loadUnaligned(fromByteOffset: 2, as: SIMD8<Int32>.self)
        return DecodedGroup(
            v0: SIMD8<Float>((u &<< 24) &>> 24), v1: SIMD8<Float>((u &<< 16) &>> 24),
            v2: SIMD8<Float>((u &<< 8) &>> 24), v3: SIMD8<Float>(u &>> 24))
    }

    static func codeReference(_ block: UnsafeRawPointer, _ i: Int) -> Int32 {
        Int32(block.load(fromByteOffset: 2 + i, as: Int8.self))
    }
}

extension Q4_0Decoder: IntegerBlockDecoder {
    /// The 16 bytes read as eight int16: lane i holds elements 2i, 2i + 1 in its low nibbles and
    /// 16 + 2i, 17 + 2i in its high nibbles. The low half of `w` is those lanes, the high half
    /// the same shifted right by 4; masks then pick the even and odd elements.
    @inline(__always)
    static func codes(_ block: UnsafeRawPointer) -> (even: SIMD16<Int16>, odd: SIMD16<Int16>) {
        let v = block.loadUnaligned(fromByteOffset: 2, as: SIMD8<Int16>.self)
        let w = SIMD16<Int16>(lowHalf: v, highHalf: v &>> 4)
        let eight = SIMD16<Int16>(repeating: 8)
        return ((w & 0x0F) &- eight, ((w &>> 8) & 0x0F) &- eight)
    }

    @inline(__always)
    static func codeFloats(_ block: UnsafeRawPointer) -> DecodedGroup {
        // Lanes 0..<4: the 16 bytes as int32 (elements 4j… in the low nibbles); lanes 4..<8: the
        // same shifted right by 4 (elements 16 + 4j… in the high nibbles).
        let u4 = block.loadUnaligned(fromByteOffset: 2, as: SIMD4<Int32>.self)
        let u = SIMD8<Int32>(lowHalf: u4, highHalf: u4 &>> 4)
        @inline(__always) func f(_ n: SIMD8<Int32>) -> SIMD8<Float> { SIMD8<Float>((n & 0x0F) &- 8) }
        return DecodedGroup(v0: f(u), v1: f(u &>> 8), v2: f(u &>> 16), v3: f(u &>> 24))
    }

    static func codeReference(_ block: UnsafeRawPointer, _ i: Int) -> Int32 {
        let byte = block.load(fromByteOffset: 2 + i % 16, as: UInt8.self)
        return Int32(i < 16 ? byte & 0x0F : byte >> 4) - 8
    }
}

/// The integer kernels, specialised per format by the `BlockFormat` entry points.
enum IntegerMatmul {
    /// Batches of at least this many rows take `multiplyBatched` (same results, bit for bit). A
    /// 4 × 2 tile of this file's int16 kernel for them measured no faster at batch 8 and slower
    /// at 32 and in prompt processing (m110 Q4_0 S_TG B=32 133 vs 195 tok/s, S_PP 168 vs 250).
    static let batchedThreshold = 2

    /// y[b, o] for o in `rows`, in the canonical order above. Quantizes x itself (each thread that
    /// calls this for its row range does; that is batch · columns work against rows · batch ·
    /// columns for the product) into stack or heap scratch owned by this call.
    static func multiply<D: IntegerBlockDecoder>(
        _: D.Type, _ x: UnsafePointer<Float>, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ batch: Int, _ columns: Int, _ ldy: Int, _ rows: Range<Int>
    ) {
        let layout: QuantizedActivations.Layout = batch >= batchedThreshold ? .float : .int16
        withUnsafeTemporaryAllocation(
            byteCount: QuantizedActivations.scratchBytes(batch: batch, columns: columns, layout: layout), alignment: 64
        ) { scratch in
            let xq = QuantizedActivations(x, batch: batch, columns: columns, layout: layout, scratch: scratch.baseAddress!)
            if layout == .float {
                multiplyBatched(D.self, xq, w, rowBytes, y, batch, ldy, rows)
            } else {
                multiply(D.self, xq, w, rowBytes, y, batch, ldy, rows)
            }
        }
    }

    static func multiply<D: IntegerBlockDecoder>(
        _: D.Type, _ xq: QuantizedActivations, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ batch: Int, _ ldy: Int, _ rows: Range<Int>
    ) {
        let blocks = xq.columns / 32
        var o = rows.lowerBound
        while o + 4 <= rows.upperBound {
            let wo = w + o * rowBytes
            var b = 0
            if batch == 1 {
                // One activation row: the four weight rows are first read front to back as one
                // sequential stream the hardware prefetcher follows (see `BlockMatmul.touch`).
                BlockMatmul.touch(wo, count: 4 * rowBytes, sink: y + o)
            }
            while b < batch {
                tile4x1(D.self, wo, rowBytes, xq, b, blocks, y + b * ldy + o)
                b += 1
            }
            o += 4
        }
        while o < rows.upperBound {
            for b in 0..<batch {
                var acc = SIMD8<Float>()
                let wr = w + o * rowBytes, xr = xq.row(b), xs = xq.rowScales(b)
                for g in 0..<blocks { accumulate(&acc, D.self, wr + g &* D.blockBytes, xr + g &* 64, xs[g]) }
                y[b * ldy + o] = Matmul.reduceLanes(acc)
            }
            o += 1
        }
    }

    /// acc += Float(lane sums of block · x block) · (d_w · d_x), one FMA.
    @inline(__always)
    static func accumulate<D: IntegerBlockDecoder>(
        _ acc: inout SIMD8<Float>, _: D.Type, _ block: UnsafeRawPointer, _ x: UnsafeRawPointer, _ dx: Float
    ) {
        acc = acc.addingProduct(laneSums(D.codes(block), x), SIMD8(repeating: loadHalfScale(block) * dx))
    }

    /// The eight lane sums of one block as floats (exact: |s| ≤ 4 · 128 · 127 < 2²⁴). `x` points
    /// at the activation block's 16 even codes, followed by its 16 odd ones. int16 lane i of
    /// `pairs` holds elements 2i and 2i + 1; read as int32, lane j holds int16 lanes 2j (low
    /// half) and 2j + 1 (high half), which the shifts sign-extend and add.
    @inline(__always)
    static func laneSums(_ w: (even: SIMD16<Int16>, odd: SIMD16<Int16>), _ x: UnsafeRawPointer) -> SIMD8<Float> {
        let pairs = w.even &* x.loadUnaligned(fromByteOffset: 0, as: SIMD16<Int16>.self)
            &+ w.odd &* x.loadUnaligned(fromByteOffset: 32, as: SIMD16<Int16>.self)
        let t = unsafeBitCast(pairs, to: SIMD8<Int32>.self)
        return SIMD8<Float>((t &<< 16) &>> 16 &+ (t &>> 16))
    }

    /// Four weight rows against activation row b: four independent FMA chains.
    @inline(__always)
    static func tile4x1<D: IntegerBlockDecoder>(
        _: D.Type, _ w: UnsafeRawPointer, _ rowBytes: Int, _ xq: QuantizedActivations, _ b: Int, _ blocks: Int,
        _ y: UnsafeMutablePointer<Float>
    ) {
        let w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes
        let xr = xq.row(b), xs = xq.rowScales(b)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        for g in 0..<blocks {
            let xg = xr + g &* 64, dx = xs[g], offset = g &* D.blockBytes
            accumulate(&a0, D.self, w0 + offset, xg, dx)
            accumulate(&a1, D.self, w1 + offset, xg, dx)
            accumulate(&a2, D.self, w2 + offset, xg, dx)
            accumulate(&a3, D.self, w3 + offset, xg, dx)
        }
        y[0] = Matmul.reduceLanes(a0)
        y[1] = Matmul.reduceLanes(a1)
        y[2] = Matmul.reduceLanes(a2)
        y[3] = Matmul.reduceLanes(a3)
    }

    /// The naive twin: the canonical order written out with scalars — reference quantizer,
    /// reference codes and scales, lane sums element by element, one float lane at a time.
    static func multiplyReference<D: IntegerBlockDecoder>(
        _: D.Type, _ x: UnsafePointer<Float>, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ batch: Int, _ columns: Int, _ ldy: Int, _ rows: Range<Int>
    ) {
        let blocks = columns / 32
        var codes = [Int16](repeating: 0, count: columns), scales = [Float](repeating: 0, count: blocks)
        for b in 0..<batch {
            QuantizedActivations.quantizeRowReference(x + b * columns, count: columns, codes: &codes, scales: &scales)
            for o in rows {
                var lanes = [Float](repeating: 0, count: 8)
                for g in 0..<blocks {
                    let block = w + o * rowBytes + g * D.blockBytes
                    let dw = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
                    for j in 0..<8 {
                        var sum: Int32 = 0
                        for i in 4 * j..<4 * j + 4 { sum += Int32(codes[g * 32 + i]) * D.codeReference(block, i) }
                        lanes[j] = lanes[j].addingProduct(Float(sum), dw * scales[g])
                    }
                }
                y[b * ldy + o] = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]))
            }
        }
    }
}
