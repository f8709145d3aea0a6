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
        dot(SIMD8<Float>.self, x, y, count: n)
    }

    /// ggml_vec_dot_f32 (AVX-512): Σ x[k]·y[k].
    public static func dotAVX512(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
        dot(SIMD16<Float>.self, x, y, count: n)
    }

    /// ggml_vec_dot_f16 (AVX2 + F16C) of f16-valued activations `x` (as floats) with an f16 row
    /// `y`: the blocks of 32 in float32 lanes, the rest added in double.
    public static func dot(_ x: UnsafePointer<Float>, half y: UnsafePointer<Float16>, count n: Int) -> Float {
        dot(SIMD8<Float>.self, x, half: y, count: n)
    }

    /// ggml_vec_dot_f16 (AVX-512): the blocks of 64 in float32 lanes, the rest added in double.
    public static func dotAVX512(_ x: UnsafePointer<Float>, half y: UnsafePointer<Float16>, count n: Int) -> Float {
        dot(SIMD16<Float>.self, x, half: y, count: n)
    }

    /// ggml_vec_dot_f32 with `V`'s lanes: four accumulators over blocks of four vectors, reduced
    /// (a0+a2)+(a1+a3) and then `V.sumLanes`; the rest one by one in float, unfused.
    @inline(__always)
    static func dot<V: GGMLFloatVector>(_: V.Type, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
        let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y), bytes = V.scalarCount &* 4
        var a0 = V(), a1 = V(), a2 = V(), a3 = V()
        let blocks = n - n % (4 &* V.scalarCount)
        var k = 0
        while k < blocks {
            let o = k &* 4
            a0 = a0.addingProduct(rx.loadUnaligned(fromByteOffset: o, as: V.self), ry.loadUnaligned(fromByteOffset: o, as: V.self))
            a1 = a1.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ bytes, as: V.self), ry.loadUnaligned(fromByteOffset: o &+ bytes, as: V.self))
            a2 = a2.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 2 &* bytes, as: V.self), ry.loadUnaligned(fromByteOffset: o &+ 2 &* bytes, as: V.self))
            a3 = a3.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 3 &* bytes, as: V.self), ry.loadUnaligned(fromByteOffset: o &+ 3 &* bytes, as: V.self))
            k &+= 4 &* V.scalarCount
        }
        var sum = V.sumLanes((a0 + a2) + (a1 + a3))
        while k < n {
            let product = x[k] * y[k]
            sum += product
            k &+= 1
        }
        return sum
    }

    /// ggml_vec_dot_f16 with `V`'s lanes: as the float32 form, the f16 row widened, the rest added
    /// in double.
    @inline(__always)
    static func dot<V: GGMLFloatVector>(_: V.Type, _ x: UnsafePointer<Float>, half y: UnsafePointer<Float16>, count n: Int) -> Float {
        let rx = UnsafeRawPointer(x), width = V.scalarCount
        var a0 = V(), a1 = V(), a2 = V(), a3 = V()
        let blocks = n - n % (4 &* width)
        var k = 0
        while k < blocks {
            let o = k &* 4
            a0 = a0.addingProduct(rx.loadUnaligned(fromByteOffset: o, as: V.self), V.halves(y, k))
            a1 = a1.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 4 &* width, as: V.self), V.halves(y, k &+ width))
            a2 = a2.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 8 &* width, as: V.self), V.halves(y, k &+ 2 &* width))
            a3 = a3.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 12 &* width, as: V.self), V.halves(y, k &+ 3 &* width))
            k &+= 4 &* width
        }
        var sum = Double(V.sumLanes((a0 + a2) + (a1 + a3)))
        while k < n {
            sum += Double(x[k] * Float(y[k]))
            k &+= 1
        }
        return Float(sum)
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

/// A vector of ggml's float SIMD macros: an AVX2 build's eight lanes or an AVX-512 build's sixteen.
protocol GGMLFloatVector: SIMD where Scalar == Float {
    /// Lanes k ..< k + scalarCount of an f16 row, widened.
    static func halves(_ y: UnsafePointer<Float16>, _ k: Int) -> Self
    /// The lanes' sum in the build's order.
    static func sumLanes(_ v: Self) -> Float
}

extension SIMD8: GGMLFloatVector where Scalar == Float {
    @inline(__always)
    static func halves(_ y: UnsafePointer<Float16>, _ k: Int) -> Self { Half.eight(y, k) }

    /// GGML_F32x8_REDUCE's last steps: the two halves, then the lanes pairwise ((0+1)+(2+3)).
    @inline(__always)
    static func sumLanes(_ v: Self) -> Float {
        let h = v.lowHalf + v.highHalf
        return (h[0] + h[1]) + (h[2] + h[3])
    }
}

extension SIMD16: GGMLFloatVector where Scalar == Float {
    @inline(__always)
    static func halves(_ y: UnsafePointer<Float16>, _ k: Int) -> Self {
        SIMD16(lowHalf: Half.eight(y, k), highHalf: Half.eight(y, k &+ 8))
    }

    /// _mm512_reduce_add_ps as GCC writes it: lanes i and i+8, then j and j+4, then (0+2)+(1+3).
    @inline(__always)
    static func sumLanes(_ v: Self) -> Float {
        let eight = v.lowHalf + v.highHalf
        let four = eight.lowHalf + eight.highHalf
        return (four[0] + four[2]) + (four[1] + four[3])
    }
}
