// llama.cpp's CPU arithmetic, reproduced operation by operation: the parity mode behind
// `ForwardArithmetic.llamaCpp`, for comparing with llama.cpp's own outputs.
//
// Why: llama.cpp rounds where this runtime does not (an f16 KV cache, queries and an attention
// accumulator in f16, activations in f16 before f16 weights, GELU through an f16 table) and sums in
// other orders. Each rounding is small (2⁻¹¹ relative), but a value that lands on the other side of
// an f16 rounding boundary moves log-probabilities by up to ~10⁻² on small random-weight models.
// Reproducing only the roundings leaves those flips; reproducing the float32 arithmetic around
// them as well (summation orders, fused multiply-adds, ggml's exp) removes them: against
// ../shared/golden/llamacpp.json the five unquantized models then agree to the golden file's
// printed precision (see LlamaCppGoldenTests).
//
// What is reproduced is the x86-64 AVX2 + FMA + F16C build (ggml/src/ggml-cpu: vec.h, vec.cpp,
// ops.cpp, simd-mappings.h, llamafile/sgemm.cpp), with the compiler's contraction of `a*b + c` into
// a fused multiply-add where the golden file shows it (RoPE, the flash-attention sum and f16
// accumulator, the GELU table; not in ggml_vec_dot_f32's scalar tail — each choice was the one
// that removed the remaining differences). Each function names the ggml code it follows.
// Other builds (AVX-512, ARM NEON) sum in other orders and would need their own emulation.
//
// These functions are references, not fast paths: most are scalar, and their results depend on
// what llama.cpp's depend on — including, for matrix products, how many rows the product has
// (`GGML.usesTinyBLAS`), so a model run in this mode is not batch-invariant, exactly as llama.cpp
// is not.
import Foundation

/// Emulations of ggml's CPU (AVX2) arithmetic. See the top of this file.
public enum GGML {
    // MARK: - Element-wise

    /// ggml_v_expf (AVX2 + FMA), ARM's optimized-routines exp: e^x to ~1.5 ulp, rounding exactly
    /// as ggml's does (so softmax and SiLU weights match bit for bit).
    @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let r = SIMD8<Float>(repeating: 0x1.8p23)
        let z = r.addingProduct(x, SIMD8(repeating: 0x1.715476p+0))
        let n = z - r
        let b = x.addingProduct(-n, SIMD8(repeating: 0x1.62e4p-1)).addingProduct(-n, SIMD8(repeating: 0x1.7f7d1cp-20))
        let e = unsafeBitCast(z, to: SIMD8<UInt32>.self) &<< 23
        let k = unsafeBitCast(e &+ unsafeBitCast(SIMD8<Float>(repeating: 1), to: SIMD8<UInt32>.self), to: SIMD8<Float>.self)
        let absN = unsafeBitCast(unsafeBitCast(n, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
        let u = b * b
        let p1 = SIMD8<Float>(repeating: 0x1.573e2ep-5).addingProduct(SIMD8(repeating: 0x1.0e4020p-7), b)
        let p2 = SIMD8<Float>(repeating: 0x1.fffdb6p-2).addingProduct(SIMD8(repeating: 0x1.555e66p-3), b)
        let j = (SIMD8<Float>(repeating: 0x1.ffffecp-1) * b).addingProduct(p2.addingProduct(p1, u), u)
        var result = k.addingProduct(j, k)
        let large = absN .> 126
        guard any(large) else { return result }
        // |n| > 126: 2ⁿ does not fit one exponent field; scale in two steps (s1, s2) or saturate.
        for lane in 0..<8 where large[lane] {
            let g: UInt32 = n[lane] <= 0 ? 0x8200_0000 : 0
            let s1 = Float(bitPattern: g &+ 0x7F00_0000)
            let s2 = Float(bitPattern: e[lane] &- g)
            result[lane] = absN[lane] > 192 ? s1 * s1 : s2.addingProduct(s2, j[lane]) * s1
        }
        return result
    }

    /// ggml_v_expf as an AVX-512 build has it: the same reduction and polynomial, but the 1 folded
    /// into the polynomial's last FMA and the result scaled by 2ⁿ (vscalefps) — not k·j + k.
    @inline(__always)
    public static func expAVX512(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let r = SIMD16<Float>(repeating: 0x1.8p23)
        let n = r.addingProduct(x, SIMD16(repeating: 0x1.715476p+0)) - r
        let b = x.addingProduct(-n, SIMD16(repeating: 0x1.62e4p-1)).addingProduct(-n, SIMD16(repeating: 0x1.7f7d1cp-20))
        let u = b * b
        let p1 = SIMD16<Float>(repeating: 0x1.573e2ep-5).addingProduct(SIMD16(repeating: 0x1.0e4020p-7), b)
        let p2 = SIMD16<Float>(repeating: 0x1.fffdb6p-2).addingProduct(SIMD16(repeating: 0x1.555e66p-3), b)
        let p3 = SIMD16<Float>(repeating: 1).addingProduct(SIMD16(repeating: 0x1.ffffecp-1), b)
        let j = p3.addingProduct(p2.addingProduct(p1, u), u)
        var result = SIMD16<Float>()
        for lane in 0..<16 {
            // |n| > 192 saturates: 0 below, infinity above.
            result[lane] = abs(n[lane]) > 192 ? (n[lane] <= 0 ? 0 : .infinity)
                : Float(sign: .plus, exponent: Int(n[lane]), significand: j[lane])
        }
        return result
    }

    /// ggml_vec_swiglu_f32 in place: gate = silu(gate) · up, silu(v) = v / (1 + e^{−v}) with
    /// `GGML.exp` for each group of eight and libm's expf for the rest (as ggml's scalar tail);
    /// `avx512`: as a build for AVX-512 processors, `GGML.expAVX512` for each group of sixteen.
    public static func swiglu(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int, avx512: Bool = false) {
        let g = UnsafeMutableRawPointer(gate), u = UnsafeRawPointer(up)
        var i = 0
        while avx512 && i + 16 <= count {
            let v = g.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            let w = u.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            g.storeBytes(of: v / (1 + expAVX512(SIMD16<Float>() - v)) * w, toByteOffset: i &* 4, as: SIMD16<Float>.self)
            i &+= 16
        }
        while !avx512 && i + 8 <= count {
            let v = g.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            let w = u.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            g.storeBytes(of: v / (1 + exp(SIMD8<Float>() - v)) * w, toByteOffset: i &* 4, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count {
            let v = gate[i]
            gate[i] = v / (1 + Foundation.expf(-v)) * up[i]
            i &+= 1
        }
    }

    /// ggml_vec_gelu_f32 as built (GGML_GELU_FP16): x ≤ −10 → 0, x ≥ 10 → x, otherwise a lookup in
    /// a table of f16 results indexed by x rounded to f16 — so both the input and the output of
    /// GELU are f16. The table entry is ggml_gelu_f32 (tanh form) with its `1 + a·x·x` fused.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let sqrtTwoOverPi: Float = 0.79788456080286535587989211986876
        let a: Float = 0.044715
        for i in 0..<count {
            let v = x[i]
            if v <= -10 {
                x[i] = 0
            } else if v < 10 {
                let h = Float(Float16(v))
                let y = 0.5 * h * (1 + tanhf(sqrtTwoOverPi * h * Float(1).addingProduct(a * h, h)))
                x[i] = Float(Float16(y))
            }
        }
    }

    // MARK: - Normalisation

    /// ggml_rms_norm then ggml_mul: the sum of squares in double, mean = Float(sum / n),
    /// out = x · (1/√(mean + ε)) · weight.
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        count: Int, epsilon: Float
    ) {
        var sum: Double = 0
        for i in 0..<count { sum += Double(x[i] * x[i]) }
        let mean = Float(sum / Double(count))
        let scale = 1 / (mean + epsilon).squareRoot()
        for i in 0..<count { out[i] = x[i] * scale * weight[i] }
    }

    /// ggml_norm then ggml_mul and ggml_add: the mean from a double sum (ggml_vec_sum_f32), the
    /// variance from ggml_vec_cvar_f32 (AVX2: groups of 32 into four 8-lane FMA accumulators,
    /// reduced (a0+a1)+(a2+a3) then across lanes, added in double; the rest one by one in double).
    public static func layerNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        out: UnsafeMutablePointer<Float>, count n: Int, epsilon: Float
    ) {
        var total: Double = 0
        for i in 0..<n { total += Double(x[i]) }
        let mean = Float(total) / Float(n)
        var sum: Double = 0
        var i = 0
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        let raw = UnsafeRawPointer(x), rawOut = UnsafeMutableRawPointer(out)
        let m = SIMD8<Float>(repeating: mean)
        while i + 32 <= n {
            let v0 = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self) - m
            let v1 = raw.loadUnaligned(fromByteOffset: (i &+ 8) &* 4, as: SIMD8<Float>.self) - m
            let v2 = raw.loadUnaligned(fromByteOffset: (i &+ 16) &* 4, as: SIMD8<Float>.self) - m
            let v3 = raw.loadUnaligned(fromByteOffset: (i &+ 24) &* 4, as: SIMD8<Float>.self) - m
            rawOut.storeBytes(of: v0, toByteOffset: i &* 4, as: SIMD8<Float>.self)
            rawOut.storeBytes(of: v1, toByteOffset: (i &+ 8) &* 4, as: SIMD8<Float>.self)
            rawOut.storeBytes(of: v2, toByteOffset: (i &+ 16) &* 4, as: SIMD8<Float>.self)
            rawOut.storeBytes(of: v3, toByteOffset: (i &+ 24) &* 4, as: SIMD8<Float>.self)
            a0 = a0.addingProduct(v0, v0)
            a1 = a1.addingProduct(v1, v1)
            a2 = a2.addingProduct(v2, v2)
            a3 = a3.addingProduct(v3, v3)
            i &+= 32
        }
        if i > 0 { sum += Double(Matmul.reduceLanes((a0 + a1) + (a2 + a3))) }
        while i < n {
            let v = x[i] - mean
            out[i] = v
            sum += Double(v * v)
            i &+= 1
        }
        let variance = Float(sum / Double(n))
        let scale = 1 / (variance + epsilon).squareRoot()
        for i in 0..<n {
            let y = out[i] * scale * weight[i]
            out[i] = bias.map { y + $0[i] } ?? y
        }
    }

    // MARK: - Rotary positions

    /// ggml_rope_ext, modes NORMAL (adjacent pairs) and NEOX (halves), no scaling: the angle of
    /// pair j is position · s^j built by repeated multiplication, s = powf(base, −2/r)
    /// (ggml_rope_cache_init), and each rotated value is one fused multiply-add on one rounded
    /// product: x₀·cos − x₁·sin is fma(x₀, cos, −(x₁·sin)).
    /// With `frequencyFactors` (ggml's freq_factors, Llama 3.1's `rope_freqs`), pair j's angle is
    /// divided by factor j.
    public static func rope(
        _ vector: UnsafeMutablePointer<Float>, count: Int, headSize: Int, position: Int, base: Float,
        rotaryDimensions: Int? = nil, halves: Bool = false, frequencyFactors: UnsafePointer<Float>? = nil
    ) {
        let rotated = rotaryDimensions ?? headSize
        let thetaScale = powf(base, -2 / Float(rotated))
        withUnsafeTemporaryAllocation(of: Float.self, capacity: rotated) { cache in
            var theta = Float(position)
            var i0 = 0
            while i0 < rotated {
                let angle = frequencyFactors.map { theta / $0[i0 / 2] } ?? theta
                cache[i0] = cosf(angle)
                cache[i0 + 1] = sinf(angle)
                theta *= thetaScale
                i0 += 2
            }
            var head = 0
            while head < count {
                var i0 = 0
                while i0 < rotated {
                    let c = cache[i0], s = cache[i0 + 1]
                    let (i, j) = halves ? (head + i0 / 2, head + i0 / 2 + rotated / 2) : (head + i0, head + i0 + 1)
                    let x0 = vector[i], x1 = vector[j]
                    vector[i] = (-(x1 * s)).addingProduct(x0, c)
                    vector[j] = (x1 * c).addingProduct(x0, s)
                    i0 += 2
                }
                head += headSize
            }
        }
    }
}
