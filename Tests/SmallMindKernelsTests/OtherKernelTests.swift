import Foundation
import Testing
@testable import SmallMindKernels

struct NormalizationTests {
    @Test func rmsNormMatchesDefinition() {
        let x = randomFloats(64, seed: 7), weight = randomFloats(64, seed: 8)
        var out = [Float](repeating: 0, count: 64)
        Normalization.rms(x, weight: weight, out: &out, count: 64, epsilon: 1e-5)
        let rms = (x.map { Double($0) * Double($0) }.reduce(0, +) / 64 + 1e-5).squareRoot()
        for i in 0..<64 { #expect(abs(Double(out[i]) - Double(weight[i]) * Double(x[i]) / rms) < 1e-5) }
    }

    @Test func layerNormHasZeroMeanUnitVariance() {
        let x = randomFloats(128, seed: 9).map { $0 * 3 + 1 }
        let ones = [Float](repeating: 1, count: 128), zeros = [Float](repeating: 0, count: 128)
        var out = [Float](repeating: 0, count: 128)
        Normalization.layer(x, weight: ones, bias: zeros, out: &out, count: 128, epsilon: 1e-5)
        let mean = out.reduce(0, +) / 128
        let variance = out.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 128
        #expect(abs(mean) < 1e-5)
        #expect(abs(variance - 1) < 1e-3)
        var shifted = [Float](repeating: 0, count: 128)
        let bias = [Float](repeating: 2, count: 128), weight = [Float](repeating: 3, count: 128)
        Normalization.layer(x, weight: weight, bias: bias, out: &shifted, count: 128, epsilon: 1e-5)
        for i in 0..<128 { #expect(abs(shifted[i] - (out[i] * 3 + 2)) < 1e-5) }
    }
}

struct ActivationTests {
    @Test func softmaxSumsToOneAndKeepsOrder() {
        var x: [Float] = [1, 2, 3, 10, -5]
        Activation.softmax(&x, count: 5)
        #expect(abs(x.reduce(0, +) - 1) < 1e-6)
        #expect(x[3] > 0.99 && x[2] > x[1] && x[1] > x[0] && x[0] > x[4])
        // Large logits do not overflow: the maximum is subtracted first.
        var large: [Float] = [1000, 999]
        Activation.softmax(&large, count: 2)
        #expect(abs(large[0] - 1 / (1 + exp(-1))) < 1e-6)
    }

    @Test func siluAndGeluAtKnownPoints() {
        #expect(Activation.silu(0) == 0)
        #expect(abs(Activation.silu(1) - 0.7310586) < 1e-6)
        #expect(Activation.gelu(0) == 0)
        #expect(abs(Activation.gelu(1) - 0.8411920) < 1e-6)   // tanh form
        #expect(abs(Activation.gelu(-3) - -0.0036374) < 1e-6)
    }

    @Test func ropeRotatesPairsByPositionAngle() {
        // Head size 4: pair 0 rotates by pos·1, pair 1 by pos·base^(-2/4).
        var v: [Float] = [1, 0, 1, 0]
        RoPE.apply(&v, count: 4, headSize: 4, position: 3, base: 10000)
        #expect(abs(v[0] - cos(3)) < 1e-6 && abs(v[1] - sin(3)) < 1e-6)
        let angle = 3 * pow(10000, -0.5) as Float
        #expect(abs(v[2] - cos(angle)) < 1e-6 && abs(v[3] - sin(angle)) < 1e-6)
        var atZero: [Float] = [0.3, -0.2, 0.5, 0.7]
        RoPE.apply(&atZero, count: 4, headSize: 4, position: 0, base: 10000)
        #expect(atZero == [0.3, -0.2, 0.5, 0.7])
    }
}

struct AttentionTests {
    /// Head sizes that take the four-key scores and the 32-wide values (64), with an 8-wide rest
    /// (72) and without (16); lengths below, at and beyond four keys.
    @Test(arguments: [16, 64, 72], [0, 1, 6, 40])
    func fastHeadAgreesWithNaive(headSize: Int, lastPosition: Int) {
        let stride = headSize * 3
        let q = randomFloats(headSize, seed: 10)
        let k = randomFloats((lastPosition + 1) * stride, seed: 11)
        let v = randomFloats((lastPosition + 1) * stride, seed: 12)
        var scores = [Float](repeating: 0, count: lastPosition + 1)
        var fast = [Float](repeating: 0, count: headSize), naive = fast
        Attention.head(query: q, keys: k, values: v, rowStride: stride, headSize: headSize, lastPosition: lastPosition, scores: &scores, out: &fast)
        Attention.headNaive(query: q, keys: k, values: v, rowStride: stride, headSize: headSize, lastPosition: lastPosition, scores: &scores, out: &naive)
        for i in 0..<headSize { #expect(abs(fast[i] - naive[i]) < 1e-5, "element \(i)") }
    }

    /// Keys and values as an f16 cache holds them: rounded, and widened back for the float32 kernel.
    static func halfCache(_ values: [Float]) -> (halves: [Float16], widened: [Float]) {
        let halves = values.map { Float16($0) }
        return (halves, halves.map { Float($0) })
    }

    @Test(arguments: [(16, 0), (16, 6), (16, 40), (12, 9), (48, 33), (5, 3)])
    func halfCacheHeadEqualsFloatHeadOnTheWidenedCacheBitForBit(headSize: Int, lastPosition: Int) {
        // The f16 kernel only widens what it loads: same order, same result as the float32 kernel
        // over the widened values, including head sizes with a scalar tail (12, 5).
        let stride = headSize * 3
        let q = randomFloats(headSize, seed: 20)
        let k = Self.halfCache(randomFloats((lastPosition + 1) * stride, seed: 21))
        let v = Self.halfCache(randomFloats((lastPosition + 1) * stride, seed: 22))
        var scores = [Float](repeating: 0, count: lastPosition + 1)
        var half = [Float](repeating: .nan, count: headSize), float = half
        Attention.head(query: q, keys: k.halves, values: v.halves, rowStride: stride, headSize: headSize, lastPosition: lastPosition, scores: &scores, out: &half)
        Attention.head(query: q, keys: k.widened, values: v.widened, rowStride: stride, headSize: headSize, lastPosition: lastPosition, scores: &scores, out: &float)
        #expect(half == float)
    }

    @Test(arguments: [0, 1, 6, 40])
    func halfCacheHeadAgreesWithNaive(lastPosition: Int) {
        let headSize = 16, stride = 48
        let q = randomFloats(headSize, seed: 23)
        let k = Self.halfCache(randomFloats((lastPosition + 1) * stride, seed: 24)).halves
        let v = Self.halfCache(randomFloats((lastPosition + 1) * stride, seed: 25)).halves
        var scores = [Float](repeating: 0, count: lastPosition + 1)
        var fast = [Float](repeating: 0, count: headSize), naive = fast
        Attention.head(query: q, keys: k, values: v, rowStride: stride, headSize: headSize, lastPosition: lastPosition, scores: &scores, out: &fast)
        Attention.headNaive(query: q, keys: k, values: v, rowStride: stride, headSize: headSize, lastPosition: lastPosition, scores: &scores, out: &naive)
        // Same inputs, different summation order and exp: float32 rounding only.
        for i in 0..<headSize { #expect(abs(fast[i] - naive[i]) < 1e-5, "element \(i)") }
    }

    @Test func halfRoundingIsNearestEvenLikeScalarConversion() {
        // The vector conversion (vcvtps2ph) and the scalar one agree, ties and extremes included:
        // 1 + 2⁻¹¹ is a tie (rounds to 1), 1 + 3·2⁻¹¹ too (rounds up to even), 70000 overflows.
        var values = randomFloats(61, seed: 26).map { $0 * 300 }
        values += [1 + 0x1p-11, 1 + 3 * 0x1p-11, 70000, -70000, 0x1p-25, -0.0, 65504, 6e-8]
        var halves = [Float16](repeating: 0, count: values.count)
        Half.round(values, count: values.count, into: &halves)
        #expect(halves.map(\.bitPattern) == values.map { Float16($0).bitPattern })
        #expect(halves[61] == 1 && halves[62] == Float16(1 + 4 * 0x1p-11) && halves[63] == .infinity)
    }
}
