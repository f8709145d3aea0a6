import Testing
@testable import SmallMindKernels

/// Deterministic pseudo-random floats in [-1, 1) for kernel inputs.
func randomFloats(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed | 1
    return (0..<count).map { _ in
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return Float(state >> 40) / Float(1 << 23) - 1
    }
}

struct MatmulTests {
    /// Shapes with tails in every dimension: inDim not a multiple of 8, outDim not a multiple of 4,
    /// odd batches.
    static let shapes: [(batch: Int, inDim: Int, outDim: Int)] = [
        (1, 8, 4), (1, 64, 64), (2, 64, 512), (3, 37, 11), (5, 128, 130), (7, 288, 768), (32, 100, 9),
    ]

    @Test(arguments: 0..<shapes.count)
    func simdAgreesWithNaive(shapeIndex: Int) {
        let (batch, inDim, outDim) = Self.shapes[shapeIndex]
        let x = randomFloats(batch * inDim, seed: 1), w = randomFloats(outDim * inDim, seed: 2)
        var expected = [Float](repeating: 0, count: batch * outDim)
        var actual = [Float](repeating: .nan, count: batch * outDim)
        Matmul.naive(x: x, w: w, y: &expected, batch: batch, inDim: inDim, outDim: outDim)
        Matmul.simd(x: x, w: w, y: &actual, batch: batch, inDim: inDim, outDim: outDim)
        // Different summation order (8 lanes + FMA vs sequential): agree to float rounding,
        // relative to the magnitude of the terms summed.
        for i in 0..<expected.count {
            let scale = Float(inDim).squareRoot()
            #expect(abs(expected[i] - actual[i]) <= 1e-5 * scale + 1e-6 * abs(expected[i]), "element \(i)")
        }
    }

    @Test func eachElementIgnoresTheBatchAroundIt() {
        // Batch invariance: a row's results are bit-identical alone, in a batch of 7 (tiles of 2
        // plus a remainder), at any position in the batch, and when the output rows are split.
        let inDim = 200, outDim = 70, batch = 7
        let x = randomFloats(batch * inDim, seed: 3), w = randomFloats(outDim * inDim, seed: 4)
        var together = [Float](repeating: 0, count: batch * outDim)
        Matmul.simd(x: x, w: w, y: &together, batch: batch, inDim: inDim, outDim: outDim)
        for b in 0..<batch {
            var alone = [Float](repeating: 0, count: outDim)
            x.withUnsafeBufferPointer { xs in
                Matmul.simd(x: xs.baseAddress! + b * inDim, w: w, y: &alone, batch: 1, inDim: inDim, outDim: outDim)
            }
            #expect(Array(together[b * outDim..<(b + 1) * outDim]) == alone, "row \(b)")
        }
        var split = [Float](repeating: 0, count: batch * outDim)
        for range in [0..<3, 3..<33, 33..<70] {
            Matmul.simd(x: x, w: w, y: &split, batch: batch, inDim: inDim, outDim: outDim, rows: range)
        }
        #expect(split == together)
    }

    /// The canonical order, element by element: every cell of every tile (4×3, 4×1, 1×2, 1×4, the
    /// single-row stream and the leftover rows), with and without a scalar tail, equals `Matmul.dot` of its
    /// row and column bit for bit — which is what makes results independent of the batch.
    @Test(arguments: [
        (1, 128, 12), (4, 128, 12), (5, 136, 9), (7, 77, 10), (3, 8, 4), (8, 512, 16),
        // Matrices past `Matmul.streamingElements` (the row-streaming path for 2–4 rows).
        (2, 512, 257), (3, 259, 512), (4, 512, 258),
    ])
    func everyCellEqualsDot(batch: Int, inDim: Int, outDim: Int) {
        let x = randomFloats(batch * inDim, seed: 11), w = randomFloats(outDim * inDim, seed: 12)
        var y = [Float](repeating: .nan, count: batch * outDim)
        Matmul.simd(x: x, w: w, y: &y, batch: batch, inDim: inDim, outDim: outDim)
        x.withUnsafeBufferPointer { xs in
            w.withUnsafeBufferPointer { ws in
                for b in 0..<batch {
                    for o in 0..<outDim {
                        let expected = Matmul.dot(xs.baseAddress! + b * inDim, ws.baseAddress! + o * inDim, count: inDim)
                        #expect(y[b * outDim + o].bitPattern == expected.bitPattern, "b=\(b) o=\(o)")
                    }
                }
            }
        }
    }

    @Test func fourWayReductionIsFourSingleReductions() {
        let v = (0..<4).map { i in SIMD8<Float>(randomFloats(8, seed: 20 + UInt64(i))) * 1000 }
        let together = Matmul.reduceLanes(v[0], v[1], v[2], v[3])
        for i in 0..<4 { #expect(together[i].bitPattern == Matmul.reduceLanes(v[i]).bitPattern) }
    }

    @Test func dotMatchesATileCell() {
        let a = randomFloats(77, seed: 5), b = randomFloats(77, seed: 6)
        var y = [Float](repeating: 0, count: 1)
        Matmul.simd(x: a, w: b, y: &y, batch: 1, inDim: 77, outDim: 1)
        #expect(Matmul.dot(a, b, count: 77) == y[0])
    }
}
