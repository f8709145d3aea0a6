// Normalisations over one activation row. They are O(n) next to the O(n²) matmuls, so they stay
// scalar and sequential: the order of every sum is the obvious one, and the same for every row.
import Foundation

/// Row normalisations used by the two architectures.
public enum Normalization {
    /// RMSNorm as llama2.c computes it: out = weight ⊙ (x / sqrt(mean(x²) + eps)).
    public static func rms(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        count: Int, epsilon: Float
    ) {
        var sumOfSquares: Float = 0
        for i in 0..<count { sumOfSquares += x[i] * x[i] }
        let scale = 1 / (sumOfSquares / Float(count) + epsilon).squareRoot()
        for i in 0..<count { out[i] = weight[i] * (scale * x[i]) }
    }

    /// LayerNorm (GPT-2): out = (x − mean) / sqrt(var + eps) ⊙ weight + bias, with a two-pass variance.
    public static func layer(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        out: UnsafeMutablePointer<Float>, count: Int, epsilon: Float
    ) {
        var sum: Float = 0
        for i in 0..<count { sum += x[i] }
        let mean = sum / Float(count)
        var variance: Float = 0
        for i in 0..<count {
            let d = x[i] - mean
            variance += d * d
        }
        let scale = 1 / (variance / Float(count) + epsilon).squareRoot()
        for i in 0..<count {
            let normalized = (x[i] - mean) * scale * weight[i]
            out[i] = bias.map { normalized + $0[i] } ?? normalized
        }
    }
}

/// Softmax and the element-wise activations.
public enum Activation {
    /// In-place softmax over `count` values, subtracting the maximum first for stability (as run.c).
    /// Always inlined: the compiler inlined it into the contiguous attention kernel but called it
    /// from the paged one, which then showed it as a function of its own in perf.
    @inline(__always)
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        var maxValue = x[0]
        for i in 1..<count where x[i] > maxValue { maxValue = x[i] }
        var sum: Float = 0
        for i in 0..<count {
            x[i] = expf(x[i] - maxValue)
            sum += x[i]
        }
        for i in 0..<count { x[i] /= sum }
    }

    /// SiLU (swish): x·σ(x), written as run.c writes it.
    @inline(__always)
    public static func silu(_ x: Float) -> Float { x * (1 / (1 + expf(-x))) }

    /// GELU, tanh approximation (GPT-2): ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
    @inline(__always)
    public static func gelu(_ x: Float) -> Float {
        let sqrtTwoOverPi: Float = 0.7978845608028654
        return 0.5 * x * (1 + tanhf(sqrtTwoOverPi * (x + 0.044715 * x * x * x)))
    }

    /// SwiGLU gate in place: gate[i] = silu(gate[i]) · up[i].
    public static func swiglu(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { gate[i] = silu(gate[i]) * up[i] }
    }

    /// GELU in place.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = gelu(x[i]) }
    }

    /// x += bias, element-wise.
    public static func addBias(_ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += bias[i] }
    }
}

/// Rotary position embedding.
public enum RoPE {
    /// Which two dimensions of a head rotate together.
    public enum Pairing: String, Sendable {
        /// (v[2i], v[2i+1]): llama2.c, and GGUF `llama` (llama.cpp's rope mode 0).
        case adjacent
        /// (v[i], v[i + r/2]) for a rotated span of r: GPT-NeoX style (llama.cpp's mode 2; Qwen 2).
        case halves
    }

    /// Rotates each pair of dimension indices (i, i') of each head by pos·θ^(−2j/r), j the pair's
    /// index and r the rotated span, the layout `pairing` names. `vector` holds `count` values made
    /// of heads of `headSize`; only the first `rotaryDimensions` values of each head rotate (all of
    /// them by default).
    public static func apply(
        _ vector: UnsafeMutablePointer<Float>, count: Int, headSize: Int, position: Int,
        base: Float, rotaryDimensions: Int? = nil, pairing: Pairing = .adjacent
    ) {
        let rotated = rotaryDimensions ?? headSize
        let table = UnsafeMutablePointer<Float>.allocate(capacity: rotated)
        defer { table.deallocate() }
        angles(position: position, base: base, rotaryDimensions: rotated, into: table)
        apply(vector, count: count, headSize: headSize, angles: table, rotaryDimensions: rotated, pairing: pairing)
    }

    /// The cosine and sine of each pair's angle at `position` (`rotaryDimensions` values: cos, sin
    /// of pair 0, then of pair 1, …). They depend on the position only, so a forward pass computes
    /// them once per token for every layer's queries and keys (cosf, sinf and powf had taken 6 % of
    /// m110's batched generation when computed per head, 2 % still when per layer).
    /// `frequencyFactors` (rotated / 2 values, Llama 3.1's `rope_freqs`) divide each pair's frequency.
    public static func angles(
        position: Int, base: Float, rotaryDimensions rotated: Int, frequencyFactors: UnsafePointer<Float>? = nil,
        into table: UnsafeMutablePointer<Float>
    ) {
        for pair in 0..<rotated / 2 {
            var frequency = 1 / powf(base, Float(2 * pair) / Float(rotated))
            if let frequencyFactors { frequency /= frequencyFactors[pair] }
            let angle = Float(position) * frequency
            table[2 * pair] = cosf(angle)
            table[2 * pair + 1] = sinf(angle)
        }
    }

    /// `apply` with the angles' cosines and sines already in `angles` (from `angles(position:…)`).
    public static func apply(
        _ vector: UnsafeMutablePointer<Float>, count: Int, headSize: Int, angles: UnsafePointer<Float>,
        rotaryDimensions rotated: Int, pairing: Pairing
    ) {
        for pair in 0..<rotated / 2 {
            let c = angles[2 * pair], s = angles[2 * pair + 1]
            var head = 0
            while head < count {
                let (i, j) = pairing == .adjacent ? (head + 2 * pair, head + 2 * pair + 1) : (head + pair, head + pair + rotated / 2)
                let v0 = vector[i], v1 = vector[j]
                vector[i] = v0 * c - v1 * s
                vector[j] = v0 * s + v1 * c
                head += headSize
            }
        }
    }
}
