import Testing
@testable import SmallMindKernels

/// Rows of every format with integer products regrouped eight at a time (`InterleavedRows`) and their AVX-512 VNNI kernels.
struct InterleavedRowsTests {
    /// Formats and shapes: row counts that leave a last group of 1, 5 and 8 rows, rows of one to
    /// sixteen blocks (one to three K-quant super-blocks).
    static let cases: [(BlockFormat, rows: Int, columns: Int)] = [
        (.q8_0, 9, 32), (.q8_0, 21, 96), (.q8_0, 16, 512), (.q4_0, 13, 64), (.q4_0, 24, 160), (.q4_0, 17, 512),
        (.q4_K, 9, 256), (.q4_K, 16, 512), (.q4_K, 21, 768), (.q6_K, 9, 256), (.q6_K, 16, 512), (.q6_K, 21, 768),
        (.q5_0, 9, 32), (.q5_0, 21, 896), (.q5_0, 16, 640), (.q4_1, 13, 64), (.q4_1, 17, 160), (.q5_1, 9, 96), (.q5_1, 24, 512),
        (.iq4_nl, 13, 64), (.iq4_nl, 17, 896),
        (.q5_K, 9, 256), (.q5_K, 16, 512), (.q5_K, 21, 768),
        (.iq4_xs, 9, 256), (.iq4_xs, 16, 512), (.iq4_xs, 21, 768),
        (.q3_K, 9, 256), (.q3_K, 16, 512), (.q3_K, 21, 768), (.q2_K, 9, 256), (.q2_K, 16, 512), (.q2_K, 21, 768),
    ]

    static let unavailable = "no AVX-512 VNNI here (processor, platform or SMALLMIND_AVX512=0): the interleaved kernels never run"

    func interleaved(_ m: EncodedMatrix) -> InterleavedRows {
        m.bytes.withUnsafeBytes { raw in
            InterleavedRows(format: m.format, w: raw.baseAddress!, rowBytes: m.rowBytes, rows: m.rows, columns: m.columns)!
        }
    }

    func multiply(_ rows: InterleavedRows, _ x: [Float], batch: Int, range: Range<Int>, into y: inout [Float]) {
        let a = rows.format.quantizeActivations(x, batch: batch, columns: rows.columns)!
        defer { a.deallocate() }
        rows.multiply(a, y: &y, yStride: rows.rows, rows: range)
    }

    /// The kernel equals its scalar twin bit for bit — which reads the rows as the file stores
    /// them, so the regrouping is checked too — for batches using the eight-, four- and one-row
    /// shapes and their remainders. Random payload bytes include Q8_0 code −128.
    @Test(.enabled(if: InterleavedRows.isAvailable, Comment(rawValue: unavailable)), arguments: 0..<cases.count)
    func kernelEqualsScalarTwin(index: Int) {
        let (format, rows, columns) = Self.cases[index]
        let m = EncodedMatrix(format, rows: rows, columns: columns, seed: 900 + UInt64(index))
        let packed = interleaved(m)
        for batch in [1, 2, 4, 5, 8, 13, 15] {
            let x = activations(batch * columns, seed: 31 + UInt64(batch))
            var fast = [Float](repeating: .nan, count: batch * rows), naive = fast
            multiply(packed, x, batch: batch, range: 0..<rows, into: &fast)
            m.bytes.withUnsafeBytes { raw in
                InterleavedRows.multiplyNaive(
                    format: format, x: x, w: raw.baseAddress!, rowBytes: m.rowBytes, y: &naive, batch: batch, columns: columns,
                    yStride: rows, rows: 0..<rows)
            }
            #expect(fast.map(\.bitPattern) == naive.map(\.bitPattern), "\(format) \(rows)×\(columns) batch \(batch)")
        }
    }

    /// A row alone gives the bits it gives among others, and any split of the output rows —
    /// ranges that cut groups, row-range views that start at one — gives the whole product's bits.
    @Test(.enabled(if: InterleavedRows.isAvailable, Comment(rawValue: unavailable)), arguments: 0..<cases.count)
    func resultsIgnoreBatchAndRowRange(index: Int) {
        let (format, rows, columns) = Self.cases[index]
        let m = EncodedMatrix(format, rows: rows, columns: columns, seed: 950 + UInt64(index))
        let packed = interleaved(m)
        let batch = 9
        let x = activations(batch * columns, seed: 41)
        var together = [Float](repeating: .nan, count: batch * rows)
        multiply(packed, x, batch: batch, range: 0..<rows, into: &together)
        for b in 0..<batch {
            var alone = [Float](repeating: .nan, count: rows)
            multiply(packed, Array(x[b * columns..<(b + 1) * columns]), batch: 1, range: 0..<rows, into: &alone)
            #expect(alone.map(\.bitPattern) == together[b * rows..<(b + 1) * rows].map(\.bitPattern), "\(format) row \(b)")
        }
        var split = [Float](repeating: .nan, count: batch * rows)
        let cuts = [0, 3, 8] + (rows > 11 ? [11] : []) + [rows]
        for (lower, upper) in zip(cuts, cuts.dropFirst()) { multiply(packed, x, batch: batch, range: lower..<upper, into: &split) }
        #expect(split.map(\.bitPattern) == together.map(\.bitPattern), "\(format): rows split at \(cuts)")
        // The view of rows 8..< starts at group 1; its row o is the matrix's row 8 + o.
        let view = packed.rows(8..<rows)!
        var tail = [Float](repeating: .nan, count: batch * (rows - 8))
        multiply(view, x, batch: batch, range: 0..<rows - 8, into: &tail)
        for b in 0..<batch {
            #expect(tail[b * (rows - 8)..<(b + 1) * (rows - 8)].map(\.bitPattern) == together[(b * rows + 8)..<(b + 1) * rows].map(\.bitPattern))
        }
        #expect(packed.rows(3..<rows) == nil, "a view must start at a group")
    }

    /// The twin computes x · Wᵀ: within the activations' quantization error of the float
    /// product (each element of x moves by at most half a step d_x/2, plus for Q8_0 blocks the
    /// f16 rounding of d_x, below amax·2⁻¹⁰), so by at most Σ|w|·(d_x/2 + amax/1024) per block
    /// (Σ|w|·d_x/2 per Q8_K super-block, whose d_x stays a float), plus float rounding.
    @Test(arguments: 0..<cases.count)
    func twinAgreesWithFloatProductWithinQuantization(index: Int) {
        let (format, rows, columns) = Self.cases[index]
        let m = EncodedMatrix(format, rows: rows, columns: columns, seed: 980 + UInt64(index))
        let batch = 3, w = m.reference(), x = activations(batch * columns, seed: 43)
        var y = [Float](repeating: .nan, count: batch * rows)
        m.bytes.withUnsafeBytes { raw in
            InterleavedRows.multiplyNaive(
                format: format, x: x, w: raw.baseAddress!, rowBytes: m.rowBytes, y: &y, batch: batch, columns: columns,
                yStride: rows, rows: 0..<rows)
        }
        for b in 0..<batch {
            for o in 0..<rows {
                var exact: Double = 0, magnitude: Float = 0, bound: Float = 0
                let n = format.blockElements
                for g in 0..<(columns / n) {
                    let xs = x[(b * columns + g * n)..<(b * columns + g * n + n)]
                    let amax = xs.map(abs).max()!
                    let step = n == 32 ? Float(Float16(amax / 127)) : amax / 127
                    let ws = w[(o * columns + g * n)..<(o * columns + g * n + n)]
                    // Q4_1/Q5_1: w = d·q + m, the minimum's term apart (as in BlockFormatTests).
                    let minimum = m.minimum(row: o, block: g)
                    bound += ws.map { abs($0) + abs(minimum) }.reduce(0, +) * (step / 2 + (n == 32 ? amax / 1024 : 0))
                    bound += abs(minimum) * (32 * amax / 254 + (abs(xs.reduce(0, +)) + 32 * amax / 254) / 2048)
                    for (xi, wi) in zip(xs, ws) { exact += Double(xi) * Double(wi); magnitude += abs(xi * wi) }
                }
                let error = abs(Double(y[b * rows + o]) - exact)
                #expect(error <= Double(bound + 1e-5 * magnitude + 1e-7), "\(format) b=\(b) o=\(o): \(y[b * rows + o]) vs \(exact)")
            }
        }
    }
}
