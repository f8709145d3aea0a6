import Testing
@testable import SmallMindKernels

/// Q2_K's products one integer per super-block (llama.cpp's order for it on AVX-512 processors,
/// the parity mode's): the vectorised kernel against its scalar twin.
struct KQuantSuperBlockOrderTests {
    /// Bit for bit, at batches 1 … 15 and row ranges that split the matrix anywhere.
    @Test(arguments: [256, 768])
    func perSuperBlockKernelEqualsScalarTwin(columns: Int) {
        let m = EncodedMatrix(.q2_K, rows: 11, columns: columns, seed: 1200 + UInt64(columns))
        for batch in 1...15 {
            let x = activations(batch * columns, seed: 61 + UInt64(batch))
            var fast = [Float](repeating: .nan, count: batch * m.rows), naive = fast
            let a = m.format.quantizeActivations(x, batch: batch, columns: columns)!
            defer { a.deallocate() }
            m.bytes.withUnsafeBytes { raw in
                for range in [0..<3, 3..<4, 4..<11] {
                    m.format.multiplyIntegerProductsPerSuperBlock(a, w: raw.baseAddress!, rowBytes: m.rowBytes, y: &fast, yStride: m.rows, rows: range)
                }
                m.format.multiplyIntegerProductsPerSuperBlockNaive(
                    x: x, w: raw.baseAddress!, rowBytes: m.rowBytes, y: &naive, batch: batch, columns: columns, yStride: m.rows, rows: 0..<m.rows)
            }
            #expect(fast.map(\.bitPattern) == naive.map(\.bitPattern), "batch \(batch)")
        }
    }

    /// The twin computes x · Wᵀ within the activations' quantization (Σ|w|·d_x/2 per super-block)
    /// of the float naive product, and differs from the eight-lane order only by float rounding.
    @Test func perSuperBlockOrderComputesTheProduct() {
        let m = EncodedMatrix(.q2_K, rows: 10, columns: 512, seed: 1300)
        BlockFormatTests.expectNaiveTwinAgreement(m, seed: 62, allowance: { x, w, b, o in
            var quantization: Float = 0
            for g in 0..<2 {
                let amax = x[(b * 512 + g * 256)..<(b * 512 + (g + 1) * 256)].map(abs).max()!
                quantization += w[(o * 512 + g * 256)..<(o * 512 + (g + 1) * 256)].map(abs).reduce(0, +) * amax / 127 / 2
            }
            return quantization
        }) { m, x, batch, y in
            m.bytes.withUnsafeBytes { raw in
                m.format.multiplyIntegerProductsPerSuperBlockNaive(
                    x: x, w: raw.baseAddress!, rowBytes: m.rowBytes, y: &y, batch: batch, columns: m.columns, yStride: m.rows, rows: 0..<m.rows)
            }
        }
    }
}
