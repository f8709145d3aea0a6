// The naive twin of the interleaved kernels (`InterleavedRows`, SmallMindKernelsAVX512): scalar,
// on the rows as the file stores them, so that it checks the regrouping as well as the kernel.
// It defines their order. For output (b, o):
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
}
