import Testing
@testable import SmallMindKernels

/// K-quant products in llama.cpp's x86 orders (the parity mode's, KQuantLlamaCppOrder.swift): each
/// vectorised kernel against its scalar twin.
struct KQuantLlamaCppOrderTests {
    /// Repacked Q4_K and Q2_K rows, bit for bit, at batches 1 … 15 (gemm and gemv rows, split at
    /// n − n mod 4) and row ranges that split the matrix anywhere.
    @Test(arguments: [(BlockFormat.q4_K, 256), (.q4_K, 768), (.q2_K, 256), (.q2_K, 768)])
    func repackedKernelsEqualTheirScalarTwin(format: BlockFormat, columns: Int) {
        let m = EncodedMatrix(format, rows: 16, columns: columns, seed: 1200 + UInt64(columns))
        #expect(format.llamaCppRepacks(rows: 16) && !format.llamaCppRepacks(rows: 12))
        expectTwinsAgree(m) { a, w, y, range in
            m.format.multiplyIntegerProductsLikeLlamaCppRepacked(a, w: w, rowBytes: m.rowBytes, y: y, yStride: m.rows, rows: range)
        } naive: { x, w, y, batch in
            m.format.multiplyIntegerProductsLikeLlamaCppRepackedNaive(
                x: x, w: w, rowBytes: m.rowBytes, y: y, batch: batch, columns: columns, yStride: m.rows, rows: 0..<m.rows)
        }
    }

    /// The tiled order (every K-quant and IQ4_XS), bit for bit.
    @Test(arguments: [BlockFormat.q4_K, .q5_K, .q6_K, .q3_K, .q2_K, .iq4_xs])
    func tiledKernelEqualsItsScalarTwin(format: BlockFormat) {
        let m = EncodedMatrix(format, rows: 12, columns: 768, seed: 1500)
        #expect(format.llamaCppTiles(rows: 12, batch: 8) && !format.llamaCppTiles(rows: 12, batch: 7))
        expectTwinsAgree(m) { a, w, y, range in
            m.format.multiplyIntegerProductsLikeLlamaCppTiled(a, w: w, rowBytes: m.rowBytes, y: y, yStride: m.rows, rows: range)
        } naive: { x, w, y, batch in
            m.format.multiplyIntegerProductsLikeLlamaCppTiledNaive(
                x: x, w: w, rowBytes: m.rowBytes, y: y, batch: batch, columns: m.columns, yStride: m.rows, rows: 0..<m.rows)
        }
    }

    /// Q6_K in ggml_vec_dot_q6_K_q8_K's lanes, bit for bit.
    @Test(arguments: [256, 768])
    func q6KLaneOrderEqualsItsScalarTwin(columns: Int) {
        let m = EncodedMatrix(.q6_K, rows: 11, columns: columns, seed: 1400 + UInt64(columns))
        expectTwinsAgree(m) { a, w, y, range in
            m.format.multiplyIntegerProductsInLlamaCppLaneOrder(a, w: w, rowBytes: m.rowBytes, y: y, yStride: m.rows, rows: range)
        } naive: { x, w, y, batch in
            m.format.multiplyIntegerProductsInLlamaCppLaneOrderNaive(
                x: x, w: w, rowBytes: m.rowBytes, y: y, batch: batch, columns: columns, yStride: m.rows, rows: 0..<m.rows)
        }
    }

    func expectTwinsAgree(
        _ m: EncodedMatrix,
        fast: (QuantizedActivations, UnsafeRawPointer, UnsafeMutablePointer<Float>, Range<Int>) -> Void,
        naive: (UnsafePointer<Float>, UnsafeRawPointer, UnsafeMutablePointer<Float>, Int) -> Void
    ) {
        for batch in 1...15 {
            let x = activations(batch * m.columns, seed: 61 + UInt64(batch))
            var fastY = [Float](repeating: .nan, count: batch * m.rows), naiveY = fastY
            let a = m.format.quantizeActivations(x, batch: batch, columns: m.columns)!
            defer { a.deallocate() }
            m.bytes.withUnsafeBytes { raw in
                fastY.withUnsafeMutableBufferPointer { y in
                    for range in [0..<3, 3..<4, 4..<m.rows] { fast(a, raw.baseAddress!, y.baseAddress!, range) }
                }
                naiveY.withUnsafeMutableBufferPointer { naive(x, raw.baseAddress!, $0.baseAddress!, batch) }
            }
            #expect(fastY.map(\.bitPattern) == naiveY.map(\.bitPattern), "\(m.format) batch \(batch)")
        }
    }

    /// The twins compute x · Wᵀ within the activations' quantization (Σ|w|·d_x/2 per super-block)
    /// of the float naive product: they differ from the eight-lane order only by float rounding.
    @Test(arguments: [(BlockFormat.q4_K, false), (.q2_K, false), (.q6_K, false), (.q4_K, true), (.q6_K, true), (.iq4_xs, true)])
    func llamaCppOrdersComputeTheProduct(format: BlockFormat, tiled: Bool) {
        let m = EncodedMatrix(format, rows: 10, columns: 512, seed: 1300)
        BlockFormatTests.expectNaiveTwinAgreement(m, seed: 62, allowance: { x, w, b, o in
            var quantization: Float = 0
            for g in 0..<2 {
                let amax = x[(b * 512 + g * 256)..<(b * 512 + (g + 1) * 256)].map(abs).max()!
                quantization += w[(o * 512 + g * 256)..<(o * 512 + (g + 1) * 256)].map(abs).reduce(0, +) * amax / 127 / 2
            }
            return quantization
        }) { m, x, batch, y in
            m.bytes.withUnsafeBytes { raw in
                if tiled {
                    m.format.multiplyIntegerProductsLikeLlamaCppTiledNaive(
                        x: x, w: raw.baseAddress!, rowBytes: m.rowBytes, y: &y, batch: batch, columns: m.columns, yStride: m.rows, rows: 0..<m.rows)
                } else if format == .q6_K {
                    m.format.multiplyIntegerProductsInLlamaCppLaneOrderNaive(
                        x: x, w: raw.baseAddress!, rowBytes: m.rowBytes, y: &y, batch: batch, columns: m.columns, yStride: m.rows, rows: 0..<m.rows)
                } else {
                    m.format.multiplyIntegerProductsLikeLlamaCppRepackedNaive(
                        x: x, w: raw.baseAddress!, rowBytes: m.rowBytes, y: &y, batch: batch, columns: m.columns, yStride: m.rows, rows: 0..<m.rows)
                }
            }
        }
    }
}
