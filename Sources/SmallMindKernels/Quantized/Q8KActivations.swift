// Activation rows quantized to Q8_K for the K-quant integer products (`KQuantIntegerMatmul`),
// by the rule llama.cpp's quantize_row_q8_K_ref applies (and `ActivationRounding.q8_K` writes
// back as floats):
//
//   per super-block of 256:  v = the value of largest magnitude (the first, if several),
//                            iscale = −127 / v,  q = min(127, round_half_even(iscale · x)),
//                            d = 1 / iscale (a float, not rounded to f16); all-zero block: 0s.
//
// Besides codes and d, each block of 32 codes keeps its sum (the Q4_K and Q5_K mins multiply it,
// the regrouped IQ4_XS kernel takes its offset of 128 off with it), and each half of one its own
// (Q2_K's mins multiply them; the regrouped Q6_K and Q3_K kernels take their offsets off). A NaN
// activation gets code 0 (the largest magnitude ignores it) instead of trapping.
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Activation rows in Q8_K form: `codes` (batch × columns int8), `scales` (batch × columns/256),
/// `sums` (batch × columns/32: the sum of each 32 codes), `halfSums` (batch × columns/16: of each 16).
public struct Q8KActivations: @unchecked Sendable {
    // @unchecked: buffers written once, each row by one thread (`quantize`), and only read
    // afterwards (by every thread of a split product), until the owner calls `deallocate()`.
    public let codes: UnsafeMutablePointer<Int8>
    public let scales: UnsafeMutablePointer<Float>
    public let sums: UnsafeMutablePointer<Int32>
    public let halfSums: UnsafeMutablePointer<Int32>
    public let batch: Int
    public let columns: Int

    /// Quantizes `batch` rows of `columns` floats (`columns` a multiple of 256) into storage the
    /// caller owns and frees with `deallocate()`.
    public init(_ x: UnsafePointer<Float>, batch: Int, columns: Int) {
        self.init(batch: batch, columns: columns)
        quantize(x, rows: 0..<batch)
    }

    /// Storage for `batch` rows, to be filled by `quantize` — every row before the codes are read.
    public init(batch: Int, columns: Int) {
        precondition(columns % 256 == 0, "Q8_K activation rows must be whole blocks of 256")
        self.batch = batch
        self.columns = columns
        codes = .allocate(capacity: batch * columns)
        scales = .allocate(capacity: batch * columns / 256)
        sums = .allocate(capacity: batch * columns / 32)
        halfSums = .allocate(capacity: batch * columns / 16)
    }

    /// Quantizes rows `rows` of x (batch × columns). Rows are independent: threads may fill
    /// different ranges at once, and the codes are the same however the rows are split.
    public func quantize(_ x: UnsafePointer<Float>, rows: Range<Int>, path: KernelPath = .selected) {
        switch path {
        case .x86: quantize(X86Intrinsics.self, x, rows)
        case .portable: quantize(PortableSIMD.self, x, rows)
        }
    }

    private func quantize<I: InstructionSet>(_: I.Type, _ x: UnsafePointer<Float>, _ rows: Range<Int>) {
        for b in rows {
            for block in 0..<(columns / 256) {
                let at = b * columns + block * 256
                scales[at / 256] = Self.quantizeBlock(
                    x + at, codes: codes + at, sums: sums + at / 32, halfSums: halfSums + at / 16, I.self)
            }
        }
    }

    public func deallocate() {
        codes.deallocate()
        scales.deallocate()
        sums.deallocate()
        halfSums.deallocate()
    }

    /// Quantizes 256 values; returns d.
    static func quantizeBlock<I: InstructionSet>(
        _ x: UnsafePointer<Float>, codes: UnsafeMutablePointer<Int8>, sums: UnsafeMutablePointer<Int32>,
        halfSums: UnsafeMutablePointer<Int32>, _: I.Type
    ) -> Float {
        let (amax, signed) = largestMagnitude(x, I.self)
        guard amax > 0 else {
            codes.initialize(repeating: 0, count: 256)
            sums.initialize(repeating: 0, count: 8)
            halfSums.initialize(repeating: 0, count: 16)
            return 0
        }
        let iscale = -127 / signed
        quantize(x, iscale, codes: codes, sums: sums, halfSums: halfSums, I.self)
        return 1 / iscale
    }

    /// The largest |x| of the block and the first value that has it (NaNs ignored).
    @inline(__always)
    static func largestMagnitude<I: InstructionSet>(_ x: UnsafePointer<Float>, _: I.Type) -> (Float, Float) {
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            // vmaxps returns its second operand when either is NaN: (|x|, running max) skips NaNs.
            let signBit = _mm256_set1_ps(-0.0)
            var m = _mm256_setzero_ps()
            for k in stride(from: 0, to: 256, by: 8) { m = _mm256_max_ps(_mm256_andnot_ps(signBit, _mm256_loadu_ps(x + k)), m) }
            let lanes = m
            var amax: Float = 0
            for j in 0..<8 where lanes[j] > amax { amax = lanes[j] }
            guard amax > 0 else { return (0, 0) }
            // The first element whose magnitude is amax: equal positive floats have equal bits.
            let target = _mm256_castps_si256(_mm256_set1_ps(amax))
            for k in stride(from: 0, to: 256, by: 8) {
                let magnitudes = _mm256_castps_si256(_mm256_andnot_ps(signBit, _mm256_loadu_ps(x + k)))
                let hits = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(magnitudes, target)))
                if hits != 0 { return (amax, x[k + hits.trailingZeroBitCount]) }
            }
            return (amax, amax)  // not reached: some element has magnitude amax
        }
        #endif
        var amax: Float = 0, signed: Float = 0
        for j in 0..<256 where abs(x[j]) > amax {
            amax = abs(x[j])
            signed = x[j]
        }
        return (amax, signed)
    }

    @inline(__always)
    static func quantize<I: InstructionSet>(
        _ x: UnsafePointer<Float>, _ iscale: Float, codes: UnsafeMutablePointer<Int8>, sums: UnsafeMutablePointer<Int32>,
        halfSums: UnsafeMutablePointer<Int32>, _: I.Type
    ) {
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            let scale = _mm256_set1_ps(iscale), cap = _mm256_set1_epi32(127), invalid = _mm256_set1_epi32(Int32.min)
            let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)
            for g in 0..<8 {
                let p = x + g &* 32
                // vcvtps2dq rounds half to even; NaN (and nothing else here) gives Int32.min → 0.
                @inline(__always) func eight(_ v: __m256) -> __m256i {
                    let q = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(v, scale)), cap)
                    return _mm256_andnot_si256(_mm256_cmpeq_epi32(q, invalid), q)
                }
                let q0 = eight(_mm256_loadu_ps(p)), q1 = eight(_mm256_loadu_ps(p + 8))
                let q2 = eight(_mm256_loadu_ps(p + 16)), q3 = eight(_mm256_loadu_ps(p + 24))
                let first = unsafeBitCast(_mm256_add_epi32(q0, q1), to: SIMD8<Int32>.self).wrappedSum()
                let second = unsafeBitCast(_mm256_add_epi32(q2, q3), to: SIMD8<Int32>.self).wrappedSum()
                halfSums[2 &* g] = first
                halfSums[2 &* g &+ 1] = second
                sums[g] = first &+ second
                // Packing interleaves 128-bit halves; the permutation restores element order.
                let packed = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3))
                UnsafeMutableRawPointer(codes + g &* 32).storeBytes(
                    of: unsafeBitCast(_mm256_permutevar8x32_epi32(packed, order), to: SIMD32<Int8>.self), as: SIMD32<Int8>.self)
            }
            return
        }
        #endif
        for g in 0..<8 {
            var sum: Int32 = 0
            for j in 0..<32 {
                let q = (iscale * x[g * 32 + j]).rounded(.toNearestOrEven)
                let code: Int8 = q.isNaN ? 0 : Int8(min(127, q))
                codes[g * 32 + j] = code
                sum += Int32(code)
                if j == 15 { halfSums[2 * g] = sum }
            }
            sums[g] = sum
            halfSums[2 * g + 1] = sum - halfSums[2 * g]
        }
    }
}
