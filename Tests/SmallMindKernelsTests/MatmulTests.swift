import Testing
@testable import SmallMindKernels

@Suite("Matmul")
struct MatmulTests {
    /// The SIMD kernel against the naive reference, and batch invariance: a row's result does not
    /// depend on how many rows ride along.
    @Test func simdAgreesWithNaiveAndIsBatchInvariant() {
        let batch = 5, inDim = 37, outDim = 11
        var state: UInt32 = 1
        func next() -> Float {
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 24) - 0.5
        }
        let x = (0..<batch * inDim).map { _ in next() }
        let w = (0..<outDim * inDim).map { _ in next() }
        var naive = [Float](repeating: 0, count: batch * outDim)
        var fast = naive, single = [Float](repeating: 0, count: outDim)
        Matmul.naive(x: x, w: w, y: &naive, batch: batch, inDim: inDim, outDim: outDim)
        Matmul.simd(x: x, w: w, y: &fast, batch: batch, inDim: inDim, outDim: outDim)
        for i in naive.indices { #expect(abs(naive[i] - fast[i]) < 1e-5) }
        for b in 0..<batch {
            x.withUnsafeBufferPointer { xs in
                Matmul.simd(x: xs.baseAddress! + b * inDim, w: w, y: &single, batch: 1, inDim: inDim, outDim: outDim)
            }
            #expect(Array(fast[b * outDim..<(b + 1) * outDim]) == single)
        }
    }
}
