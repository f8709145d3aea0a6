// llama.cpp does not multiply float activations by its encoded weights: it first converts each
// activation row to the weight type's "vec_dot_type" — F16 for F16 weights, BF16 for BF16, Q8_0
// (blocks of 32, f16 scale) for Q8_0/Q4_0, Q8_K (blocks of 256, f32 scale) for the K-quants — and
// runs integer dot products. `ActivationRounding` reproduces that rounding of x in float: the
// product of the rounded row with the decoded weights equals llama.cpp's integer arithmetic up to
// float summation order. The runtime now multiplies quantized weights in integers itself
// (`Q8Activations`, `Q8KActivations`), so this serves the parity mode's f16/bf16 weights and tests
// (the quantizers' codes times scales equal these values). Each row is rounded on its own, so the
// result still does not depend on the batch.

/// How llama.cpp rounds an activation row before multiplying it by weights of a given type.
public enum ActivationRounding: Sendable {
    case f16, bf16, q8_0, q8_K

    /// llama.cpp's vec_dot_type for weights in `format`.
    public init(llamaCppFor format: BlockFormat) {
        switch format {
        case .f16: self = .f16
        case .bf16: self = .bf16
        case .q8_0, .q4_0: self = .q8_0
        case .q4_K, .q6_K: self = .q8_K
        // Q8_1 for Q4_1/Q5_1 rounds the values as Q8_0 does (its extra sum is not a value).
        case .q5_0, .q4_1, .q5_1, .iq4_nl: self = .q8_0
        case .q5_K, .q3_K, .q2_K, .iq4_xs: self = .q8_K
        }
    }

    /// Writes the rounded `x[0..<count]` to `out` (count a multiple of the block: 32 or 256 for
    /// the 8-bit forms).
    public func round(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
        switch self {
        case .f16:
            for i in 0..<count { out[i] = Float(Float16(x[i])) }
        case .bf16:
            // ggml_fp32_to_bf16: round to nearest even on the top 16 bits.
            for i in 0..<count {
                let bits = x[i].bitPattern
                let rounded = (bits &+ (0x7FFF &+ ((bits >> 16) & 1))) & 0xFFFF_0000
                out[i] = x[i].isNaN ? x[i] : Float(bitPattern: rounded)
            }
        case .q8_0:
            // quantize_row_q8_0 (x86): d = amax/127 stored as f16; q = round(x · id), id = 127/amax
            // computed on its own (not 1/d, which rounds differently), half to even.
            var start = 0
            while start + 32 <= count {
                var amax: Float = 0
                for j in 0..<32 { amax = max(amax, abs(x[start + j])) }
                let d = amax / 127
                let inverse: Float = amax != 0 ? 127 / amax : 0
                let storedScale = Float(Float16(d))
                for j in 0..<32 { out[start + j] = (x[start + j] * inverse).rounded(.toNearestOrEven) * storedScale }
                start += 32
            }
        case .q8_K:
            // quantize_row_q8_K_ref (x86 calls it directly): iscale = −127/max, max the value of
            // largest magnitude with its sign; q = nearest_int(iscale·x) (the 1.5·2²³ trick: round
            // half to even), capped at 127; d = 1/iscale kept as f32. (Older ggml used −128/max.)
            var start = 0
            while start + 256 <= count {
                var amax: Float = 0, maxValue: Float = 0
                for j in 0..<256 where abs(x[start + j]) > amax {
                    amax = abs(x[start + j])
                    maxValue = x[start + j]
                }
                if amax == 0 {
                    for j in 0..<256 { out[start + j] = 0 }
                } else {
                    let iscale = -127 / maxValue
                    let d = 1 / iscale
                    for j in 0..<256 {
                        let v = min(127, (iscale * x[start + j]).rounded(.toNearestOrEven))
                        out[start + j] = v * d
                    }
                }
                start += 256
            }
        }
    }
}
