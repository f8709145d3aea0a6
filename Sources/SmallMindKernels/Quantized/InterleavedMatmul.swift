// The naive twin of the interleaved kernels (`InterleavedRows`, SmallMindKernelsAVX512): scalar,
// on the rows as the file stores them, so that it checks the regrouping as well as the kernel.
// It defines their order. For the 32-element formats and output (b, o) (the K-quants: below):
//
//   x row b quantized to Q8_0 (codes q, block scales d_x) exactly as `Q8Activations` does
//   acc = 0
//   for each block g, ascending:
//       s   = Σ w·q over the block's 32 elements        (exact integers)
//       acc = fma(Float(s), d_w · d_x, acc)              (d_w · d_x rounded to float first)
//       acc = fma(m_w, s_x, acc)                          (Q4_1/Q5_1 only: the block's minimum
//                                                          times the activations' scaled sum)
//   y[b, o] = acc
//
// |s| ≤ 32 · 128 · 127 < 2²⁴, so Float(s) is exact.
enum InterleavedMatmul {
    static func multiply<W: IntegerWeightBlocks>(
        _: W.Type, _ x: UnsafePointer<Float>, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ batch: Int, _ columns: Int, _ yStride: Int, _ rows: Range<Int>
    ) {
        let blocks = columns / 32
        let codes = UnsafeMutablePointer<Int32>.allocate(capacity: columns)
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: blocks)
        let scaledSums = UnsafeMutablePointer<Float>.allocate(capacity: blocks)
        defer { codes.deallocate(); scales.deallocate(); scaledSums.deallocate() }
        for b in 0..<batch {
            ActivationQuantizer.quantizeRow(x + b * columns, count: columns, codes: codes, scales: scales, scaledSums: scaledSums)
            for o in rows {
                var acc: Float = 0
                for g in 0..<blocks {
                    let block = w + o * rowBytes + g * W.blockBytes
                    let weights = W.codes(block, PortableSIMD.self)
                    var s: Int32 = 0
                    for i in 0..<32 { s += Int32(weights[i]) * codes[g * 32 + i] }
                    acc = acc.addingProduct(Float(s), loadHalfScale(block, PortableSIMD.self) * scales[g])
                    if let at = W.minimumOffset { acc = acc.addingProduct(loadHalfScale(block + at, PortableSIMD.self), scaledSums[g]) }
                }
                y[b * yStride + o] = acc
            }
        }
    }

    /// The K-quants, per output (b, o), with x row b quantized to Q8_K (codes q, super-block
    /// scales d_x, code sums S_s of each sub-block s of 32) exactly as `Q8KActivations` does:
    ///
    ///   acc = 0, accMin = 0
    ///   for each super-block, ascending:
    ///       Q4_K:  isum = Σ_s sc_s · Σ u·q over sub-block s    (u the nibble, sc_s its 6-bit scale;
    ///                                                           Q5_K: u = nibble + 16·fifth bit)
    ///              msum = Σ_s m_s · S_s                         (m_s the 6-bit min)
    ///       Q6_K:  isum = Σ sc · (u − 32) · q over the 256     (u the 6-bit code, sc its sub-block
    ///              msum = 0                                     of 16's signed 8-bit scale)
    ///       IQ4_XS: isum = Σ (ls − 32) · level · q             (level the index's table value)
    ///       Q3_K:  isum = Σ (sc − 32) · (u − 4) · q            (u = q2 + 4·bit, sc per 16)
    ///       Q2_K:  isum = Σ sc · u · q over the 256            (u the 2-bit code, sc its 4-bit scale)
    ///              msum = Σ_s m_s · S16_s over sub-blocks of 16 (S16_s: code sums of 16)
    ///       acc    = fma(Float(isum), d · d_x, acc)
    ///       accMin = fma(Float(msum), dmin · d_x, accMin)     (Q4_K, Q5_K and Q2_K)
    ///   y[b, o] = acc − accMin
    ///
    /// Exact integers: |isum| ≤ 8 · 63 · 32 · 31 · 127 (Q5_K), 256 · 128 · 32 · 127 (Q6_K), both
    /// < 2³¹; Float(isum) may round, the same way in every form.
    static func multiplyKQuant(
        _ format: BlockFormat, _ x: UnsafePointer<Float>, _ w: UnsafeRawPointer, _ rowBytes: Int,
        _ y: UnsafeMutablePointer<Float>, _ batch: Int, _ columns: Int, _ yStride: Int, _ rows: Range<Int>
    ) {
        let a = Q8KActivations(x, batch: batch, columns: columns)
        defer { a.deallocate() }
        let superBlocks = columns / 256
        for b in 0..<batch {
            for o in rows {
                var acc: Float = 0, accMin: Float = 0
                for sb in 0..<superBlocks {
                    let at = b * superBlocks + sb, dx = a.scales[at], q = a.codes + b * columns + sb * 256
                    var isum: Int32 = 0, msum: Int32 = 0
                    if format == .q4_K || format == .q5_K {
                        let block = w + o * rowBytes + sb * format.blockBytes
                        for s in 0..<8 {
                            let (scale, min) = Q4KDecoder.scaleMin(s, block + 4)
                            var dot: Int32 = 0
                            for l in 0..<32 {
                                let u = format == .q4_K ? KQuantIntegerMatmul.q4KCode(block, 32 * s + l) : Q5KDecoder.code(block, 32 * s + l)
                                dot += u * Int32(q[32 * s + l])
                            }
                            isum += Int32(scale) * dot
                            msum += Int32(min) * a.sums[at * 8 + s]
                        }
                        accMin = accMin.addingProduct(Float(msum), KQuantIntegerMatmul.halfValue(block, 2) * dx)
                        acc = acc.addingProduct(Float(isum), KQuantIntegerMatmul.halfValue(block, 0) * dx)
                    } else {
                        // Q6_K, Q3_K, IQ4_XS and Q2_K (whose repacked rows llama.cpp's gemv sums this way: KQuantLlamaCppOrder.swift).
                        let block = w + o * rowBytes + sb * format.blockBytes
                        for i in 0..<256 {
                            let (value, scale) = KQuantIntegerMatmul.valueAndScale(format, block, i)
                            isum += scale * value * Int32(q[i])
                        }
                        let (d, mins) = KQuantIntegerMatmul.scalesAndMins(format, block)
                        if let (perElements, dmin, minOf) = mins {
                            for s in 0..<(256 / perElements) {
                                msum += minOf(s) * (perElements == 32 ? a.sums[at * 8 + s] : a.halfSums[at * 16 + s])
                            }
                            accMin = accMin.addingProduct(Float(msum), dmin * dx)
                        }
                        acc = acc.addingProduct(Float(isum), d * dx)
                    }
                }
                y[b * yStride + o] = acc - accMin
            }
        }
    }
}
