import Testing
@testable import SmallMindKernels

/// Random but well-formed encoded rows: random payload bytes, with every scale field overwritten by
/// a finite half of a sensible magnitude (random bytes there would make infinities and NaNs).
struct EncodedMatrix {
    let format: BlockFormat
    let rows: Int
    let columns: Int
    var bytes: [UInt8]

    var rowBytes: Int { format.rowBytes(columns: columns) }

    init(_ format: BlockFormat, rows: Int, columns: Int, seed: UInt64) {
        self.format = format
        self.rows = rows
        self.columns = columns
        var random = XorShift(seed: seed)
        bytes = (0..<(rows * format.rowBytes(columns: columns))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        func half(_ value: Float) -> [UInt8] {
            let bits = Float16(value).bitPattern
            return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
        }
        let blockCount = bytes.count / format.blockBytes
        for block in 0..<blockCount {
            let at = block * format.blockBytes
            func put(_ offset: Int, _ value: Float) { bytes.replaceSubrange(at + offset..<at + offset + 2, with: half(value)) }
            let scale = random.unit() * 0.05 + 0.001
            switch format {
            case .f16, .bf16:
                let value = random.unit() * 2 - 1
                if format == .f16 {
                    put(0, value)
                } else {
                    let bits = UInt16(value.bitPattern >> 16)
                    bytes[at] = UInt8(bits & 0xFF); bytes[at + 1] = UInt8(bits >> 8)
                }
            case .q8_0, .q4_0: put(0, scale)
            case .q4_K: put(0, scale); put(2, random.unit() * 0.05)
            case .q6_K: put(208, scale)
            case .q5_0, .iq4_nl: put(0, scale)
            case .q4_1, .q5_1: put(0, scale); put(2, random.unit() * 0.1 - 0.05)
            case .q5_K: put(0, scale); put(2, random.unit() * 0.05)
            case .q3_K: put(108, scale)
            case .q2_K: put(80, scale); put(82, random.unit() * 0.05)
            case .iq4_xs: put(0, scale * 0.1)
            }
        }
    }

    func reference() -> [Float] {
        var out = [Float](repeating: .nan, count: rows * columns)
        bytes.withUnsafeBytes { raw in
            for r in 0..<rows { format.dequantizeReference(row: raw.baseAddress! + r * rowBytes, columns: columns, into: &out[r * columns]) }
        }
        return out
    }

    func multiply(_ x: [Float], batch: Int, rows range: Range<Int>? = nil, into y: inout [Float]) {
        bytes.withUnsafeBytes { raw in
            format.multiply(x: x, w: raw.baseAddress!, rowBytes: rowBytes, y: &y, batch: batch, columns: columns, yStride: rows, rows: range ?? 0..<rows)
        }
    }

    /// The f16 minimum of block `block` of row `row` (Q4_1, Q5_1; 0 for the others).
    func minimum(row: Int, block: Int) -> Float {
        guard format == .q4_1 || format == .q5_1 else { return 0 }
        let at = row * rowBytes + block * format.blockBytes + 2
        return Float(Float16(bitPattern: UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8))
    }

    /// Q8_0/Q4_0: llama.cpp's integer products (the parity mode's kernel).
    func multiplyIntegers(_ x: [Float], batch: Int, rows range: Range<Int>? = nil, into y: inout [Float]) {
        bytes.withUnsafeBytes { raw in
            format.multiplyIntegerProducts(
                x: x, w: raw.baseAddress!, rowBytes: rowBytes, y: &y, batch: batch, columns: columns, yStride: rows, rows: range ?? 0..<rows)
        }
    }
}

struct XorShift {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

func activations(_ count: Int, seed: UInt64) -> [Float] {
    var random = XorShift(seed: seed)
    return (0..<count).map { _ in random.unit() * 2 - 1 }
}

struct BlockFormatTests {
    /// Row lengths per format: whole blocks for the quantized ones; for the halves also lengths
    /// that end in a partial 32-group, a partial 8-chunk and a scalar tail (172 = 5·32 + 8 + 4).
    static let cases: [(BlockFormat, Int)] = [
        (.f16, 172), (.f16, 37), (.f16, 64), (.bf16, 172), (.bf16, 24),
        (.q8_0, 32), (.q8_0, 96), (.q4_0, 64), (.q4_0, 160), (.q4_K, 256), (.q4_K, 512), (.q6_K, 256), (.q6_K, 768),
        (.q5_0, 32), (.q5_0, 160), (.q4_1, 64), (.q4_1, 96), (.q5_1, 32), (.q5_1, 160), (.iq4_nl, 64), (.iq4_nl, 96),
        (.q5_K, 256), (.q5_K, 768), (.q3_K, 256), (.q3_K, 512), (.q2_K, 256), (.q2_K, 768), (.iq4_xs, 256), (.iq4_xs, 512),
    ]

    /// The block-scale half decoders — F16C's on x86, the integer-only one elsewhere (and with
    /// SMALLMIND_KERNELS=portable) — equal the standard library's conversion for every one of the
    /// 65536 bit patterns (NaNs compared as bits too).
    @Test func halfScaleDecodersEqualFloat16Conversion() {
        var mismatches = (x86: 0, portable: 0)
        for bits in 0...UInt16.max {
            var h = bits
            let x86 = withUnsafeBytes(of: &h) { loadHalfScale($0.baseAddress!, X86Intrinsics.self) }
            let portable = withUnsafeBytes(of: &h) { loadHalfScale($0.baseAddress!, PortableSIMD.self) }
            let expected = Float(Float16(bitPattern: bits))
            if x86.bitPattern != expected.bitPattern { mismatches.x86 += 1 }
            if portable.bitPattern != expected.bitPattern { mismatches.portable += 1 }
        }
        #expect(mismatches.x86 == 0)
        #expect(mismatches.portable == 0)
    }

    @Test(arguments: 0..<cases.count)
    func fastDecoderEqualsReferenceDequantizer(index: Int) {
        let (format, columns) = Self.cases[index]
        let m = EncodedMatrix(format, rows: 3, columns: columns, seed: 11 + UInt64(index))
        let reference = m.reference()
        #expect(reference.allSatisfy { $0.isFinite })
        var fast = [Float](repeating: .nan, count: m.rows * columns)
        m.bytes.withUnsafeBytes { raw in
            for r in 0..<m.rows { format.dequantize(row: raw.baseAddress! + r * m.rowBytes, columns: columns, into: &fast[r * columns]) }
        }
        #expect(fast.map(\.bitPattern) == reference.map(\.bitPattern))
    }

    /// The fast kernel reduces in `Matmul.dot`'s order over the dequantized row: equal bit for bit,
    /// every format (Q8_0 and Q4_0 through the decode-once kernel).
    @Test(arguments: 0..<cases.count)
    func fusedKernelEqualsDequantizeThenDot(index: Int) {
        let (format, columns) = Self.cases[index]
        let rows = 9, batch = 5
        let m = EncodedMatrix(format, rows: rows, columns: columns, seed: 100 + UInt64(index))
        let w = m.reference()
        let x = activations(batch * columns, seed: 7)
        var y = [Float](repeating: .nan, count: batch * rows)
        m.multiply(x, batch: batch, into: &y)
        for b in 0..<batch {
            for o in 0..<rows {
                let expected = x.withUnsafeBufferPointer { xs in
                    w.withUnsafeBufferPointer { ws in Matmul.dot(xs.baseAddress! + b * columns, ws.baseAddress! + o * columns, count: columns) }
                }
                #expect(y[b * rows + o].bitPattern == expected.bitPattern, "\(format) b=\(b) o=\(o)")
            }
        }
    }

    /// Against the naive twin (reference dequantizer + sequential scalar sum): the orders differ,
    /// so they agree within float rounding of the sum, bounded by 1e-5 · Σ|x·w| (n·ε·Σ|terms| is
    /// the worst case, 3e-5 for n = 512; a typical error is √n·ε ≈ 1e-6 relative).
    @Test(arguments: 0..<cases.count)
    func fusedKernelAgreesWithNaiveTwin(index: Int) {
        let (format, columns) = Self.cases[index]
        Self.expectNaiveTwinAgreement(EncodedMatrix(format, rows: 10, columns: columns, seed: 200 + UInt64(index)), seed: 8) {
            $0.multiply($1, batch: $2, into: &$3)
        }
    }

    /// Each y[b, o] of `product` is within 1e-5 · Σ|x·w| (+ `allowance(x, w, b, o)`) of the naive
    /// twin's, for 3 activation rows.
    static func expectNaiveTwinAgreement(
        _ m: EncodedMatrix, seed: UInt64, allowance: (_ x: [Float], _ w: [Float], _ b: Int, _ o: Int) -> Float = { _, _, _, _ in 0 },
        _ product: (EncodedMatrix, [Float], Int, inout [Float]) -> Void
    ) {
        let rows = m.rows, columns = m.columns, batch = 3
        let w = m.reference()
        let x = activations(batch * columns, seed: seed)
        var fast = [Float](repeating: .nan, count: batch * rows), naive = fast
        product(m, x, batch, &fast)
        m.bytes.withUnsafeBytes { raw in
            m.format.multiplyNaive(x: x, w: raw.baseAddress!, rowBytes: m.rowBytes, y: &naive, batch: batch, columns: columns, yStride: rows, rows: 0..<rows)
        }
        for b in 0..<batch {
            for o in 0..<rows {
                var magnitude: Float = 0
                for k in 0..<columns { magnitude += abs(x[b * columns + k] * w[o * columns + k]) }
                let i = b * rows + o, bound = allowance(x, w, b, o) + 1e-5 * magnitude + 1e-7
                #expect(abs(fast[i] - naive[i]) <= bound, "\(m.format) b=\(b) o=\(o): \(fast[i]) vs \(naive[i])")
            }
        }
    }

    /// Batch invariance: a row of x gives the same bits alone (batch 1) as inside a batch of 7, and
    /// splitting the output rows into ranges (as a thread pool will) changes nothing.
    @Test(arguments: 0..<cases.count)
    func resultsIgnoreBatchAndRowRange(index: Int) {
        let (format, columns) = Self.cases[index]
        Self.expectBatchInvariance(EncodedMatrix(format, rows: 11, columns: columns, seed: 300 + UInt64(index)), seed: 9) {
            $0.multiply($1, batch: $2, rows: $3, into: &$4)
        }
    }

    /// The check of `resultsIgnoreBatchAndRowRange` for any product of `m` (x, batch, rows, y).
    static func expectBatchInvariance(
        _ m: EncodedMatrix, seed: UInt64, _ product: (EncodedMatrix, [Float], Int, Range<Int>?, inout [Float]) -> Void
    ) {
        let rows = m.rows, columns = m.columns, batch = 7
        let x = activations(batch * columns, seed: seed)
        var together = [Float](repeating: .nan, count: batch * rows)
        product(m, x, batch, nil, &together)
        for b in 0..<batch {
            var alone = [Float](repeating: .nan, count: rows)
            product(m, Array(x[b * columns..<(b + 1) * columns]), 1, nil, &alone)
            #expect(alone.map(\.bitPattern) == together[b * rows..<(b + 1) * rows].map(\.bitPattern), "\(m.format) row \(b)")
        }
        var split = [Float](repeating: .nan, count: batch * rows)
        for range in [0..<1, 1..<6, 6..<7, 7..<11] { product(m, x, batch, range, &split) }
        #expect(split.map(\.bitPattern) == together.map(\.bitPattern))
    }
}

/// The integer products of Q8_0, Q4_0 and the K-quants (llama.cpp's arithmetic, `IntegerMatmul`,
/// `KQuantIntegerMatmul`).
extension BlockFormatTests {
    static let integerCases: [(BlockFormat, Int)] = cases.filter { $0.0.hasIntegerProducts } + [
        (.q8_0, 256), (.q4_0, 512), (.q4_K, 768), (.q5_0, 896), (.q4_1, 640), (.q5_1, 512), (.iq4_nl, 896),
        (.q5_K, 512), (.q3_K, 768), (.q2_K, 512), (.iq4_xs, 768),
    ]

    /// Batch invariance of the integer products, as for `multiply`.
    @Test(arguments: 0..<integerCases.count)
    func integerResultsIgnoreBatchAndRowRange(index: Int) {
        let (format, columns) = Self.integerCases[index]
        Self.expectBatchInvariance(EncodedMatrix(format, rows: 11, columns: columns, seed: 500 + UInt64(index)), seed: 19) {
            $0.multiplyIntegers($1, batch: $2, rows: $3, into: &$4)
        }
    }

    /// The vectorised integer kernel equals its scalar twin (`IntegerMatmul`) bit for bit, for
    /// batches that use the one-, four- and eight-row shapes and their remainders. Random payload bytes
    /// include Q8_0 code −128, the extreme vpmaddubsw must not saturate on.
    @Test(arguments: 0..<integerCases.count)
    func integerKernelEqualsScalarTwin(index: Int) {
        let (format, columns) = Self.integerCases[index]
        let m = EncodedMatrix(format, rows: 6, columns: columns, seed: 700 + UInt64(index))
        for batch in [1, 3, 4, 9, 12, 15] {
            let x = activations(batch * columns, seed: 23 + UInt64(batch))
            var fast = [Float](repeating: .nan, count: batch * m.rows), naive = fast
            m.multiplyIntegers(x, batch: batch, into: &fast)
            m.bytes.withUnsafeBytes { raw in
                format.multiplyIntegerProductsNaive(
                    x: x, w: raw.baseAddress!, rowBytes: m.rowBytes, y: &naive, batch: batch, columns: columns, yStride: m.rows, rows: 0..<m.rows)
            }
            #expect(fast.map(\.bitPattern) == naive.map(\.bitPattern), "\(format) batch \(batch)")
        }
    }

    /// The block sums of x86's integer instructions equal the portable SIMD ones (other
    /// platforms), extremes included.
    @Test func blockSumsEqualPortableBlockSums() {
        var random = XorShift(seed: 77)
        var cases: [(SIMD32<Int8>, SIMD32<Int8>)] = [(SIMD32(repeating: -128), SIMD32(repeating: 127)), (SIMD32(repeating: -128), SIMD32(repeating: -127))]
        for _ in 0..<200 {
            var w = SIMD32<Int8>(), x = SIMD32<Int8>()
            for i in 0..<32 {
                w[i] = Int8(truncatingIfNeeded: random.next())
                x[i] = max(-127, Int8(truncatingIfNeeded: random.next()))  // activation codes stay within ±127
            }
            cases.append((w, x))
        }
        for (w, x) in cases {
            #expect(IntegerKernels.blockSums(w, x, X86Intrinsics.self) == IntegerKernels.portableBlockSums(w, x))
        }
    }

    /// The K-quant chunk sums of x86's integer instructions equal the portable SIMD ones, with and
    /// without Q6_K's and Q3_K's offsets and for IQ4_XS's signed levels, at the extremes of codes
    /// (6-bit; signed ±127), activations (±127) and scales.
    @Test func chunkSumsEqualPortableChunkSums() {
        var random = XorShift(seed: 78)
        var cases: [(SIMD32<UInt8>, SIMD32<Int8>, SIMD16<Int16>)] = [
            (SIMD32(repeating: 63), SIMD32(repeating: -127), SIMD16(repeating: -128)),
            (SIMD32(repeating: 0), SIMD32(repeating: 127), SIMD16(repeating: 127)),
            (SIMD32(repeating: 0x81), SIMD32(repeating: -127), SIMD16(repeating: -32)),  // signed: −127 · −127
        ]
        for _ in 0..<200 {
            var u = SIMD32<UInt8>(), x = SIMD32<Int8>(), scales = SIMD16<Int16>()
            for i in 0..<32 {
                u[i] = UInt8(truncatingIfNeeded: random.next()) & 63
                x[i] = max(-127, Int8(truncatingIfNeeded: random.next()))
            }
            for i in 0..<16 { scales[i] = Int16(Int8(truncatingIfNeeded: random.next())) }
            cases.append((u, x, scales))
        }
        for (u, x, scales) in cases {
            for codes in [KQuantCodes.unsigned(offset: 0), .unsigned(offset: 4), .unsigned(offset: 32)] {
                #expect(KQuantIntegerKernels.chunkSums(u, x, scales, codes, X86Intrinsics.self) == KQuantIntegerKernels.portableChunkSums(u, x, scales, codes))
            }
            // Signed levels: any byte but −128 (IQ4_XS's table spans −127 … 113).
            var levels = SIMD32<UInt8>()
            for i in 0..<32 {
                let byte = UInt8(truncatingIfNeeded: random.next())
                levels[i] = byte == 0x80 ? 0x81 : byte
            }
            #expect(KQuantIntegerKernels.chunkSums(levels, x, scales, .signed, X86Intrinsics.self) == KQuantIntegerKernels.portableChunkSums(levels, x, scales, .signed))
            #expect(KQuantIntegerKernels.chunkSums(u, x, scales, .signed, X86Intrinsics.self) == KQuantIntegerKernels.portableChunkSums(u, x, scales, .signed))
        }
    }

    /// Against the float naive twin: the activations' quantization moves each element by at most
    /// half a step d_x/2 — d_x = amax/127 over the element's block of 32 (Q8_0) or 256 (Q8_K) —
    /// plus, for Q8_0, the f16 rounding of d_x (≤ 127·d_x·2⁻¹¹ < amax·2⁻¹⁰), so the results differ
    /// by at most Σ|w|·(d_x/2 + that) over the blocks, plus float rounding of the sums.
    /// Q4_1/Q5_1 split w = d·q + m: the d·q part moves as above (|d·q| ≤ |w| + |m|), and the
    /// minimum's term m·Σx becomes m·s_x, s_x = f16(amax/127 · Σ codes), off by at most
    /// |m|·(32·amax/254 + |s_x|·2⁻¹¹).
    @Test(arguments: 0..<integerCases.count)
    func integerKernelAgreesWithFloatProductWithinQuantization(index: Int) {
        let (format, columns) = Self.integerCases[index]
        let m = EncodedMatrix(format, rows: 10, columns: columns, seed: 600 + UInt64(index))
        let block = format.blockElements == 256 ? 256 : 32
        Self.expectNaiveTwinAgreement(m, seed: 21, allowance: { x, w, b, o in
            var quantization: Float = 0
            for g in 0..<(columns / block) {
                let xs = x[(b * columns + g * block)..<(b * columns + (g + 1) * block)]
                let amax = xs.map(abs).max()!
                let step = block == 32 ? Float(Float16(amax / 127)) : amax / 127
                let minimum = m.minimum(row: o, block: g)
                let weights = w[(o * columns + g * block)..<(o * columns + (g + 1) * block)].map { abs($0) + abs(minimum) }.reduce(0, +)
                quantization += weights * (step / 2 + (block == 32 ? amax / 1024 : 0))
                let sum = xs.reduce(0, +)
                quantization += abs(minimum) * (32 * amax / 254 + (abs(sum) + 32 * amax / 254) / 2048)
            }
            return quantization
        }) {
            $0.multiplyIntegers($1, batch: $2, into: &$3)
        }
    }
}
