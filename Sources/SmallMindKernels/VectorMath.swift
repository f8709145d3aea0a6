// Element-wise transcendental functions, eight lanes at a time. `expf`/`tanhf` cost tens of
// cycles per call; in a small model the GELU of the feed-forward layer costs more than its matmul.
// These SIMD versions are a few cycles per element and accurate to a few ulp. They are pure
// functions of each element, so they cannot break batch invariance; the scalar libm versions in
// Activation stay as their naive twins (see VectorMathTests).

/// SIMD approximations of exp, tanh, GELU and SiLU.
public enum VectorMath {
    /// e^x for each lane: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^n built
    /// in the exponent bits. Inputs are clamped to the finite range of Float.
    @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // Comparisons and blends, not `clamped`/`rounded`, which the compiler leaves as per-lane
        // library calls.
        var v = x.replacing(with: -87.3, where: x .< -87.3)
        v.replace(with: 88.7, where: v .> 88.7)
        // Adding 1.5·2²³ rounds v·log2(e) to the nearest integer n and leaves n in the low
        // mantissa bits of `shifted`.
        let magic: Float = 12_582_912
        let shifted = v * 1.442_695_04 + magic
        let n = shifted - magic
        // ln2 split in two so that n·ln2 is subtracted without rounding error (Cody–Waite).
        var r = v - n * 0.693_145_75
        r = r - n * 1.428_606_8e-6
        var p: SIMD8<Float> = SIMD8(repeating: 1.0 / 720)
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        // 2ⁿ: n + 127 in the exponent field.
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(SIMD8<Float>(repeating: magic), to: SIMD8<Int32>.self)
        return p * unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
    }

    /// tanh(u) = 1 − 2 / (e^{2u} + 1); saturates correctly to ±1.
    @inline(__always)
    public static func tanh(_ u: SIMD8<Float>) -> SIMD8<Float> {
        1 - 2 / (exp(2 * u) + 1)
    }

    /// GELU (tanh form) in place over `count` floats.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let c: Float = 0.797_884_56, a: Float = 0.044_715
        apply(x, count: count) { v in 0.5 * v * (1 + tanh(c * (v + a * v * v * v))) }
    }

    /// Soft-capping in place: x = cap · tanh(x / cap) (Gemma 2's attention scores and logits).
    public static func softCap(_ x: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
        let inverse = 1 / cap
        apply(x, count: count) { v in tanh(v * inverse) * cap }
    }

    /// SwiGLU in place: gate = silu(gate) · up, silu(v) = v / (1 + e^{−v}).
    public static func swiglu(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        var i = 0
        let g = UnsafeMutableRawPointer(gate), u = UnsafeRawPointer(up)
        while i + 8 <= count {
            let v = g.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let w = u.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            g.storeBytes(of: v / (1 + exp(-v)) * w, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        if i < count {
            var v = SIMD8<Float>(), w = SIMD8<Float>()
            for lane in 0..<count - i {
                v[lane] = gate[i + lane]
                w[lane] = up[i + lane]
            }
            let result = v / (1 + exp(-v)) * w
            for lane in 0..<count - i { gate[i + lane] = result[lane] }
        }
    }

    /// Applies `f` to every element, the tail through a zero-padded vector so that every element
    /// goes through the same arithmetic.
    @inline(__always)
    static func apply(_ x: UnsafeMutablePointer<Float>, count: Int, _ f: (SIMD8<Float>) -> SIMD8<Float>) {
        let raw = UnsafeMutableRawPointer(x)
        var i = 0
        while i + 8 <= count {
            raw.storeBytes(of: f(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        if i < count {
            var v = SIMD8<Float>()
            for lane in 0..<count - i { v[lane] = x[i + lane] }
            let result = f(v)
            for lane in 0..<count - i { x[i + lane] = result[lane] }
        }
    }
}
