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

/// llama.cpp's Q8_0 quantization of activation rows.
enum ActivationQuantizer {
    /// Codes of `x[0..<count]` in natural order (element i of block g at g·32 + i) and one scale
    /// per block of 32.
    static func quantizeRow(
        _ x: UnsafePointer<Float>, count: Int, codes: UnsafeMutablePointer<Int16>, scales: UnsafeMutablePointer<Float>
    ) {
        for g in 0..<(count / 32) {
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(x[g * 32 + j])) }
            scales[g] = Float(Float16(amax / 127))
            let inverse: Float = amax != 0 ? 127 / amax : 0
            for j in 0..<32 {
                // Only when 127 / amax overflows (amax < 4e-37) is the product not finite.
                let q = (x[g * 32 + j] * inverse).rounded(.toNearestOrEven)
                codes[g * 32 + j] = q.isFinite ? Int16(q) : 0
            }
        }
    }
}
