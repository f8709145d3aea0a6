// The integer products of `IntegerMatmul` for batches of activation rows, computed with float
// FMAs on the integer codes — the same numbers, bit for bit, at the speed of float arithmetic.
//
// Why floats: a lane sum s_j of the canonical order is four products of integers (|q_x| ≤ 127,
// |q_w| ≤ 128), so every product and every partial sum is an integer below 2¹⁶ and exact in
// float32, in any order. So t = x₀·w₀ + x₁·w₁ + x₂·w₂ + x₃·w₃ over float copies of the codes
// (one multiply, three FMAs, lane j holding the four elements of s_j) equals Float(s_j) exactly,
// and acc = fma(t, d_w·d_x, acc) is the canonical step. In integers the same lane sums cost about
// eleven instructions per block and pair of rows (two vpmullw, widening, conversion: LLVM does
// not form vpmaddwd from these loops); in floats four FMAs, and the weights' decoding is shared
// by the whole batch, as in the float formats' decode-once kernel.
//
// Layout: each block of four weight rows is decoded once into a float buffer (codes in the
// lane order of `IntegerBlockDecoder.codeFloats`, 32 floats a block, and the block scales),
// then multiplied against the activations quantized in the `.float` layout, in tiles of two
// weight rows by three activation rows: 6 accumulators, 6 block sums and 3 activation operands
// fill 15 of the 16 AVX2 registers.

extension IntegerMatmul {
    static func multiplyBatched<D: IntegerBlockDecoder>(
        _: D.Type, _ xq: QuantizedActivations, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ batch: Int, _ ldy: Int, _ rows: Range<Int>
    ) {
        let blocks = xq.columns / 32
        // (4, blocks, 32) codes, then (4, blocks) weight scales.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * blocks * 33) { buffer in
            let codes = buffer.baseAddress!, scales = buffer.baseAddress! + 4 * blocks * 32
            var o = rows.lowerBound
            while o < rows.upperBound {
                let n = min(4, rows.upperBound - o)
                for r in 0..<n { decodeCodes(D.self, w + (o + r) * rowBytes, blocks, codes + r * blocks * 32, scales + r * blocks) }
                var r = 0
                while r < n {
                    let pair = r + 2 <= n
                    let w0 = UnsafeRawPointer(codes + r * blocks * 32), s0 = UnsafePointer(scales + r * blocks)
                    let w1 = pair ? w0 + blocks * 128 : w0, s1 = pair ? s0 + blocks : s0
                    var b = 0
                    while b + 3 <= batch {
                        tile2x3(w0, s0, w1, s1, xq, b, blocks, y + b * ldy + o + r, ldy, pair)
                        b += 3
                    }
                    while b < batch {
                        y[b * ldy + o + r] = dotCodes(w0, s0, xq, b, blocks)
                        if pair { y[b * ldy + o + r + 1] = dotCodes(w1, s1, xq, b, blocks) }
                        b += 1
                    }
                    r += pair ? 2 : 1
                }
                o += n
            }
        }
    }

    /// One weight row's codes as floats (32 per block, lane order) and its block scales.
    @inline(__always)
    static func decodeCodes<D: IntegerBlockDecoder>(
        _: D.Type, _ row: UnsafeRawPointer, _ blocks: Int, _ codes: UnsafeMutablePointer<Float>, _ scales: UnsafeMutablePointer<Float>
    ) {
        let out = UnsafeMutableRawPointer(codes)
        for g in 0..<blocks {
            let block = row + g &* D.blockBytes
            let c = D.codeFloats(block)
            out.storeBytes(of: c.v0, toByteOffset: g &* 128, as: SIMD8<Float>.self)
            out.storeBytes(of: c.v1, toByteOffset: g &* 128 + 32, as: SIMD8<Float>.self)
            out.storeBytes(of: c.v2, toByteOffset: g &* 128 + 64, as: SIMD8<Float>.self)
            out.storeBytes(of: c.v3, toByteOffset: g &* 128 + 96, as: SIMD8<Float>.self)
            scales[g] = loadHalfScale(block)
        }
    }

    /// Float(lane sums) of one block: four operands of 8 lanes each, exact.
    @inline(__always)
    static func blockSums(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer) -> SIMD8<Float> {
        var t = x.loadUnaligned(as: SIMD8<Float>.self) * w.loadUnaligned(as: SIMD8<Float>.self)
        t = t.addingProduct(x.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self), w.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
        t = t.addingProduct(x.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self), w.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
        t = t.addingProduct(x.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self), w.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
        return t
    }

    /// One decoded weight row against activation row b.
    @inline(__always)
    static func dotCodes(_ w: UnsafeRawPointer, _ sw: UnsafePointer<Float>, _ xq: QuantizedActivations, _ b: Int, _ blocks: Int) -> Float {
        let x = xq.row(b), sx = xq.rowScales(b)
        var acc = SIMD8<Float>()
        for g in 0..<blocks {
            acc = acc.addingProduct(blockSums(w + g &* 128, x + g &* 128), SIMD8(repeating: sw[g] * sx[g]))
        }
        return Matmul.reduceLanes(acc)
    }

    /// Two decoded weight rows (or one, `pair` false: w1 = w0 and only column 0 is written)
    /// against activation rows b, b + 1, b + 2.
    @inline(__always)
    static func tile2x3(
        _ w0: UnsafeRawPointer, _ s0: UnsafePointer<Float>, _ w1: UnsafeRawPointer, _ s1: UnsafePointer<Float>,
        _ xq: QuantizedActivations, _ b: Int, _ blocks: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ pair: Bool
    ) {
        let x0 = xq.row(b), x1 = xq.row(b + 1), x2 = xq.row(b + 2)
        let sx0 = xq.rowScales(b), sx1 = xq.rowScales(b + 1), sx2 = xq.rowScales(b + 2)
        var a00 = SIMD8<Float>(), a10 = SIMD8<Float>(), a20 = SIMD8<Float>()
        var a01 = SIMD8<Float>(), a11 = SIMD8<Float>(), a21 = SIMD8<Float>()
        for g in 0..<blocks {
            let offset = g &* 128
            let wa = w0 + offset, wb = w1 + offset
            var t00 = SIMD8<Float>(), t10 = SIMD8<Float>(), t20 = SIMD8<Float>()
            var t01 = SIMD8<Float>(), t11 = SIMD8<Float>(), t21 = SIMD8<Float>()
            for c in 0..<4 {
                let at = offset &+ c &* 32
                let xa = x0.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self)
                let xb = x1.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self)
                let xc = x2.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self)
                let va = wa.loadUnaligned(fromByteOffset: c &* 32, as: SIMD8<Float>.self)
                t00 = t00.addingProduct(xa, va); t10 = t10.addingProduct(xb, va); t20 = t20.addingProduct(xc, va)
                let vb = wb.loadUnaligned(fromByteOffset: c &* 32, as: SIMD8<Float>.self)
                t01 = t01.addingProduct(xa, vb); t11 = t11.addingProduct(xb, vb); t21 = t21.addingProduct(xc, vb)
            }
            let d0 = s0[g], d1 = s1[g]
            a00 = a00.addingProduct(t00, SIMD8(repeating: d0 * sx0[g]))
            a10 = a10.addingProduct(t10, SIMD8(repeating: d0 * sx1[g]))
            a20 = a20.addingProduct(t20, SIMD8(repeating: d0 * sx2[g]))
            a01 = a01.addingProduct(t01, SIMD8(repeating: d1 * sx0[g]))
            a11 = a11.addingProduct(t11, SIMD8(repeating: d1 * sx1[g]))
            a21 = a21.addingProduct(t21, SIMD8(repeating: d1 * sx2[g]))
        }
        y[0] = Matmul.reduceLanes(a00)
        y[ldy] = Matmul.reduceLanes(a10)
        y[2 * ldy] = Matmul.reduceLanes(a20)
        if pair {
            y[1] = Matmul.reduceLanes(a01)
            y[ldy + 1] = Matmul.reduceLanes(a11)
            y[2 * ldy + 1] = Matmul.reduceLanes(a21)
        }
    }
}
