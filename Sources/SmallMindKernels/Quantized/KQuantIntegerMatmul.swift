// K-quant (Q4_K, Q5_K, Q6_K, Q3_K, Q2_K) and IQ4_XS weights times activations quantized to Q8_K
// (`Q8KActivations`), in integers — the runtime's arithmetic for these formats, after llama.cpp's
// (which also quantizes the activations to Q8_K and multiplies in integers). This scalar form
// defines the order and is the naive twin of the vectorised kernel (`KQuantIntegerKernels`),
// which equals it bit for bit.
//
// Order, for activation row b (codes q_x, super-block scales d_x, sums Σq_x of each 32 and each 16
// codes) and weight row o. For each super-block, ascending, with v the weight's integer value and
// sc its sub-block's integer scale, the exact integers
//
//   s_j = Σ sc·v·q_x    over the elements i with (i mod 32) / 4 = j   (j < 8)
//   m   = Σ over sub-blocks:  min · Σq_x                              (formats with mins)
//
//   Q4_K:   v = the nibble,               sc, min 6-bit per 32
//   Q5_K:   v = nibble + 16·bit,          sc, min 6-bit per 32
//   Q6_K:   v = 6-bit code − 32,          sc signed 8-bit per 16
//   Q3_K:   v = q2 + 4·bit − 4,           sc = 6-bit − 32 per 16
//   Q2_K:   v = the 2-bit code,           sc, min 4-bit per 16
//   IQ4_XS: v = the table level (±127),   sc = 6-bit − 32 per 32
//
// (lane j gets the products 4j ..< 4j + 4 of every 32 — what vpmaddubsw then vpmaddwd give) are
// fused into a float accumulator lane by lane and, with mins, into a scalar for them:
//
//   acc_j = fma(Float(s_j), d_w·d_x, acc_j)       accMin = fma(Float(m), dmin_w·d_x, accMin)
//
// and the result is reduceLanes(acc) − accMin (`Matmul.reduceLanes`'s tree). Every s_j fits in
// an Int32 (the largest, Q6_K: 32 products of at most 128·32·127 per lane and super-block).
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
                    let halfSums = a.halfSums + b * columns / 16 + sb * 16
                    let block = w + o * rowBytes + sb * format.blockBytes
                    var lanes = SIMD8<Int32>()
                    for i in 0..<256 {
                        let (value, scale) = valueAndScale(format, block, i)
                        lanes[(i % 32) / 4] += scale * value * Int32(codes[i])
                    }
                    let (d, mins) = scalesAndMins(format, block)
                    acc = acc.addingProduct(SIMD8<Float>(lanes), SIMD8(repeating: d * dx))
                    if let (perElements, dmin, minOf) = mins {
                        var m: Int32 = 0
                        for s in 0..<(256 / perElements) {
                            let codeSum = perElements == 32 ? sums[s] : halfSums[s]
                            m += minOf(s) * codeSum
                        }
                        accMin = accMin.addingProduct(Float(m), dmin * dx)
                    }
                }
                y[b * ldy + o] = Matmul.reduceLanes(acc) - accMin
            }
        }
    }

    /// Element i's integer value and its sub-block's integer scale (layouts in each format's file).
    static func valueAndScale(_ format: BlockFormat, _ block: UnsafeRawPointer, _ i: Int) -> (Int32, Int32) {
        switch format {
        case .q4_K: return (q4KCode(block, i), Int32(Q4KDecoder.scaleMin(i / 32, block + 4).scale))
        case .q5_K: return (Q5KDecoder.code(block, i), Int32(Q4KDecoder.scaleMin(i / 32, block + 4).scale))
        case .q6_K:
            let (u, scale) = q6KCodeAndScale(block, i)
            return (u - 32, scale)
        case .q3_K: return (Q3KDecoder.code(block, i) - 4, Q3KDecoder.scale(i / 16, block))
        case .q2_K: return (Q2KDecoder.code(block, i), Int32(block.load(fromByteOffset: i / 16, as: UInt8.self) & 0xF))
        case .iq4_xs: return (IQ4XSDecoder.value(block, i), IQ4XSDecoder.scale(i / 32, block))
        case .f16, .bf16, .q8_0, .q4_0, .q5_0, .q4_1, .q5_1, .iq4_nl: preconditionFailure("\(format) is not a K-quant")
        }
    }

    /// The super-block's d and, for formats with mins: the elements per min, dmin and min s.
    static func scalesAndMins(_ format: BlockFormat, _ block: UnsafeRawPointer) -> (Float, (Int, Float, (Int) -> Int32)?) {
        switch format {
        case .q4_K, .q5_K:
            return (halfValue(block, 0), (32, halfValue(block, 2), { Int32(Q4KDecoder.scaleMin($0, block + 4).min) }))
        case .q2_K:
            return (halfValue(block, 80), (16, halfValue(block, 82), { Int32(block.load(fromByteOffset: $0, as: UInt8.self) >> 4) }))
        case .q6_K: return (halfValue(block, 208), nil)
        case .q3_K: return (halfValue(block, 108), nil)
        case .iq4_xs: return (halfValue(block, 0), nil)
        case .f16, .bf16, .q8_0, .q4_0, .q5_0, .q4_1, .q5_1, .iq4_nl: preconditionFailure("\(format) is not a K-quant")
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
