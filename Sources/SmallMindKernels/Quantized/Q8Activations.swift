// Activation rows quantized to Q8_0 codes for the integer products with Q8_0 and Q4_0 weights
// (`IntegerMatmul`), exactly as llama.cpp's quantize_row_q8_0 (x86) quantizes them — the rule
// `ActivationRounding.q8_0` writes back as floats:
//
//   per block of 32:  amax = max |x|,  d = f16(amax / 127),  q = round_half_even(x · (127 / amax))
//
// (the inverse computed on its own, not as 1/d; an all-zero block gets d = 0 and q = 0). |q| never
// exceeds 127: x · (127/amax) ≤ 127 · (1 + 2⁻²³) rounds to 127. Where 127/amax overflows
// (amax < 4e-37, subnormal activations) q = 0 — ggml's codes there are garbage, d is 0 anyway.
// Each row is quantized on its own, so a row's codes do not depend on the batch around it.
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Activation rows quantized to Q8_0 for the integer kernels: `codes` (batch × columns int8, in
/// element order), `scales` (batch × columns/32, each an f16 value held as Float), `sums`
/// (batch × columns/32: each block's 32 codes added, which the interleaved kernels need) and
/// `scaledSums` (batch × columns/32: f16(amax/127 · sum), llama.cpp's block_q8_1.s — the same
/// codes and scale are its Q8_1 — which Q4_1/Q5_1 weights multiply by their minimum).
public struct Q8Activations: @unchecked Sendable {
    // @unchecked: buffers written once, each row by one thread (`quantize`), and only read
    // afterwards (by every thread of a split product), until the owner calls `deallocate()`.
    public let codes: UnsafeMutablePointer<Int8>
    public let scales: UnsafeMutablePointer<Float>
    public let sums: UnsafeMutablePointer<Int32>
    public let scaledSums: UnsafeMutablePointer<Float>
    public let batch: Int
    public let columns: Int

    /// Quantizes `batch` rows of `columns` floats (`columns` a multiple of 32) into storage the
    /// caller owns and frees with `deallocate()`.
    public init(_ x: UnsafePointer<Float>, batch: Int, columns: Int) {
        self.init(batch: batch, columns: columns)
        quantize(x, rows: 0..<batch)
    }

    /// Storage for `batch` rows, to be filled by `quantize` — every row before the codes are read.
    public init(batch: Int, columns: Int) {
        precondition(columns % 32 == 0, "Q8_0 activation rows must be whole blocks of 32")
        self.batch = batch
        self.columns = columns
        codes = .allocate(capacity: batch * columns)
        scales = .allocate(capacity: batch * columns / 32)
        sums = .allocate(capacity: batch * columns / 32)
        scaledSums = .allocate(capacity: batch * columns / 32)
    }

    /// Quantizes rows `rows` of x (batch × columns). Rows are independent: threads may fill
    /// different ranges at once, and the codes are the same however the rows are split (and
    /// whichever `path`).
    public func quantize(_ x: UnsafePointer<Float>, rows: Range<Int>, path: KernelPath = .selected) {
        switch path {
        case .x86: quantize(X86Intrinsics.self, x, rows)
        case .portable: quantize(PortableSIMD.self, x, rows)
        }
    }

    private func quantize<I: InstructionSet>(_: I.Type, _ x: UnsafePointer<Float>, _ rows: Range<Int>) {
        for b in rows {
            let blocks = b * columns / 32
            ActivationQuantizer.quantizeRowFast(
                x + b * columns, count: columns, codes: codes + b * columns, scales: scales + blocks, sums: sums + blocks,
                scaledSums: scaledSums + blocks, I.self)
        }
    }

    public func deallocate() {
        codes.deallocate()
        scales.deallocate()
        sums.deallocate()
        scaledSums.deallocate()
    }
}

/// llama.cpp's Q8_0 quantization of activation rows.
enum ActivationQuantizer {
    /// Codes of `x[0..<count]` in natural order (element i of block g at g·32 + i) and one scale
    /// per block of 32; with `scaledSums`, also each block's f16(amax/127 · Σ codes)
    /// (quantize_row_q8_1's s: the float d before its rounding to f16, times the sum).
    static func quantizeRow<Code: FixedWidthInteger>(
        _ x: UnsafePointer<Float>, count: Int, codes: UnsafeMutablePointer<Code>, scales: UnsafeMutablePointer<Float>,
        scaledSums: UnsafeMutablePointer<Float>? = nil
    ) {
        for g in 0..<(count / 32) {
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(x[g * 32 + j])) }
            scales[g] = Float(Float16(amax / 127))
            let inverse: Float = amax != 0 ? 127 / amax : 0
            var sum = 0
            for j in 0..<32 {
                // Only when 127 / amax overflows (amax < 4e-37) is the product not finite.
                let q = (x[g * 32 + j] * inverse).rounded(.toNearestOrEven)
                codes[g * 32 + j] = q.isFinite ? Code(q) : 0
                sum += Int(codes[g * 32 + j])
            }
            scaledSums?[g] = Float(Float16(amax / 127 * Float(sum)))
        }
    }

    /// `quantizeRow` into int8 codes — the same codes and scales (a test holds them equal), eight
    /// lanes at a time on x86 — plus each block's sum of codes. The largest magnitude is
    /// order-free; the product and the rounding (vcvtps2dq rounds half to even) are per element,
    /// as in the scalar form.
    static func quantizeRowFast<I: InstructionSet>(
        _ x: UnsafePointer<Float>, count: Int, codes: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>,
        sums: UnsafeMutablePointer<Int32>, scaledSums: UnsafeMutablePointer<Float>, _: I.Type
    ) {
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            // Written with intrinsics, not SIMD8 methods: pointwiseMax and float-to-integer vector
            // conversions are generic in the standard library and ran element by element, out of line.
            let signBit = _mm256_set1_ps(-0.0), invalid = _mm256_set1_epi32(Int32.min)
            let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)
            for g in 0..<(count / 32) {
                let p = x + g &* 32
                let v0 = _mm256_loadu_ps(p), v1 = _mm256_loadu_ps(p + 8), v2 = _mm256_loadu_ps(p + 16), v3 = _mm256_loadu_ps(p + 24)
                let m = _mm256_max_ps(
                    _mm256_max_ps(_mm256_andnot_ps(signBit, v0), _mm256_andnot_ps(signBit, v1)),
                    _mm256_max_ps(_mm256_andnot_ps(signBit, v2), _mm256_andnot_ps(signBit, v3)))
                // The largest of the eight lanes by halving (the maximum is order-free): the element
                // loop this replaces was a chain of eight dependent maxss, a third of the row's time.
                let m4 = _mm_max_ps(m.lowHalf, m.highHalf)
                let m2 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4))
                let amax = _mm_cvtss_f32(_mm_max_ss(m2, _mm_movehdup_ps(m2)))
                scales[g] = Float(Float16(amax / 127))
                let inverse: Float = amax != 0 ? 127 / amax : 0
                // Where 127 / amax overflows, every product is ±∞ or NaN, which the scalar form turns
                // into 0; so does a NaN activation. vcvtps2dq gives Int32.min for both: masked to 0.
                let scale = _mm256_set1_ps(inverse)
                @inline(__always) func eight(_ v: __m256) -> __m256i {
                    let q = _mm256_cvtps_epi32(_mm256_mul_ps(v, scale))
                    return _mm256_andnot_si256(_mm256_cmpeq_epi32(q, invalid), q)
                }
                // packs interleave 128-bit halves: [0-3 8-11 16-19 24-27 | 4-7 12-15 20-23 28-31] as
                // four-byte groups; the permutation puts them back in element order.
                let packed = _mm256_packs_epi16(_mm256_packs_epi32(eight(v0), eight(v1)), _mm256_packs_epi32(eight(v2), eight(v3)))
                let ordered = _mm256_permutevar8x32_epi32(packed, order)
                UnsafeMutableRawPointer(codes + g &* 32).storeBytes(of: unsafeBitCast(ordered, to: SIMD32<Int8>.self), as: SIMD32<Int8>.self)
                // The sum: codes + 128 as unsigned bytes, summed in four 64-bit lanes by vpsadbw.
                let sad = _mm256_sad_epu8(_mm256_xor_si256(ordered, _mm256_set1_epi8(-128)), _mm256_setzero_si256())
                sums[g] = Int32(truncatingIfNeeded: (sad[0] &+ sad[1]) &+ (sad[2] &+ sad[3])) &- 32 &* 128
                scaledSums[g] = Float(Float16(amax / 127 * Float(sums[g])))
            }
            return
        }
        #endif
        quantizeRow(x, count: count, codes: codes, scales: scales, scaledSums: scaledSums)
        for g in 0..<(count / 32) {
            sums[g] = (0..<32).reduce(0) { $0 + Int32(codes[g * 32 + $1]) }
        }
    }
}
