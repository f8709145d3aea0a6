import Foundation
import Testing
@testable import SmallMindKernels

/// The ggml emulations (SmallMindKernels/LlamaCpp). Their bit-level fidelity to llama.cpp is
/// tested against llama.cpp's own outputs (LlamaCppGoldenTests); here each is checked against the
/// plain mathematics it computes — its naive twin — and for the properties its rounding implies.
struct GGMLTests {
    /// Both builds' exp (AVX2's k·j + k; AVX-512's 1 inside the polynomial, scaled by 2ⁿ): within
    /// two ulp of libm's expf, 0 below the range and infinity above it.
    @Test(arguments: [false, true])
    func expIsWithinTwoUlpOfLibmAndSaturates(avx512: Bool) {
        var x = stride(from: Float(-103), through: 88, by: 0.37).map { $0 }
        x += [0, -0.0, 1, -1, 0.5, 1e-8, -1e-8]
        let e = Self.exp(x, avx512: avx512)
        for (v, ev) in zip(x, e) {
            #expect(abs(ev - expf(v)) <= 2 * expf(v).ulp, "exp(\(v)) = \(ev), libm \(expf(v))")
        }
        let edges = Self.exp([-.infinity, -200, 0, 1, 89, 200, .infinity, -87.5], avx512: avx512)
        #expect(edges[0] == 0 && edges[1] == 0 && edges[2] == 1)
        #expect(edges[4] == .infinity && edges[5] == .infinity && edges[6] == .infinity)
        #expect(abs(edges[7] - expf(-87.5)) <= 2 * expf(-87.5).ulp)
    }

    /// `GGML.exp` or `GGML.expAVX512` over `x`, eight or sixteen lanes at a time (zero-padded).
    static func exp(_ x: [Float], avx512: Bool) -> [Float] {
        var padded = x
        while padded.count % 16 != 0 { padded.append(0) }
        var out: [Float] = []
        for start in stride(from: 0, to: padded.count, by: 16) {
            let v = SIMD16<Float>(padded[start..<start + 16])
            let e = avx512 ? GGML.expAVX512(v) : SIMD16(lowHalf: GGML.exp(v.lowHalf), highHalf: GGML.exp(v.highHalf))
            out += (0..<16).map { e[$0] }
        }
        return Array(out.prefix(x.count))
    }

    @Test(arguments: [false, true])
    func swigluAgreesWithTheScalarDefinition(avx512: Bool) {
        let count = 43  // two groups of sixteen (five of eight) and a scalar tail
        let gate = randomFloats(count, seed: 30).map { $0 * 9 }, up = randomFloats(count, seed: 31)
        var emulated = gate, reference = gate
        GGML.swiglu(gate: &emulated, up: up, count: count, avx512: avx512)
        Activation.swiglu(gate: &reference, up: up, count: count)
        for i in 0..<count { #expect(abs(emulated[i] - reference[i]) <= 3 * max(abs(reference[i]).ulp, Float.leastNormalMagnitude)) }
    }

    @Test func geluIsTheTanhFormThroughF16() {
        var x = randomFloats(200, seed: 32).map { $0 * 12 }
        x += [-10, -10.5, 10, 12, 0]
        var emulated = x
        GGML.gelu(&emulated, count: x.count)
        for (v, y) in zip(x, emulated) {
            if v <= -10 {
                #expect(y == 0)
            } else if v >= 10 {
                #expect(y == v)
            } else {
                // An f16 value, within one f16 step of GELU of the f16-rounded input.
                #expect(Float(Float16(y)) == y)
                let reference = Activation.gelu(Float(Float16(v)))
                #expect(abs(y - reference) <= Float(Float16(reference).ulp), "gelu(\(v))")
            }
        }
    }

    @Test func normsAgreeWithTheDefaultKernels() {
        for count in [64, 100] {  // 100: a tail past the groups of 32
            let x = randomFloats(count, seed: 33).map { $0 * 4 + 0.5 }, w = randomFloats(count, seed: 34), b = randomFloats(count, seed: 35)
            var emulated = [Float](repeating: 0, count: count), reference = emulated
            GGML.rmsNorm(x, weight: w, out: &emulated, count: count, epsilon: 1e-5)
            Normalization.rms(x, weight: w, out: &reference, count: count, epsilon: 1e-5)
            for i in 0..<count { #expect(abs(emulated[i] - reference[i]) <= 1e-6) }
            GGML.layerNorm(x, weight: w, bias: b, out: &emulated, count: count, epsilon: 1e-5)
            Normalization.layer(x, weight: w, bias: b, out: &reference, count: count, epsilon: 1e-5)
            for i in 0..<count { #expect(abs(emulated[i] - reference[i]) <= 1e-6) }
        }
    }

    @Test(arguments: [RoPE.Pairing.adjacent, .halves])
    func ropeAgreesWithTheDefaultKernel(pairing: RoPE.Pairing) {
        let headSize = 16, count = 48
        for (position, rotary) in [(0, nil), (7, nil), (300, nil), (41, 8)] as [(Int, Int?)] {
            let v = randomFloats(count, seed: 36)
            var emulated = v, reference = v
            GGML.rope(&emulated, count: count, headSize: headSize, position: position, base: 10000, rotaryDimensions: rotary, halves: pairing == .halves)
            RoPE.apply(&reference, count: count, headSize: headSize, position: position, base: 10000, rotaryDimensions: rotary, pairing: pairing)
            if position == 0 { #expect(emulated == v) }
            // Angles built by repeated multiplication drift by a few ulp of the angle.
            for i in 0..<count { #expect(abs(emulated[i] - reference[i]) <= 2e-4, "position \(position), element \(i)") }
        }
    }

    @Test(arguments: [8, 31, 32, 100, 256])
    func vecDotAgreesWithNaiveAndIsExactOnIntegers(count: Int) {
        let x = randomFloats(count, seed: 37), y = randomFloats(count, seed: 38)
        let halfY = y.map { Float16($0) }, roundedX = x.map { Float(Float16($0)) }
        var naive: Double = 0, naiveHalf: Double = 0
        for k in 0..<count {
            naive += Double(x[k]) * Double(y[k])
            naiveHalf += Double(roundedX[k]) * Double(halfY[k])
        }
        #expect(abs(Double(GGML.dot(x, y, count: count)) - naive) <= 1e-5 * Double(count).squareRoot())
        #expect(abs(Double(GGML.dot(roundedX, half: halfY, count: count)) - naiveHalf) <= 1e-5 * Double(count).squareRoot())
        // Small integers sum exactly in any order.
        let ix = (0..<count).map { Float($0 % 7) - 3 }, iy = (0..<count).map { Float($0 % 5) - 2 }
        let exact = zip(ix, iy).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        #expect(GGML.dot(ix, iy, count: count) == exact)
        #expect(GGML.dot(ix, half: iy.map { Float16($0) }, count: count) == exact)
    }

    @Test func tinyBLASTakesMultiRowProductsOfWholeVectors() {
        #expect(GGML.usesTinyBLAS(batch: 2, rows: 64, columns: 64))
        #expect(!GGML.usesTinyBLAS(batch: 1, rows: 64, columns: 64))     // decode: ggml_vec_dot
        #expect(!GGML.usesTinyBLAS(batch: 5, rows: 64, columns: 172))    // k not a multiple of 8
        #expect(!GGML.usesTinyBLAS(batch: 5, rows: 66, columns: 64))     // rows not a multiple of 4
    }

    @Test func multiplyByRowsIsVecDotPerElement() {
        let batch = 3, columns = 72, rows = 10
        let x = randomFloats(batch * columns, seed: 39), w = randomFloats(rows * columns, seed: 40)
        let halfW = w.map { Float16($0) }
        var y = [Float](repeating: .nan, count: batch * rows), yHalf = y
        w.withUnsafeBytes { GGML.multiplyByRows(x: x, w: $0.baseAddress!, half: false, y: &y, batch: batch, columns: columns, yStride: rows, rows: 0..<rows) }
        halfW.withUnsafeBytes { GGML.multiplyByRows(x: x, w: $0.baseAddress!, half: true, y: &yHalf, batch: batch, columns: columns, yStride: rows, rows: 0..<rows) }
        for b in 0..<batch {
            for o in 0..<rows {
                let xr = Array(x[b * columns..<(b + 1) * columns])
                #expect(y[b * rows + o] == GGML.dot(xr, Array(w[o * columns..<(o + 1) * columns]), count: columns))
                #expect(yHalf[b * rows + o] == GGML.dot(xr, half: Array(halfW[o * columns..<(o + 1) * columns]), count: columns))
            }
        }
    }

    @Test(arguments: [(16, 0), (16, 7), (64, 40), (8, 3), (12, 20)])
    func flashAttentionAgreesWithNaiveToF16Precision(headSize: Int, lastPosition: Int) {
        let stride = headSize * 2
        let q = randomFloats(headSize, seed: 41).map { $0 * 3 }
        let k = randomFloats((lastPosition + 1) * stride, seed: 42).map { Float16($0) }
        let v = randomFloats((lastPosition + 1) * stride, seed: 43).map { Float16($0) }
        var emulated = [Float](repeating: .nan, count: headSize), naive = emulated
        var scores = [Float](repeating: 0, count: lastPosition + 1)
        GGML.flashAttention(query: q, keys: k, values: v, rowStride: stride, headSize: headSize, lastPosition: lastPosition, out: &emulated)
        let roundedQ = q.map { Float(Float16($0)) }
        Attention.headNaive(query: roundedQ, keys: k, values: v, rowStride: stride, headSize: headSize, lastPosition: lastPosition, scores: &scores, out: &naive)
        // The accumulator is rounded to f16 at every position: error grows like √positions · 2⁻¹¹.
        let bound = Float(lastPosition + 1).squareRoot() * 0x1p-10
        for i in 0..<headSize { #expect(abs(emulated[i] - naive[i]) <= bound, "element \(i)") }
        if lastPosition == 0 {
            // One position: weight 1, sum 1, so the output is the value itself, exactly.
            #expect(emulated == v[0..<headSize].map { Float($0) })
        }
    }

    /// ggml's activation quantizers as this llama.cpp has them on x86: Q8_K scales by −127/max
    /// (not the older −128) and Q8_0 by 127/amax; both round half to even. With max = 127 the
    /// scale is 1 (or −1), so the rounding of .5 values shows directly.
    @Test func activationRoundingFollowsGGMLQuantizers() {
        var x = [Float](repeating: 0, count: 256)
        x[0] = 2.5; x[1] = -3.5; x[2] = 126.6; x[3] = 0.4; x[4] = -127
        var out = [Float](repeating: .nan, count: 256)
        ActivationRounding.q8_K.round(x, count: 256, into: &out)
        // iscale = −127/−127 = 1: 2.5 → 2, −3.5 → −4, 126.6 → 127, 0.4 → 0, −127 → −127.
        #expect(Array(out[0..<5]) == [2, -4, 127, 0, -127])
        #expect(out[5...].allSatisfy { $0 == 0 })

        // A positive maximum flips the sign of the integer codes but not of the values.
        var y = [Float](repeating: 0, count: 256)
        y[0] = 127; y[1] = 0.5; y[2] = 1.5
        ActivationRounding.q8_K.round(y, count: 256, into: &out)
        #expect(Array(out[0..<3]) == [127, 0, 2])

        var z = [Float](repeating: 0, count: 32)
        z[0] = 2.5; z[1] = -127; z[2] = 3.5
        var out32 = [Float](repeating: .nan, count: 32)
        ActivationRounding.q8_0.round(z, count: 32, into: &out32)
        #expect(Array(out32[0..<3]) == [2, -127, 4])
    }
}
