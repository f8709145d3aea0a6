// Weight formats that stay encoded in memory — half precision and ggml's block quantizations — and
// the one matmul that serves them all: y = x · Wᵀ with W read in its stored encoding.
//
// How the fast path works: a row is consumed in groups of 32 elements. Each group is decoded
// (dequantized) straight into four SIMD8<Float> registers and multiplied into the accumulators of
// every activation row of the tile, so a weight byte is read and decoded once per tile of up to two
// activation rows, and never written back to memory as floats.
//
// Canonical order (batch invariance): the accumulator of y[b, o] is one SIMD8<Float>; lane j sums
// x[k]·w[k] for k ≡ j (mod 8), k ascending, with fused multiply-adds; then `Matmul.reduceLanes`,
// then a scalar tail. That is exactly `Matmul.dot` applied to the dequantized row — which is the
// test: fast kernel == dequantize + `Matmul.dot`, bit for bit, for any batch, tile or row range.
// Batches of two or more rows, and Q8_0/Q4_0 at batch 1 too, use `multiplyDecoded` (decode once:
// a small float buffer and `Matmul`'s float tiles for batches, registers at batch 1), in the same
// canonical order; the others walk their rows in sequence at batch 1 (`multiply`).
// The decoded values themselves are bit-identical to each format's scalar reference dequantizer
// (written after ggml's `dequantize_row_*`), so the chain of equalities reaches the file format.
//
// The runtime (`SmallMind`'s WeightMatrix) multiplies only the half formats this way. Quantized
// weights take llama.cpp's kind of arithmetic — activations quantized to Q8_0 (for Q8_0/Q4_0) or
// Q8_K (for the K-quants), integer block products (`multiplyIntegerProducts`; orders in
// `IntegerMatmul` and `KQuantIntegerMatmul`, kernels in `IntegerKernels` and
// `KQuantIntegerKernels`). For them `multiply` is the float reference, kept for tests.

#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// A weight encoding as the fast kernels see it: how to decode groups of 32 elements of a row.
/// Conforming types are caseless enums; every member is a static function on raw row bytes.
protocol BlockDecoder {
    /// Elements per block (1 for the half formats, whose rows need not be multiples of 32).
    static var blockElements: Int { get }
    /// Bytes per block.
    static var blockBytes: Int { get }
    /// Elements 32g ..< 32g + 32 of the row starting at `row`.
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup
    /// Elements k ..< k + 8 (k a multiple of 8). Used only past the last whole group, which only
    /// the half formats have.
    static func eight(_ row: UnsafeRawPointer, _ k: Int) -> SIMD8<Float>
    /// Element k. Used only for the scalar tail of half-format rows.
    static func element(_ row: UnsafeRawPointer, _ k: Int) -> Float
    /// The scalar reference dequantizer, written after ggml's `dequantize_row_*`.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>)
}

extension BlockDecoder {
    static func eight(_ row: UnsafeRawPointer, _ k: Int) -> SIMD8<Float> {
        preconditionFailure("rows of this format are whole 32-element groups")
    }

    static func element(_ row: UnsafeRawPointer, _ k: Int) -> Float {
        preconditionFailure("rows of this format are whole 32-element groups")
    }
}

/// 32 decoded weights, in element order: v0 = elements 0..<8, v1 = 8..<16, …
struct DecodedGroup {
    var v0: SIMD8<Float>
    var v1: SIMD8<Float>
    var v2: SIMD8<Float>
    var v3: SIMD8<Float>
}

/// Activation rows quantized for the integer products (`BlockFormat.quantizeActivations`).
public enum QuantizedActivations: Sendable {
    case q8_0(Q8Activations)
    case q8_K(Q8KActivations)

    /// The two activation encodings.
    public enum Encoding: Sendable {
        case q8_0, q8_K
    }

    func quantize(_ x: UnsafePointer<Float>, rows: Range<Int>, path: KernelPath) {
        switch self {
        case .q8_0(let a): a.quantize(x, rows: rows, path: path)
        case .q8_K(let a): a.quantize(x, rows: rows, path: path)
        }
    }

    public func deallocate() {
        switch self {
        case .q8_0(let a): a.deallocate()
        case .q8_K(let a): a.deallocate()
        }
    }

    /// The Q8_0 rows, which a format with that encoding was given (a programmer error otherwise).
    var q8_0Rows: Q8Activations {
        guard case .q8_0(let a) = self else { preconditionFailure("Q8_0 activations expected, got \(self)") }
        return a
    }

    /// The Q8_K rows, which a format with that encoding was given (a programmer error otherwise).
    var q8_KRows: Q8KActivations {
        guard case .q8_K(let a) = self else { preconditionFailure("Q8_K activations expected, got \(self)") }
        return a
    }
}

/// The encodings a weight matrix may use besides plain float32, as GGUF stores them.
public enum BlockFormat: String, Sendable, CaseIterable {
    /// IEEE half precision, one per element.
    case f16
    /// bfloat16 (the top half of a float32), one per element.
    case bf16
    /// Blocks of 32: f16 scale + 32 int8.
    case q8_0
    /// Blocks of 32: f16 scale + 32 4-bit values (offset 8).
    case q4_0
    /// Super-blocks of 256: f16 scale and min, eight 6-bit sub-scales and sub-mins, 4-bit values.
    case q4_K
    /// Super-blocks of 256: 6-bit values (4 low bits + 2 high bits), sixteen int8 sub-scales, f16 scale.
    case q6_K
    /// Blocks of 32: f16 scale + 32 5-bit values (offset 16).
    case q5_0
    /// Blocks of 32: f16 scale and minimum + 32 4-bit values.
    case q4_1
    /// Blocks of 32: f16 scale and minimum + 32 5-bit values.
    case q5_1
    /// Blocks of 32: f16 scale + 32 4-bit indices into a fixed table of 16 values.
    case iq4_nl
    /// Super-blocks of 256: f16 scale and min, eight 6-bit sub-scales and sub-mins, 5-bit values.
    case q5_K
    /// Super-blocks of 256: 3-bit values (2 low bits + 1 high bit), sixteen 6-bit sub-scales, f16 scale.
    case q3_K
    /// Super-blocks of 256: 2-bit values, sixteen 4-bit sub-scales and sub-mins, f16 scale and min.
    case q2_K
    /// Super-blocks of 256: 4-bit indices into a non-linear table, eight 6-bit sub-scales, f16 scale.
    case iq4_xs

    /// Elements per block.
    public var blockElements: Int { decoder.blockElements }
    /// Bytes per block.
    public var blockBytes: Int { decoder.blockBytes }

    /// Bytes taken by a row of `columns` elements (`columns` a multiple of `blockElements`).
    public func rowBytes(columns: Int) -> Int { columns / blockElements * blockBytes }

    var decoder: any BlockDecoder.Type {
        switch self {
        case .f16: return F16Decoder.self
        case .bf16: return BF16Decoder.self
        case .q8_0: return Q8_0Decoder.self
        case .q4_0: return Q4_0Decoder.self
        case .q4_K: return Q4KDecoder.self
        case .q6_K: return Q6KDecoder.self
        case .q5_0: return Q5_0Decoder.self
        case .q4_1: return Q4_1Decoder.self
        case .q5_1: return Q5_1Decoder.self
        case .iq4_nl: return IQ4_NLDecoder.self
        case .q5_K: return Q5KDecoder.self
        case .q3_K: return Q3KDecoder.self
        case .q2_K: return Q2KDecoder.self
        case .iq4_xs: return IQ4XSDecoder.self
        }
    }

    // The public entry points switch once and call a specialisation of the generic kernel, so the
    // hot loops are compiled here, with this module's CPU flags, for each format separately.

    /// y[b, o] = Σₖ x[b, k] · W[o, k] for o in `rows`, reading W (rows of `rowBytes` bytes,
    /// `columns` elements each) in this encoding. x is (batch, columns); y has row stride `yStride`.
    /// Each element is reduced in the canonical order described at the top of this file.
    /// `path` chooses the kernels' instructions (`KernelPath`; the results are the same).
    public func multiply(
        x: UnsafePointer<Float>, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>,
        batch: Int, columns: Int, yStride: Int, rows: Range<Int>, path: KernelPath = .selected
    ) {
        switch path {
        case .x86: multiply(X86Intrinsics.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .portable: multiply(PortableSIMD.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        }
    }

    private func multiply<I: InstructionSet>(
        _: I.Type, _ x: UnsafePointer<Float>, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ batch: Int, _ columns: Int, _ yStride: Int, _ rows: Range<Int>
    ) {
        // Batch 1 of the half formats and K-quants walks the rows in sequence (`multiply`); the
        // decode-once kernel's four-row tile measured slower there (m110 F16 S_TG 67 vs 39 tok/s)
        // and much faster for larger batches (B=8 72–135 → 161–214, B=32 89–162 → 290–547,
        // prompts 2–4×; two sessions of alternating runs). Both reduce in the canonical order, so the choice never shows in results.
        let decodeOnce = batch > 1
        switch self {
        case .f16 where decodeOnce: BlockMatmul.multiplyDecoded(F16Decoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .f16: BlockMatmul.multiply(F16Decoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .bf16 where decodeOnce: BlockMatmul.multiplyDecoded(BF16Decoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .bf16: BlockMatmul.multiply(BF16Decoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q8_0: BlockMatmul.multiplyDecoded(Q8_0Decoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q4_0: BlockMatmul.multiplyDecoded(Q4_0Decoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q4_K where decodeOnce: BlockMatmul.multiplyDecoded(Q4KDecoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q4_K: BlockMatmul.multiply(Q4KDecoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q6_K where decodeOnce: BlockMatmul.multiplyDecoded(Q6KDecoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q6_K: BlockMatmul.multiply(Q6KDecoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q5_0: BlockMatmul.multiplyDecoded(Q5_0Decoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q4_1: BlockMatmul.multiplyDecoded(Q4_1Decoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q5_1: BlockMatmul.multiplyDecoded(Q5_1Decoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .iq4_nl: BlockMatmul.multiplyDecoded(IQ4_NLDecoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q5_K where decodeOnce: BlockMatmul.multiplyDecoded(Q5KDecoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q5_K: BlockMatmul.multiply(Q5KDecoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q3_K where decodeOnce: BlockMatmul.multiplyDecoded(Q3KDecoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q3_K: BlockMatmul.multiply(Q3KDecoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q2_K where decodeOnce: BlockMatmul.multiplyDecoded(Q2KDecoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q2_K: BlockMatmul.multiply(Q2KDecoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .iq4_xs where decodeOnce: BlockMatmul.multiplyDecoded(IQ4XSDecoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .iq4_xs: BlockMatmul.multiply(IQ4XSDecoder.self, I.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        }
    }

    /// Decodes one row of `columns` elements into `out` with the fast decoder (embedding lookup).
    /// Bit-identical to `dequantizeReference`.
    public func dequantize(row: UnsafeRawPointer, columns: Int, into out: UnsafeMutablePointer<Float>, path: KernelPath = .selected) {
        switch path {
        case .x86: dequantize(X86Intrinsics.self, row, columns, out)
        case .portable: dequantize(PortableSIMD.self, row, columns, out)
        }
    }

    private func dequantize<I: InstructionSet>(_: I.Type, _ row: UnsafeRawPointer, _ columns: Int, _ out: UnsafeMutablePointer<Float>) {
        switch self {
        case .f16: BlockMatmul.decodeRow(F16Decoder.self, I.self, row, columns, out)
        case .bf16: BlockMatmul.decodeRow(BF16Decoder.self, I.self, row, columns, out)
        case .q8_0: BlockMatmul.decodeRow(Q8_0Decoder.self, I.self, row, columns, out)
        case .q4_0: BlockMatmul.decodeRow(Q4_0Decoder.self, I.self, row, columns, out)
        case .q4_K: BlockMatmul.decodeRow(Q4KDecoder.self, I.self, row, columns, out)
        case .q6_K: BlockMatmul.decodeRow(Q6KDecoder.self, I.self, row, columns, out)
        case .q5_0: BlockMatmul.decodeRow(Q5_0Decoder.self, I.self, row, columns, out)
        case .q4_1: BlockMatmul.decodeRow(Q4_1Decoder.self, I.self, row, columns, out)
        case .q5_1: BlockMatmul.decodeRow(Q5_1Decoder.self, I.self, row, columns, out)
        case .iq4_nl: BlockMatmul.decodeRow(IQ4_NLDecoder.self, I.self, row, columns, out)
        case .q5_K: BlockMatmul.decodeRow(Q5KDecoder.self, I.self, row, columns, out)
        case .q3_K: BlockMatmul.decodeRow(Q3KDecoder.self, I.self, row, columns, out)
        case .q2_K: BlockMatmul.decodeRow(Q2KDecoder.self, I.self, row, columns, out)
        case .iq4_xs: BlockMatmul.decodeRow(IQ4XSDecoder.self, I.self, row, columns, out)
        }
    }

    /// The scalar reference dequantizer of one row (ggml's `dequantize_row_*`, transcribed).
    public func dequantizeReference(row: UnsafeRawPointer, columns: Int, into out: UnsafeMutablePointer<Float>) {
        decoder.dequantizeReference(row, count: columns, into: out)
    }

    /// Whether `multiplyIntegerProducts` serves this format (every quantized one).
    public var hasIntegerProducts: Bool {
        switch self {
        case .f16, .bf16: return false
        case .q8_0, .q4_0, .q4_K, .q6_K: return true
        case .q5_0, .q4_1, .q5_1, .iq4_nl: return true
        case .q5_K, .q3_K, .q2_K, .iq4_xs: return true
        }
    }

    /// Rows of x quantized as `multiplyIntegerProducts` wants them for this format (Q8_0 blocks
    /// for the 32-element formats, Q8_K super-blocks for the K-quants), or nil for the half formats.
    /// The caller deallocates them after the product.
    public func quantizeActivations(_ x: UnsafePointer<Float>, batch: Int, columns: Int) -> QuantizedActivations? {
        quantizeActivations(x, batch: batch, columns: columns, pool: nil)
    }

    /// `quantizeActivations`, the rows split over `pool` when they hold `minimumElements` or more
    /// (each row is quantized on its own, so the codes are the same).
    public func quantizeActivations(
        _ x: UnsafePointer<Float>, batch: Int, columns: Int, pool: ThreadPool?,
        minimumElements: Int = ThreadPool.rowSplitMinimumElements, path: KernelPath = .selected
    ) -> QuantizedActivations? {
        let activations: QuantizedActivations
        switch activationEncoding {
        case nil: return nil
        case .q8_0: activations = .q8_0(Q8Activations(batch: batch, columns: columns))
        case .q8_K: activations = .q8_K(Q8KActivations(batch: batch, columns: columns))
        }
        if let pool, pool.threadCount > 1, batch > 1, batch * columns >= minimumElements {
            pool.run(splitting: batch) { rows, _ in activations.quantize(x, rows: rows, path: path) }
        } else {
            activations.quantize(x, rows: 0..<batch, path: path)
        }
        return activations
    }

    /// How `quantizeActivations` encodes activations for this format: matrices of formats with
    /// the same encoding can share one quantization of the same input. nil for the half formats.
    public var activationEncoding: QuantizedActivations.Encoding? {
        switch self {
        case .f16, .bf16: return nil
        case .q8_0, .q4_0: return .q8_0
        case .q4_K, .q6_K: return .q8_K
        // Q4_1/Q5_1: llama.cpp's Q8_1, which is Q8_0's codes and scale plus `scaledSums`.
        case .q5_0, .q4_1, .q5_1, .iq4_nl: return .q8_0
        case .q5_K, .q3_K, .q2_K, .iq4_xs: return .q8_K
        }
    }

    /// y = x · Wᵀ in integers, as llama.cpp computes it for these weights: each row of x quantized
    /// (`quantizeActivations`), integer products per block — for the 32-element formats `IntegerKernels` in
    /// `IntegerMatmul`'s order, for the K-quants `KQuantIntegerKernels` in `KQuantIntegerMatmul`'s
    /// (batch-invariant too, a different order from `multiply`'s). How the runtime multiplies
    /// these formats.
    public func multiplyIntegerProducts(
        x: UnsafePointer<Float>, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>,
        batch: Int, columns: Int, yStride: Int, rows: Range<Int>, path: KernelPath = .selected
    ) {
        guard let activations = quantizeActivations(x, batch: batch, columns: columns, pool: nil, path: path) else {
            preconditionFailure("\(self) has no integer kernel")
        }
        defer { activations.deallocate() }
        multiplyIntegerProducts(activations, w: w, rowBytes: rowBytes, y: y, yStride: yStride, rows: rows, path: path)
    }

    /// `multiplyIntegerProducts` on activations already quantized (once for all the threads that
    /// share a product) by this format's `quantizeActivations`.
    public func multiplyIntegerProducts(
        _ activations: QuantizedActivations, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>,
        yStride: Int, rows: Range<Int>, path: KernelPath = .selected
    ) {
        switch path {
        case .x86: multiplyIntegerProducts(X86Intrinsics.self, activations, w, rowBytes, y, yStride, rows)
        case .portable: multiplyIntegerProducts(PortableSIMD.self, activations, w, rowBytes, y, yStride, rows)
        }
    }

    private func multiplyIntegerProducts<I: InstructionSet>(
        _: I.Type, _ activations: QuantizedActivations, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ yStride: Int, _ rows: Range<Int>
    ) {
        switch self {
        case .q8_0: IntegerKernels.multiply(Q8_0Decoder.self, I.self, activations.q8_0Rows, w, rowBytes, y, yStride, rows)
        case .q4_0: IntegerKernels.multiply(Q4_0Decoder.self, I.self, activations.q8_0Rows, w, rowBytes, y, yStride, rows)
        case .q4_K: KQuantIntegerKernels.multiply(Q4KDecoder.self, I.self, activations.q8_KRows, w, rowBytes, y, yStride, rows)
        case .q6_K: KQuantIntegerKernels.multiply(Q6KDecoder.self, I.self, activations.q8_KRows, w, rowBytes, y, yStride, rows)
        case .q5_0: IntegerKernels.multiply(Q5_0Decoder.self, I.self, activations.q8_0Rows, w, rowBytes, y, yStride, rows)
        case .q4_1: IntegerKernels.multiply(Q4_1Decoder.self, I.self, activations.q8_0Rows, w, rowBytes, y, yStride, rows)
        case .q5_1: IntegerKernels.multiply(Q5_1Decoder.self, I.self, activations.q8_0Rows, w, rowBytes, y, yStride, rows)
        case .iq4_nl: IntegerKernels.multiply(IQ4_NLDecoder.self, I.self, activations.q8_0Rows, w, rowBytes, y, yStride, rows)
        case .q5_K: KQuantIntegerKernels.multiply(Q5KDecoder.self, I.self, activations.q8_KRows, w, rowBytes, y, yStride, rows)
        case .q3_K: KQuantIntegerKernels.multiply(Q3KDecoder.self, I.self, activations.q8_KRows, w, rowBytes, y, yStride, rows)
        case .q2_K: KQuantIntegerKernels.multiply(Q2KDecoder.self, I.self, activations.q8_KRows, w, rowBytes, y, yStride, rows)
        case .iq4_xs: KQuantIntegerKernels.multiply(IQ4XSDecoder.self, I.self, activations.q8_KRows, w, rowBytes, y, yStride, rows)
        case .f16, .bf16: preconditionFailure("\(self) has no integer kernel")
        }
    }

    /// The naive twin of `multiplyIntegerProducts`: scalar sums in the same order.
    public func multiplyIntegerProductsNaive(
        x: UnsafePointer<Float>, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>,
        batch: Int, columns: Int, yStride: Int, rows: Range<Int>
    ) {
        switch self {
        case .q8_0: IntegerMatmul.multiply(Q8_0Decoder.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q4_0: IntegerMatmul.multiply(Q4_0Decoder.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q4_K, .q6_K, .q5_K, .q3_K, .q2_K, .iq4_xs:
            KQuantIntegerMatmul.multiply(self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q5_0: IntegerMatmul.multiply(Q5_0Decoder.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q4_1: IntegerMatmul.multiply(Q4_1Decoder.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q5_1: IntegerMatmul.multiply(Q5_1Decoder.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .iq4_nl: IntegerMatmul.multiply(IQ4_NLDecoder.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .f16, .bf16: preconditionFailure("\(self) has no integer kernel")
        }
    }

    /// The naive twin of `multiply`: dequantize each row with the reference dequantizer, then a
    /// sequential scalar dot product. Slow and obviously right.
    public func multiplyNaive(
        x: UnsafePointer<Float>, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>,
        batch: Int, columns: Int, yStride: Int, rows: Range<Int>
    ) {
        let row = UnsafeMutablePointer<Float>.allocate(capacity: columns)
        defer { row.deallocate() }
        for o in rows {
            dequantizeReference(row: w + o * rowBytes, columns: columns, into: row)
            for b in 0..<batch {
                var sum: Float = 0
                for k in 0..<columns { sum += x[b * columns + k] * row[k] }
                y[b * yStride + o] = sum
            }
        }
    }
}

/// The generic fast kernel, specialised per decoder by the `BlockFormat` entry points.
enum BlockMatmul {
    /// Decode-once kernel. Batch 1: four weight rows are first read front to back as one
    /// sequential stream (`touch`), then decoded group by group in registers into four independent
    /// FMA chains (`tile4x1`). Larger batches: each block of four rows is decoded once into a small
    /// float buffer and multiplied by `Matmul.simd`'s float tiles. Every element is reduced exactly
    /// as `Matmul.dot` over the dequantized row, whatever the batch size or row range.
    /// (m110 Q8_0 vs the fused factored-order kernel, same session, medians, S_TG tok/s: B=1
    /// 184 → 172–176, B=8 243 → 333, B=32 343 → 544; prompt processing ~370 → ~560.)
    static func multiplyDecoded<D: BlockDecoder, I: InstructionSet>(
        _: D.Type, _: I.Type, _ x: UnsafePointer<Float>, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ batch: Int, _ columns: Int, _ ldy: Int, _ rows: Range<Int>
    ) {
        var o = rows.lowerBound
        if batch == 1 {
            while o + 4 <= rows.upperBound {
                let wo = w + o * rowBytes
                touch(wo, count: 4 * rowBytes, sink: y + o)
                tile4x1(D.self, I.self, wo, rowBytes, x, columns, y + o)
                o += 4
            }
            while o < rows.upperBound {
                y[o] = dot(D.self, I.self, w + o * rowBytes, x, columns)
                o += 1
            }
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * columns) { buffer in
            let decoded = buffer.baseAddress!
            while o < rows.upperBound {
                let n = min(4, rows.upperBound - o)
                for r in 0..<n { decodeRow(D.self, I.self, w + (o + r) * rowBytes, columns, decoded + r * columns) }
                Matmul.simd(x: x, w: decoded, y: y + o, batch: batch, inDim: columns, outDim: n, yStride: ldy)
                o += n
            }
        }
    }

    /// Reads `count` bytes front to back, one load per cache line, so that a block of weight rows
    /// arrives as one sequential stream (which the hardware prefetcher follows) before `tile4x1`
    /// reads it as four interleaved ones. The loads must have a visible effect or the optimiser
    /// drops them (an unused sum passed to an `@_optimize(none)` function was not enough: the
    /// loop compiled to no loads at all), so their sum is stored to `sink`, an output element the
    /// caller overwrites afterwards.
    @inline(never)
    static func touch(_ p: UnsafeRawPointer, count: Int, sink: UnsafeMutablePointer<Float>) {
        var sum: UInt32 = 0
        var i = 0
        while i < count {
            sum &+= UInt32(p.load(fromByteOffset: i, as: UInt8.self))
            i &+= 64
        }
        sink.pointee = Float(sum)
    }

    /// Four weight rows against one activation row, decoded group by group: four independent FMA
    /// chains, each in `Matmul.dot`'s order over its dequantized row.
    @inline(__always)
    static func tile4x1<D: BlockDecoder, I: InstructionSet>(
        _: D.Type, _: I.Type, _ w: UnsafeRawPointer, _ rowBytes: Int, _ x: UnsafePointer<Float>, _ columns: Int,
        _ y: UnsafeMutablePointer<Float>
    ) {
        let w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        let x0 = UnsafeRawPointer(x)
        for g in 0..<(columns >> 5) {
            let xg = x0 + g &* 128
            accumulate(&a0, D.group(w0, g, I.self), xg)
            accumulate(&a1, D.group(w1, g, I.self), xg)
            accumulate(&a2, D.group(w2, g, I.self), xg)
            accumulate(&a3, D.group(w3, g, I.self), xg)
        }
        y[0] = finish(D.self, a0, w0, x, columns)
        y[1] = finish(D.self, a1, w1, x, columns)
        y[2] = finish(D.self, a2, w2, x, columns)
        y[3] = finish(D.self, a3, w3, x, columns)
    }

    static func multiply<D: BlockDecoder, I: InstructionSet>(
        _: D.Type, _: I.Type, _ x: UnsafePointer<Float>, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ batch: Int, _ columns: Int, _ ldy: Int, _ rows: Range<Int>
    ) {
        var o = rows.lowerBound
        // Four weight rows at a time, each decoded group serving two activation rows.
        while o + 4 <= rows.upperBound {
            let wo = w + o * rowBytes
            var b = 0
            while b + 2 <= batch {
                tile4x2(D.self, I.self, wo, rowBytes, x + b * columns, columns, y + b * ldy + o, ldy)
                b += 2
            }
            if b < batch {
                // A single activation row walks the weight rows one after another, so the matrix
                // is read as one sequential stream the hardware prefetcher follows. Four short
                // interleaved row streams (a 4×1 tile) measured 2× slower at batch 1 (m110 F16
                // 44 → 75 tok/s, Q8_0 38 → 96), although they break the FMA chain.
                for r in 0..<4 { y[b * ldy + o + r] = dot(D.self, I.self, wo + r * rowBytes, x + b * columns, columns) }
            }
            o += 4
        }
        while o < rows.upperBound {
            for b in 0..<batch { y[b * ldy + o] = dot(D.self, I.self, w + o * rowBytes, x + b * columns, columns) }
            o += 1
        }
    }

    /// acc += x[0..<32] ⊙ group, as four FMAs in element order.
    @inline(__always)
    static func accumulate(_ acc: inout SIMD8<Float>, _ w: DecodedGroup, _ x: UnsafeRawPointer) {
        acc = acc.addingProduct(x.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self), w.v0)
        acc = acc.addingProduct(x.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self), w.v1)
        acc = acc.addingProduct(x.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self), w.v2)
        acc = acc.addingProduct(x.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self), w.v3)
    }

    /// Everything after the whole groups — 8-element steps, the lane reduction, the scalar tail —
    /// in `Matmul.dot`'s order. Only half-format rows have elements past the last whole group.
    @inline(__always)
    static func finish<D: BlockDecoder>(
        _: D.Type, _ acc: SIMD8<Float>, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int
    ) -> Float {
        var acc = acc
        let kMain = columns & ~7
        var k = columns & ~31
        while k < kMain {
            acc = acc.addingProduct(UnsafeRawPointer(x + k).loadUnaligned(as: SIMD8<Float>.self), D.eight(row, k))
            k &+= 8
        }
        var tail: Float = 0
        while k < columns {
            tail = tail.addingProduct(x[k], D.element(row, k))
            k &+= 1
        }
        return Matmul.reduceLanes(acc) + tail
    }

    @inline(__always)
    static func dot<D: BlockDecoder, I: InstructionSet>(_: D.Type, _: I.Type, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc = SIMD8<Float>()
        let xr = UnsafeRawPointer(x)
        for g in 0..<(columns >> 5) { accumulate(&acc, D.group(row, g, I.self), xr + g &* 128) }
        return finish(D.self, acc, row, x, columns)
    }

    @inline(__always)
    static func tile4x2<D: BlockDecoder, I: InstructionSet>(
        _: D.Type, _: I.Type, _ w: UnsafeRawPointer, _ rowBytes: Int, _ x: UnsafePointer<Float>, _ columns: Int,
        _ y: UnsafeMutablePointer<Float>, _ ldy: Int
    ) {
        let w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes
        var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>(), a03 = SIMD8<Float>()
        var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>(), a13 = SIMD8<Float>()
        let x0 = UnsafeRawPointer(x), x1 = UnsafeRawPointer(x + columns)
        for g in 0..<(columns >> 5) {
            let offset = g &* 128
            let d0 = D.group(w0, g, I.self)
            accumulate(&a00, d0, x0 + offset); accumulate(&a10, d0, x1 + offset)
            let d1 = D.group(w1, g, I.self)
            accumulate(&a01, d1, x0 + offset); accumulate(&a11, d1, x1 + offset)
            let d2 = D.group(w2, g, I.self)
            accumulate(&a02, d2, x0 + offset); accumulate(&a12, d2, x1 + offset)
            let d3 = D.group(w3, g, I.self)
            accumulate(&a03, d3, x0 + offset); accumulate(&a13, d3, x1 + offset)
        }
        let xs1 = x + columns
        y[0] = finish(D.self, a00, w0, x, columns)
        y[1] = finish(D.self, a01, w1, x, columns)
        y[2] = finish(D.self, a02, w2, x, columns)
        y[3] = finish(D.self, a03, w3, x, columns)
        y[ldy] = finish(D.self, a10, w0, xs1, columns)
        y[ldy + 1] = finish(D.self, a11, w1, xs1, columns)
        y[ldy + 2] = finish(D.self, a12, w2, xs1, columns)
        y[ldy + 3] = finish(D.self, a13, w3, xs1, columns)
    }

    static func decodeRow<D: BlockDecoder, I: InstructionSet>(_: D.Type, _: I.Type, _ row: UnsafeRawPointer, _ columns: Int, _ out: UnsafeMutablePointer<Float>) {
        let o = UnsafeMutableRawPointer(out)
        for g in 0..<(columns >> 5) {
            let d = D.group(row, g, I.self)
            o.storeBytes(of: d.v0, toByteOffset: g * 128, as: SIMD8<Float>.self)
            o.storeBytes(of: d.v1, toByteOffset: g * 128 + 32, as: SIMD8<Float>.self)
            o.storeBytes(of: d.v2, toByteOffset: g * 128 + 64, as: SIMD8<Float>.self)
            o.storeBytes(of: d.v3, toByteOffset: g * 128 + 96, as: SIMD8<Float>.self)
        }
        var k = columns & ~31
        while k + 8 <= columns {
            o.storeBytes(of: D.eight(row, k), toByteOffset: k * 4, as: SIMD8<Float>.self)
            k += 8
        }
        while k < columns {
            out[k] = D.element(row, k)
            k += 1
        }
    }
}

/// Reads a little-endian IEEE half at `offset` as a Float (exact).
@inline(__always)
func loadHalf(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

/// Reads a little-endian IEEE half at `p` as a Float, bit-identical to `loadHalf`, for the
/// block scales of Q8_0, Q4_0, Q4_K and Q6_K. `loadHalf` compiles to vpinsrw + vcvtph2ps,
/// and vpinsrw merges into whatever register the allocator picked — in the four-row loop that
/// was an accumulator, which chained all four rows' FMAs into one. Here the bits reach the vector
/// unit by vmovd, which depends on nothing, and vcvtph2ps converts them.
@inline(__always)
func loadHalfScale<I: InstructionSet>(_ p: UnsafeRawPointer, _: I.Type) -> Float {
    #if os(Linux) && arch(x86_64)
    if I.usesX86Intrinsics {
        let bits = _mm_cvtsi32_si128(Int32(p.loadUnaligned(as: UInt16.self)))
        return _mm_cvtph_ps(bits)[0]
    }
    #endif
    // A finite half's 15 magnitude bits, placed as a float's exponent and mantissa (with the
    // sign), are its value × 2⁻¹¹², which the multiply restores exactly (subnormal halves
    // included). Infinities and NaNs take the slow path.
    let h = UInt32(p.loadUnaligned(as: UInt16.self))
    let magnitude = h & 0x7FFF
    if _slowPath(magnitude >= 0x7C00) { return Float(Float16(bitPattern: UInt16(truncatingIfNeeded: h))) }
    return Float(bitPattern: (magnitude &<< 13) | ((h & 0x8000) &<< 16)) * 0x1p112
}
