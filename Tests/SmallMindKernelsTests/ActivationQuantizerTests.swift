import Testing
@testable import SmallMindKernels

/// The Q8_0 activation quantizer of the integer products (`ActivationQuantizer`).
struct ActivationQuantizerTests {
    /// Rows with the awkward blocks in them: random values, an all-zero block, one huge value among
    /// small ones, exact ties (amax = 127 makes the inverse 1, so x.5 must round half to even),
    /// negative extremes, values so small that the scale rounds to 0 in f16, and subnormals so
    /// small that 127/amax overflows (codes 0).
    static func rows() -> [[Float]] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func unit() -> Float {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(state >> 40) / Float(1 << 24)
        }
        let random = (0..<96).map { _ in unit() * 2 - 1 }
        let zero = [Float](repeating: 0, count: 32)
        let huge = (0..<32).map { $0 == 17 ? 1e6 : (unit() - 0.5) * 0.01 }
        let ties: [Float] = [127, 2.5, 3.5, -2.5, -3.5, 0.5, -0.5, 1.5, 126.5, -126.5] + (0..<22).map { Float($0) - 10.5 }
        let negative = (0..<32).map { $0 == 3 ? -5 : unit() * 5 - 2.5 }
        let small = (0..<32).map { _ in (unit() - 0.5) * 1e-30 }
        let subnormal = (0..<32).map { Float($0 - 16) * .leastNonzeroMagnitude }
        return [random, zero + random, huge, ties, negative, zero, small, subnormal]
    }

    /// `ActivationQuantizer.quantizeRowFast` on `path`'s instructions.
    static func quantizeRowFast(
        _ path: KernelPath, _ x: UnsafePointer<Float>, count: Int, codes: UnsafeMutablePointer<Int8>,
        scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Int32>, scaledSums: UnsafeMutablePointer<Float>
    ) {
        switch path {
        case .x86:
            ActivationQuantizer.quantizeRowFast(x, count: count, codes: codes, scales: scales, sums: sums, scaledSums: scaledSums, X86Intrinsics.self)
        case .portable:
            ActivationQuantizer.quantizeRowFast(x, count: count, codes: codes, scales: scales, sums: sums, scaledSums: scaledSums, PortableSIMD.self)
        }
    }

    static func quantize(_ row: [Float]) -> (codes: [Int16], scales: [Float]) {
        var codes = [Int16](repeating: 99, count: row.count), scales = [Float](repeating: .nan, count: row.count / 32)
        ActivationQuantizer.quantizeRow(row, count: row.count, codes: &codes, scales: &scales)
        return (codes, scales)
    }

    /// Codes times scales are exactly the values `ActivationRounding.q8_0` (the parity mode's
    /// transcription of ggml's quantize_row_q8_0) writes back (but for the sign of zero).
    /// (Not the subnormal row: there ggml's own codes are garbage, and the rounding gives 0 · ∞.)
    @Test func dequantizedCodesEqualActivationRounding() {
        for row in Self.rows().dropLast() {
            let (codes, scales) = Self.quantize(row)
            var rounded = [Float](repeating: .nan, count: row.count)
            ActivationRounding.q8_0.round(row, count: row.count, into: &rounded)
            let dequantized = codes.indices.map { Float(codes[$0]) * scales[$0 / 32] }
            // Compared as values: the rounding keeps the sign of x where it rounds to zero (−0).
            #expect(dequantized == rounded)
        }
    }

    @Test func edgeCases() {
        let rows = Self.rows()
        // All-zero block: scale 0, codes 0.
        let zero = Self.quantize(rows[5])
        #expect(zero.scales == [0] && zero.codes.allSatisfy { $0 == 0 })
        // One huge value: it becomes 127, everything else 0; the scale is f16(1e6 / 127).
        let huge = Self.quantize(rows[2])
        #expect(huge.codes[17] == 127)
        #expect(huge.codes.enumerated().allSatisfy { $0.offset == 17 || $0.element == 0 })
        #expect(huge.scales[0] == Float(Float16(Float(1e6) / 127)))
        // Ties round half to even.
        let ties = Self.quantize(rows[3])
        #expect(Array(ties.codes.prefix(10)) == [127, 2, 4, -2, -4, 0, 0, 2, 126, -126])
        // Scale below f16's range: codes still carry the shape, the scale is 0.
        let small = Self.quantize(rows[6])
        #expect(small.scales == [0] && (small.codes.contains(127) || small.codes.contains(-127)))
        // 127 / amax overflows: codes 0.
        #expect(Self.quantize(rows[7]).codes.allSatisfy { $0 == 0 })
    }

    /// Already-rounded activations quantize back to the same codes (the parity mode relies on the
    /// kernel's own quantization and no longer rounds twice, but a caller may pass rounded rows).
    @Test func requantizingRoundedRowsIsIdempotent() {
        for row in Self.rows().prefix(6) {  // not the tiny rows, whose scale rounds to 0 in f16
            var rounded = [Float](repeating: .nan, count: row.count)
            ActivationRounding.q8_0.round(row, count: row.count, into: &rounded)
            #expect(Self.quantize(rounded).codes == Self.quantize(row).codes)
        }
    }

    /// The vectorised quantizer of the integer kernels writes the scalar one's codes and scales,
    /// each block's sum of codes, and the scalar one's scaled sums — which are llama.cpp's
    /// block_q8_1.s: f16 of the unrounded scale amax/127 times the sum (not the f16 scale's).
    @Test(arguments: KernelPath.allCases)
    func fastQuantizerEqualsScalarQuantizer(path: KernelPath) {
        for row in Self.rows() {
            let (codes, scales) = Self.quantize(row)
            var scalarScaledSums = [Float](repeating: .nan, count: row.count / 32), ignored = [Int16](repeating: 0, count: row.count)
            var ignoredScales = scalarScaledSums
            ActivationQuantizer.quantizeRow(row, count: row.count, codes: &ignored, scales: &ignoredScales, scaledSums: &scalarScaledSums)
            var fastCodes = [Int8](repeating: 99, count: row.count), fastScales = [Float](repeating: .nan, count: row.count / 32)
            var sums = [Int32](repeating: 99, count: row.count / 32), scaledSums = [Float](repeating: .nan, count: row.count / 32)
            Self.quantizeRowFast(
                path, row, count: row.count, codes: &fastCodes, scales: &fastScales, sums: &sums, scaledSums: &scaledSums)
            #expect(fastCodes.map(Int16.init) == codes)
            #expect(fastScales.map(\.bitPattern) == scales.map(\.bitPattern))
            #expect(sums == (0..<row.count / 32).map { g in codes[g * 32..<g * 32 + 32].reduce(0) { $0 + Int32($1) } })
            #expect(scaledSums.map(\.bitPattern) == scalarScaledSums.map(\.bitPattern))
            for g in 0..<row.count / 32 {
                let amax = row[g * 32..<g * 32 + 32].map(abs).max()!
                #expect(scaledSums[g] == Float(Float16(amax / 127 * Float(sums[g]))))
            }
        }
        // A block where the two differ: 32 × 0.3 (codes 127, sum 4064): f16(0.3/127 · 4064) = 9.6,
        // f16(f16(0.3/127) · 4064) = 9.59.
        let flat = [Float](repeating: 0.3, count: 32)
        var codes = [Int8](repeating: 0, count: 32), scale: [Float] = [0], sum: [Int32] = [0], scaled: [Float] = [0]
        Self.quantizeRowFast(path, flat, count: 32, codes: &codes, scales: &scale, sums: &sum, scaledSums: &scaled)
        #expect(sum == [127 * 32] && scaled == [Float(Float16(Float(0.3) / 127 * 4064))])
        #expect(Float(Float16(scale[0] * Float(sum[0]))) != scaled[0], "the f16 scale times the sum is another value")
    }

    /// A NaN or infinite activation (a diverged model) quantizes without trapping, and the blocks
    /// without one are untouched by it.
    @Test(arguments: KernelPath.allCases)
    func nonFiniteActivationsDoNotTrap(path: KernelPath) {
        var row = Self.rows()[0]
        row[3] = .nan
        row[40] = .infinity
        var codes = [Int8](repeating: 99, count: row.count), scales = [Float](repeating: .nan, count: row.count / 32)
        var sums = [Int32](repeating: 0, count: row.count / 32), scaledSums = [Float](repeating: 0, count: row.count / 32)
        Self.quantizeRowFast(path, row, count: row.count, codes: &codes, scales: &scales, sums: &sums, scaledSums: &scaledSums)
        let clean = Self.quantize(Self.rows()[0])
        #expect(codes[64...].map(Int16.init) == Array(clean.codes[64...]))
        #expect(codes[40] == 0 || codes[40] == 127)
    }

    /// Q8_K codes times d are exactly what `ActivationRounding.q8_K` (the transcription of ggml's
    /// quantize_row_q8_K_ref) writes back, and each block of 32 keeps the sum of its codes. The
    /// rows: the ones above run together into super-blocks of 256, and a block whose largest
    /// magnitude occurs with both signs (the first one wins). Each half block keeps its sum too.
    @Test(arguments: KernelPath.allCases)
    func q8KCodesEqualActivationRounding(path: KernelPath) {
        let flat = Self.rows().dropLast().flatMap { $0 }
        let tie = (0..<256).map { i -> Float in i == 5 ? -3 : i == 9 ? 3 : Float(i % 7) * 0.25 - 0.7 }
        let zero = [Float](repeating: 0, count: 256)
        let row = Array(flat.prefix(256)) + tie + zero
        let a = Q8KActivations(batch: 1, columns: row.count)
        defer { a.deallocate() }
        a.quantize(row, rows: 0..<1, path: path)
        var rounded = [Float](repeating: .nan, count: row.count)
        ActivationRounding.q8_K.round(row, count: row.count, into: &rounded)
        let dequantized = (0..<row.count).map { Float(a.codes[$0]) * a.scales[$0 / 256] }
        #expect(dequantized == rounded)
        #expect(a.codes[256 + 5] == -127 && a.codes[256 + 9] == 127)  // iscale = −127 / (−3), not −127 / 3
        for g in 0..<(row.count / 32) {
            #expect(a.sums[g] == (0..<32).reduce(Int32(0)) { $0 + Int32(a.codes[g * 32 + $1]) })
        }
        for h in 0..<(row.count / 16) {
            #expect(a.halfSums[h] == (0..<16).reduce(Int32(0)) { $0 + Int32(a.codes[h * 16 + $1]) })
        }
    }
}
