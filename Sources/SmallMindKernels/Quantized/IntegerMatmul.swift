// The 32-element block formats (Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, IQ4_NL) times activations quantized
// to Q8_0, in integers — llama.cpp's arithmetic for these types, and the runtime's. This scalar form defines the order and is the naive twin of
// the vectorised kernel (`IntegerKernels`), which equals it bit for bit. With it the Q8_0 golden
// models match llama.cpp's server to the golden file's printed digits.
//
// Order: activation row b is quantized on its own (`ActivationQuantizer`: codes q_x, block scales
// d_x). For each block g of 32, ascending, and each lane j of eight, the exact integer
//
//   s_j = Σ q_x[i]·q_w[i]  over i = 4j ..< 4j + 4     (q_w: the int8 codes, or nibble − 8)
//
// is converted to float and fused into lane j of a float accumulator,
//
//   acc_j = fma(Float(s_j), d_w·d_x, acc_j)           (d_w·d_x one float product),
//
// then the lanes are summed in `Matmul.reduceLanes`'s tree. This is ggml's AVX2 order for these
// types (ggml_vec_dot_q8_0_q8_0 / q4_0_q8_0: maddubs + madd give lane j the products 4j..<4j+4;
// the scale product, the FMA and the lane reduction are the same).
//
// Why integers rather than decoding the weights to floats (the other formats' way): one stream
// reads a block with a handful of instructions (vpmaddubsw, vpmaddwd) instead of decoding 32
// weights; m110 S_TG, same session, alternating runs, float kernels → integer kernels:
//   Q8_0  B=1 106–185 → 184–214   B=8 289–366 → 311–419   B=32 349–466 → 352–400 tok/s
//   Q4_0  B=1 107–141 → 172–212   B=8 314–321 → 306–315   B=32 438–458 → 312–365
// Large batches lose (a float tile amortises the decode over many rows and then needs 4 FMAs per
// block and row; the integer products need 6–7 instructions), and prompt processing is ~25 %
// slower; single streams and small batches gain, and the results are llama.cpp's. One arithmetic
// per format keeps results independent of the batch, so the choice is per format, not per size.

// Q4_1 and Q5_1 weights (value = q·d + m) add, per block, their minimum times the activation
// block's scaled code sum s_x (llama.cpp's block_q8_1.s, `Q8Activations.scaledSums`), into one
// float beside the lanes, blocks ascending, and that float to the lanes' sum at the end:
//
//   mins = fma(m, s_x, mins)   ...   y = reduceLanes(acc) + mins
//
// as ggml_vec_dot_q4_1_q8_1 / q5_1_q8_1 (AVX2) do (its summs; GCC contracts it into an FMA).

/// The integer codes of a block with its f16 scale at offset 0 (Q8_0, Q4_0, Q5_0, Q4_1, Q5_1,
/// IQ4_NL).
protocol IntegerBlockDecoder: BlockDecoder {
    /// Element i of the block as an integer.
    static func code(_ block: UnsafeRawPointer, _ i: Int) -> Int32
    /// Where the block's f16 minimum lies (Q4_1, Q5_1), or nil when its values are d·code alone.
    static var minimumOffset: Int? { get }
}

extension IntegerBlockDecoder {
    static var minimumOffset: Int? { nil }
}

extension Q8_0Decoder: IntegerBlockDecoder {
    static func code(_ block: UnsafeRawPointer, _ i: Int) -> Int32 {
        Int32(block.load(fromByteOffset: 2 + i, as: Int8.self))
    }
}

extension Q4_0Decoder: IntegerBlockDecoder {
    static func code(_ block: UnsafeRawPointer, _ i: Int) -> Int32 {
        let byte = block.load(fromByteOffset: 2 + i % 16, as: UInt8.self)
        return Int32(i < 16 ? byte & 0x0F : byte >> 4) - 8
    }
}

enum IntegerMatmul {
    /// y[b, o] for o in `rows`, in the order above. Each row of x is quantized here, so the result
    /// depends on that row alone.
    static func multiply<D: IntegerBlockDecoder>(
        _: D.Type, _ x: UnsafePointer<Float>, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ batch: Int, _ columns: Int, _ ldy: Int, _ rows: Range<Int>
    ) {
        precondition(columns % 32 == 0, "Q8_0 activation rows must be whole blocks of 32")
        let blocks = columns / 32
        var codes = [Int16](repeating: 0, count: columns), scales = [Float](repeating: 0, count: blocks)
        var scaledSums = [Float](repeating: 0, count: blocks)
        for b in 0..<batch {
            ActivationQuantizer.quantizeRow(x + b * columns, count: columns, codes: &codes, scales: &scales, scaledSums: &scaledSums)
            for o in rows {
                var lanes = SIMD8<Float>(), mins: Float = 0
                for g in 0..<blocks {
                    let block = w + o * rowBytes + g * D.blockBytes
                    let dw = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
                    for j in 0..<8 {
                        var sum: Int32 = 0
                        for i in 4 * j..<4 * j + 4 { sum += Int32(codes[g * 32 + i]) * D.code(block, i) }
                        lanes[j] = lanes[j].addingProduct(Float(sum), dw * scales[g])
                    }
                    if let at = D.minimumOffset {
                        let m = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
                        mins = mins.addingProduct(m, scaledSums[g])
                    }
                }
                y[b * ldy + o] = D.minimumOffset == nil ? Matmul.reduceLanes(lanes) : Matmul.reduceLanes(lanes) + mins
            }
        }
    }
}
