// Q4_K and Q6_K weights times activations quantized to Q8_K (`Q8KActivations`), in integers — the
// runtime's arithmetic for the K-quants, after llama.cpp's (which also quantizes the activations
// to Q8_K and multiplies in integers). This scalar form defines the order and is the naive twin
// of the vectorised kernel (`KQuantIntegerKernels`), which equals it bit for bit.
//
// Order, for activation row b (codes q_x, super-block scales d_x, 32-code sums Σq_x) and weight
// row o. For each super-block, ascending, with u the weight's unsigned code (Q4_K: the nibble;
// Q6_K: the 6-bit value) and sc its sub-block's integer scale, the exact integers
//
//   Q4_K:  s_j = Σ sc·u·q_x            over the elements i with (i mod 32) / 4 = j   (j < 8)
//          m   = Σ over sub-blocks of 32:  min · Σq_x
//   Q6_K:  s_j = Σ sc·(u − 32)·q_x     over the same elements
//
// (lane j gets the products 4j ..< 4j + 4 of every 32 — what vpmaddubsw then vpmaddwd give) are
// fused into a float accumulator lane by lane and, for Q4_K, into a scalar for the mins:
//
//   acc_j = fma(Float(s_j), d_w·d_x, acc_j)       accMin = fma(Float(m), dmin_w·d_x, accMin)
//
// and the result is reduceLanes(acc) − accMin (`Matmul.reduceLanes`'s tree). Every s_j fits in
// an Int32 (Q6_K: 32 products of at most 128·32·127 per lane and super-block).
//
// llama.cpp sums the same integers per super-block; its float steps differ slightly (it keeps the
// mins term in four lanes), so results agree with it to float rounding, not bit for bit.

enum KQuantIntegerMatmul {
    static func multiply(
        _ format: BlockFormat, _ x: UnsafePointer<Float>, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ batch: Int, _ columns: Int, _ ldy: Int, _ rows: Range<Int>
    ) {
        let a = Q8KActivations(x, batch: batch, columns: columns)
        defer { a.deallocate() }
        let superBlocks = columns / 256
        for b in 0..<batch {
            for o in rows {
                var acc = SIMD8<Float>(), accMin: Float = 0
                for sb in 0..<superBlocks {
                    let dx = a.scales[b * superBlocks + sb]
                    let codes = a.codes + b * columns + sb * 256, sums = a.sums + b * columns / 32 + sb * 8
                    var lanes = SIMD8<Int32>()
                    switch format {
                    case .q4_K:
                        let block = w + o * rowBytes + sb * 144
                        var mins: Int32 = 0
                        for i in 0..<256 {
                            let (sc, _) = Q4KDecoder.scaleMin(i / 32, block + 4)
                            lanes[(i % 32) / 4] += Int32(sc) * q4KCode(block, i) * Int32(codes[i])
                        }
                        for s in 0..<8 { mins += Int32(Q4KDecoder.scaleMin(s, block + 4).min) * sums[s] }
                        acc = acc.addingProduct(SIMD8<Float>(lanes), SIMD8(repeating: halfValue(block, 0) * dx))
                        accMin = accMin.addingProduct(Float(mins), halfValue(block, 2) * dx)
                    case .q6_K:
                        let block = w + o * rowBytes + sb * 210
                        for i in 0..<256 {
                            let (u, sc) = q6KCodeAndScale(block, i)
                            lanes[(i % 32) / 4] += sc * (u - 32) * Int32(codes[i])
                        }
                        acc = acc.addingProduct(SIMD8<Float>(lanes), SIMD8(repeating: halfValue(block, 208) * dx))
                    default:
                        preconditionFailure("\(format) is not a K-quant")
                    }
                }
                y[b * ldy + o] = Matmul.reduceLanes(acc) - accMin
            }
        }
    }

    static func halfValue(_ block: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Element i's nibble: bytes 32c ..< 32c + 32 of qs hold elements 64c ..< 64c + 32 in their
    /// low nibbles, 64c + 32 ..< 64c + 64 in their high ones.
    static func q4KCode(_ block: UnsafeRawPointer, _ i: Int) -> Int32 {
        let byte = block.load(fromByteOffset: 16 + 32 * (i / 64) + i % 32, as: UInt8.self)
        return Int32(i % 64 < 32 ? byte & 0x0F : byte >> 4)
    }

    /// Element i's 6-bit value and its sub-block's scale (layout in Q6K.swift).
    static func q6KCodeAndScale(_ block: UnsafeRawPointer, _ i: Int) -> (Int32, Int32) {
        let n = i / 128, t = (i % 128) / 32, l = i % 32
        let low = block.load(fromByteOffset: 64 * n + 32 * (t & 1) + l, as: UInt8.self) >> (4 * (t >> 1)) & 0x0F
        let high = (block.load(fromByteOffset: 128 + 32 * n + l, as: UInt8.self) >> (2 * t)) & 3
        let scale = block.load(fromByteOffset: 192 + 8 * n + 2 * t + l / 16, as: Int8.self)
        return (Int32(low | high << 4), Int32(scale))
    }
}
