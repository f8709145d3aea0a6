import Foundation
import Testing
@testable import SmallMindKernels

/// The SIMD transcendental functions against their libm twins.
struct VectorMathTests {
    @Test func expMatchesLibmAcrossTheRange() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let v = VectorMath.exp(SIMD8(repeating: x))[3]
            let reference = Foundation.exp(x)
            worst = max(worst, abs(v - reference) / reference)
            x += 0.0137
        }
        #expect(worst < 4e-7, "worst relative error \(worst)")
        #expect(VectorMath.exp(SIMD8(repeating: -200))[0] < 1e-37)
        #expect(VectorMath.exp(SIMD8(repeating: 200))[0] > 1e38)
        #expect(VectorMath.exp(SIMD8(repeating: 0))[0] == 1)
    }

    @Test func geluAndSwigluMatchTheScalarTwins() {
        let count = 1003  // a tail of 3 lanes
        let input = (0..<count).map { Float($0 - 500) * 0.023 }
        var fast = input
        VectorMath.gelu(&fast, count: count)
        for i in 0..<count {
            let reference = Activation.gelu(input[i])
            #expect(abs(fast[i] - reference) <= 2e-6 * max(1, abs(reference)), "gelu(\(input[i]))")
        }
        let up = (0..<count).map { Float($0 % 7) * 0.3 - 1 }
        var gate = input, naive = input
        VectorMath.swiglu(gate: &gate, up: up, count: count)
        Activation.swiglu(gate: &naive, up: up, count: count)
        for i in 0..<count {
            #expect(abs(gate[i] - naive[i]) <= 2e-6 * max(1, abs(naive[i])), "silu(\(input[i]))")
        }
    }

    @Test func elementsDoNotDependOnTheirNeighbours() {
        // The same value gives the same result in the main loop and in the padded tail.
        var a: [Float] = Array(repeating: 0.731, count: 11)
        VectorMath.gelu(&a, count: 11)
        #expect(Set(a).count == 1)
    }
}
