// The naive twin of the interleaved kernels (`InterleavedRows`, SmallMindKernelsAVX512): scalar,
// on the rows as the file stores them, so that it checks the regrouping as well as the kernel.
// It defines their order. For Q8_0 and Q4_0 weights and output (b, o) (the K-quants: below):
//
//   x row b quantized to Q8_0 (codes q, block scales d_x) exactly as `Q8Activations` does
//   acc = 0
//   for each block g, ascending:
//       s   = Σ w·q over the block's 32 elements        (exact integers)
//       acc = fma(Float(s), d_w · d_x, acc)              (d_w · d_x rounded to float first)
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
        defer { codes.deallocate(); scales.deallocate() }
        for b in 0..<batch {
            ActivationQuantizer.quantizeRow(x + b * columns, count: columns, codes: codes, scales: scales)
            for o in rows {
                var acc: Float = 0
                for g in 0..<blocks {
                    let block = w + o * rowBytes + g * W.blockBytes
                    let weights = W.codes(block)
                    var s: Int32 = 0
                    for i in 0..<32 { s += Int32(weights[i]) * codes[g * 32 + i] }
                    acc = acc.addingProduct(Float(s), loadHalfScale(block) * scales[g])
                }
                y[b * yStride + o] = acc
            }
        }
    }

    /// Q4_K, per output (b, o), with x row b quantized to Q8_K (codes q, super-block scales d_x,
    /// code sums S_s of each sub-block s of 32) exactly as `Q8KActivations` does:
    ///
    ///   acc = 0, accMin = 0
    ///   for each super-block, ascending:
    ///       isum = Σ_s sc_s · Σ u·q over sub-block s       (u the nibble, sc_s its 6-bit scale)
    ///       msum = Σ_s m_s · S_s                            (m_s the 6-bit min)
    ///       acc    = fma(Float(isum), d · d_x, acc)
    ///       accMin = fma(Float(msum), dmin · d_x, accMin)
    ///   y[b, o] = acc − accMin
    ///
    /// Exact integers: |isum| ≤ 8 · 63 · 32 · 15 · 127 < 2³¹ (Float(isum) may round, the same way
    /// in every form).
    static func multiplyQ4K(
        _ x: UnsafePointer<Float>, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ batch: Int, _ columns: Int, _ yStride: Int, _ rows: Range<Int>
    ) {
        let a = Q8KActivations(x, batch: batch, columns: columns)
        defer { a.deallocate() }
        let superBlocks = columns / 256
        for b in 0..<batch {
            for o in rows {
                var acc: Float = 0, accMin: Float = 0
                for sb in 0..<superBlocks {
                    let block = w + o * rowBytes + sb * 144, at = b * superBlocks + sb
                    var isum: Int32 = 0, msum: Int32 = 0
                    for s in 0..<8 {
                        let (scale, min) = Q4KDecoder.scaleMin(s, block + 4)
                        var dot: Int32 = 0
                        for l in 0..<32 {
                            dot += KQuantIntegerMatmul.q4KCode(block, 32 * s + l) * Int32(a.codes[b * columns + sb * 256 + 32 * s + l])
                        }
                        isum += Int32(scale) * dot
                        msum += Int32(min) * a.sums[at * 8 + s]
                    }
                    let dx = a.scales[at]
                    acc = acc.addingProduct(Float(isum), KQuantIntegerMatmul.halfValue(block, 0) * dx)
                    accMin = accMin.addingProduct(Float(msum), KQuantIntegerMatmul.halfValue(block, 2) * dx)
                }
                y[b * yStride + o] = acc - accMin
            }
        }
    }

    /// Q6_K, per output (b, o), x row b quantized to Q8_K as for Q4_K:
    ///
    ///   acc = 0
    ///   for each super-block, ascending:
    ///       isum = Σ sc · (u − 32) · q over its 256 elements   (u the 6-bit code, sc its sub-block's
    ///              signed 8-bit scale; exact: |isum| ≤ 256 · 128 · 32 · 127 < 2³¹)
    ///       acc  = fma(Float(isum), d · d_x, acc)
    ///   y[b, o] = acc
    static func multiplyQ6K(
        _ x: UnsafePointer<Float>, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ batch: Int, _ columns: Int, _ yStride: Int, _ rows: Range<Int>
    ) {
        let a = Q8KActivations(x, batch: batch, columns: columns)
        defer { a.deallocate() }
        let superBlocks = columns / 256
        for b in 0..<batch {
            for o in rows {
                var acc: Float = 0
                for sb in 0..<superBlocks {
                    let block = w + o * rowBytes + sb * 210
                    var isum: Int32 = 0
                    for i in 0..<256 {
                        let (u, scale) = KQuantIntegerMatmul.q6KCodeAndScale(block, i)
                        isum += scale * (u - 32) * Int32(a.codes[b * columns + sb * 256 + i])
                    }
                    acc = acc.addingProduct(Float(isum), KQuantIntegerMatmul.halfValue(block, 208) * a.scales[b * superBlocks + sb])
                }
                y[b * yStride + o] = acc
            }
        }
    }
}
