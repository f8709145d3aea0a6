// ggml's CPU matrix product for float32 and f16 weights: which kernel runs, and the summation
// order of each.
//
// ggml_compute_forward_mul_mat first offers the product to llamafile_sgemm (tinyBLAS). tinyBLAS
// takes it when the activations have at least two rows (n ≥ 2, "only enable sgemm for prompt
// processing"), the inner dimension is a multiple of its vector width (k % 8 = 0 on AVX2) and the
// weight rows a multiple of 4. Its order per element: eight lanes, lane j summing k ≡ j (mod 8)
// with fused multiply-adds, then the lanes summed ((0+4)+(2+6))+((1+5)+(3+7)) — exactly this
// runtime's canonical order (`Matmul.dot`, `BlockFormat.multiply`). Otherwise ggml calls
// ggml_vec_dot_f32 / ggml_vec_dot_f16 per element: four 8-lane accumulators over blocks of 32
// (element k in accumulator (k/8) mod 4, lane k mod 8), reduced a0+a2, a1+a3, then those two, then
// the lanes (0+4, 1+5, …) in pairs ((0+1)+(2+3)); then the elements past the last block one by one
// — in float without fusing for f32, in double for f16. That is an AVX2 build's order. Built with
// -march=native on an AVX-512 processor, ggml uses 16-lane vectors instead (`dotAVX512`): four
// accumulators over blocks of 64, the same pairing of accumulators, then GCC's
// _mm512_reduce_add_ps (lanes i and i+8, j and j+4, then (0+2)+(1+3)). tinyBLAS too is 16 lanes
// wide there; that form is not reproduced (`ForwardArithmetic.llamaCppAVX512`).
//
// f16 weights multiply f16 activations (ggml rounds them first: `ActivationRounding.f16`); both
// kernels here take the activations already rounded, as floats. f16 × f16 products are exact in
// float32, so only the order of the sums matters.

extension GGML {
    /// Whether ggml hands a product of `batch` activation rows with a (`rows`, `columns`) f32 or
    /// f16 weight matrix to tinyBLAS (the canonical order) rather than to ggml_vec_dot.
    public static func usesTinyBLAS(batch: Int, rows: Int, columns: Int) -> Bool {
        batch >= 2 && columns % 8 == 0 && rows % 4 == 0
    }

    /// ggml_vec_dot_f32 (AVX2): Σ x[k]·y[k].
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
        let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        let blocks = n & ~31
        var k = 0
        while k < blocks {
            let o = k &* 4
            a0 = a0.addingProduct(rx.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), ry.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self))
            a1 = a1.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self), ry.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self))
            a2 = a2.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self), ry.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self))
            a3 = a3.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self), ry.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self))
            k &+= 32
        }
        var sum = reduce(a0, a1, a2, a3)
        while k < n {
            let product = x[k] * y[k]
            sum += product
            k &+= 1
        }
        return sum
    }

    /// ggml_vec_dot_f16 (AVX2 + F16C) of f16-valued activations `x` (as floats) with an f16 row
    /// `y`: the blocks of 32 in float32 lanes, the rest added in double.
    public static func dot(_ x: UnsafePointer<Float>, half y: UnsafePointer<Float16>, count n: Int) -> Float {
        let rx = UnsafeRawPointer(x)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        let blocks = n & ~31
        var k = 0
        while k < blocks {
            let o = k &* 4
            a0 = a0.addingProduct(rx.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), Half.eight(y, k))
            a1 = a1.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self), Half.eight(y, k &+ 8))
            a2 = a2.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self), Half.eight(y, k &+ 16))
            a3 = a3.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self), Half.eight(y, k &+ 24))
            k &+= 32
        }
        var sum = Double(reduce(a0, a1, a2, a3))
        while k < n {
            sum += Double(x[k] * Float(y[k]))
            k &+= 1
        }
        return Float(sum)
    }

    /// GGML_F32x8_REDUCE: (a0+a2)+(a1+a3), then the two halves, then the lanes pairwise.
    @inline(__always)
    static func reduce(_ a0: SIMD8<Float>, _ a1: SIMD8<Float>, _ a2: SIMD8<Float>, _ a3: SIMD8<Float>) -> Float {
        let v = (a0 + a2) + (a1 + a3)
        let h = v.lowHalf + v.highHalf
        return (h[0] + h[1]) + (h[2] + h[3])
    }

    /// ggml_vec_dot_f32 (AVX-512): Σ x[k]·y[k].
    public static func dotAVX512(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
        let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        let blocks = n & ~63
        var k = 0
        while k < blocks {
            let o = k &* 4
            a0 = a0.addingProduct(rx.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), ry.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
            a1 = a1.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self), ry.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self))
            a2 = a2.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 128, as: SIMD16<Float>.self), ry.loadUnaligned(fromByteOffset: o &+ 128, as: SIMD16<Float>.self))
            a3 = a3.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 192, as: SIMD16<Float>.self), ry.loadUnaligned(fromByteOffset: o &+ 192, as: SIMD16<Float>.self))
            k &+= 64
        }
        var sum = reduce(a0, a1, a2, a3)
        while k < n {
            let product = x[k] * y[k]
            sum += product
            k &+= 1
        }
        return sum
    }

    /// ggml_vec_dot_f16 (AVX-512) of f16-valued activations `x` (as floats) with an f16 row `y`:
    /// the blocks of 64 in float32 lanes, the rest added in double.
    public static func dotAVX512(_ x: UnsafePointer<Float>, half y: UnsafePointer<Float16>, count n: Int) -> Float {
        let rx = UnsafeRawPointer(x)
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        let blocks = n & ~63
        var k = 0
        while k < blocks {
            let o = k &* 4
            a0 = a0.addingProduct(rx.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), sixteen(y, k))
            a1 = a1.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self), sixteen(y, k &+ 16))
            a2 = a2.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 128, as: SIMD16<Float>.self), sixteen(y, k &+ 32))
            a3 = a3.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 192, as: SIMD16<Float>.self), sixteen(y, k &+ 48))
            k &+= 64
        }
        var sum = Double(reduce(a0, a1, a2, a3))
        while k < n {
            sum += Double(x[k] * Float(y[k]))
            k &+= 1
        }
        return Float(sum)
    }

    @inline(__always)
    static func sixteen(_ y: UnsafePointer<Float16>, _ k: Int) -> SIMD16<Float> {
        SIMD16(lowHalf: Half.eight(y, k), highHalf: Half.eight(y, k &+ 8))
    }

    /// GGML_F32x16_REDUCE: (a0+a2)+(a1+a3), then _mm512_reduce_add_ps as GCC writes it — lanes
    /// i and i+8, then j and j+4, then (0+2)+(1+3).
    @inline(__always)
    static func reduce(_ a0: SIMD16<Float>, _ a1: SIMD16<Float>, _ a2: SIMD16<Float>, _ a3: SIMD16<Float>) -> Float {
        let v = (a0 + a2) + (a1 + a3)
        let eight = v.lowHalf + v.highHalf
        let four = eight.lowHalf + eight.highHalf
        return (four[0] + four[2]) + (four[1] + four[3])
    }

    /// y[b, o] = ggml_vec_dot of activation row b with weight row o, o in `rows`: x is (batch,
    /// columns), y has row stride `yStride`; `w` holds float32 rows (`half` false) or f16 rows;
    /// `avx512`: in an AVX-512 build's order.
    public static func multiplyByRows(
        x: UnsafePointer<Float>, w: UnsafeRawPointer, half: Bool, y: UnsafeMutablePointer<Float>,
        batch: Int, columns: Int, yStride: Int, rows: Range<Int>, avx512: Bool = false
    ) {
        let rowBytes = columns * (half ? 2 : 4)
        for o in rows {
            let row = w + o * rowBytes
            for b in 0..<batch {
                let xb = x + b * columns
                y[b * yStride + o] = switch (half, avx512) {
                case (true, false): dot(xb, half: row.assumingMemoryBound(to: Float16.self), count: columns)
                case (true, true): dotAVX512(xb, half: row.assumingMemoryBound(to: Float16.self), count: columns)
                case (false, false): dot(xb, row.assumingMemoryBound(to: Float.self), count: columns)
                case (false, true): dotAVX512(xb, row.assumingMemoryBound(to: Float.self), count: columns)
                }
            }
        }
    }
}
