// A weight matrix as it lies in memory — float32, half precision or one of ggml's block
// quantizations — behind one interface (multiply, row lookup), so the forward pass never cares how
// a matrix is stored. Encoded matrices stay encoded: the kernels decode blocks in registers.
import SmallMindKernels

/// How a matrix's elements are stored.
public enum WeightFormat: String, Sendable, CaseIterable {
    case f32, f16, bf16, q8_0, q4_0, q4_K, q6_K
    case q5_0, q4_1, q5_1, iq4_nl
    case q5_K, q3_K, q2_K, iq4_xs

    /// The kernels' description of an encoded format (nil for plain float32): the `BlockFormat`
    /// of the same name (a test checks that every format but F32 has one).
    public var blockFormat: BlockFormat? { BlockFormat(rawValue: rawValue) }

    /// The GGUF tensor type stored in this format: the `GGMLType` of the same name (a test checks
    /// that every format has one).
    public var ggmlType: GGMLType { GGMLType.allCases.first { String(describing: $0) == rawValue }! }

    /// Elements per block: rows must hold a whole number of blocks.
    public var blockElements: Int { blockFormat?.blockElements ?? 1 }

    /// Bytes taken by one row of `columns` elements (`columns` a multiple of `blockElements`).
    public func rowBytes(columns: Int) -> Int {
        blockFormat?.rowBytes(columns: columns) ?? columns * 4
    }

    /// The name GGUF and llama.cpp use (F32, Q8_0, Q4_K, …).
    public var displayName: String { rawValue.uppercased() }
}

/// A read-only (rows, columns) row-major matrix living in memory owned by `ModelWeights`.
public struct WeightMatrix: @unchecked Sendable {
    // @unchecked: a raw pointer into memory that is written once while loading and only read
    // afterwards; `ModelWeights.storage` keeps it alive for as long as any matrix is reachable.
    public let data: UnsafeRawPointer
    public let rows: Int
    public let columns: Int
    public let format: WeightFormat
    /// When set, each activation row is rounded as llama.cpp rounds it for this weight type
    /// before the product (see `ActivationRounding`): a parity mode for comparing with llama.cpp,
    /// off by default. It costs a scratch allocation per multiply. Only half-precision weights
    /// have one: quantized weights always take integer products, which quantize the activations
    /// themselves exactly as llama.cpp does.
    public private(set) var activationRounding: ActivationRounding?
    /// When set, float32 and f16 products sum in the order llama.cpp's CPU backend uses for the
    /// product's shape (see `followingLlamaCpp()`).
    public private(set) var followsLlamaCppOrder = false
    /// With `followsLlamaCppOrder`: in the order of a llama.cpp built for AVX-512 (ggml_vec_dot
    /// 16 lanes wide), not AVX2.
    public private(set) var followsAVX512Order = false
    /// When set, quantized weights are decoded and multiplied by the float32 activations
    /// (`BlockFormat.multiply`, `Matmul.dot`'s order) instead of integer products on 8-bit ones
    /// (`ForwardArithmetic.floatProducts`).
    public private(set) var multipliesDecodedWeights = false
    /// Quantized rows regrouped for the AVX-512 VNNI kernels (`interleavingRows()`); when set,
    /// products use them, in their order (`InterleavedRows`) rather than `IntegerKernels`'.
    public private(set) var interleaved: InterleavedRows?

    public init(data: UnsafeRawPointer, rows: Int, columns: Int, format: WeightFormat) {
        precondition(columns % format.blockElements == 0, "\(format) rows must be whole blocks of \(format.blockElements)")
        self.data = data
        self.rows = rows
        self.columns = columns
        self.format = format
    }

    /// A float32 matrix.
    public init(_ pointer: UnsafePointer<Float>, rows: Int, columns: Int) {
        self.init(data: UnsafeRawPointer(pointer), rows: rows, columns: columns, format: .f32)
    }

    public var rowBytes: Int { format.rowBytes(columns: columns) }
    public var byteCount: Int { rows * rowBytes }

    /// The matrix of rows `range` (no copy): how a fused QKV weight is viewed as Q, K and V.
    public func rows(_ range: Range<Int>) -> WeightMatrix {
        var view = WeightMatrix(data: data + range.lowerBound * rowBytes, rows: range.count, columns: columns, format: format)
        view.activationRounding = activationRounding
        view.followsLlamaCppOrder = followsLlamaCppOrder
        view.followsAVX512Order = followsAVX512Order
        view.multipliesDecodedWeights = multipliesDecodedWeights
        view.interleaved = interleaved?.rows(range)
        return view
    }

    /// This matrix with its rows regrouped for the AVX-512 VNNI kernels, where the processor has
    /// them and the format is quantized (otherwise unchanged). The copy takes as many bytes as
    /// the matrix (Q4_K: 3 % more); it is made once, when the model loads.
    public func interleavingRows() -> WeightMatrix {
        guard InterleavedRows.isAvailable, let block = format.blockFormat,
              let rows = InterleavedRows(format: block, w: data, rowBytes: rowBytes, rows: self.rows, columns: columns)
        else { return self }
        var copy = self
        copy.interleaved = rows
        return copy
    }

    /// This matrix multiplying activations rounded the way llama.cpp rounds them for its type
    /// (no change for float32 weights, which llama.cpp multiplies in float32, nor for quantized
    /// ones, whose integer products already quantize them as llama.cpp does).
    public func roundingActivationsLikeLlamaCpp() -> WeightMatrix {
        var copy = self
        copy.activationRounding = format.blockFormat.flatMap { $0.hasIntegerProducts ? nil : ActivationRounding(llamaCppFor: $0) }
        return copy
    }

    /// This matrix multiplying as llama.cpp's CPU backend does (`ForwardArithmetic.llamaCpp`):
    /// activations rounded to the weight type's vec_dot_type, and — for float32 and f16 weights —
    /// the sums in ggml's order for the product's shape: tinyBLAS's (this runtime's canonical
    /// order) for two or more activation rows, ggml_vec_dot's for one (`GGML.usesTinyBLAS`).
    /// Quantized weights take integer block products, as always (in the row walk's order, Q8_0
    /// and Q4_0 in ggml's AVX2 order — not the regrouped rows'; Q4_K and Q2_K as llama.cpp's
    /// repacked kernels sum them, Q6_K in ggml's own lanes: KQuantLlamaCppOrder.swift).
    /// `avx512`: ggml_vec_dot as a build for AVX-512 processors sums (`ForwardArithmetic.llamaCppAVX512`).
    public func followingLlamaCpp(avx512: Bool = false) -> WeightMatrix {
        var copy = roundingActivationsLikeLlamaCpp()
        copy.followsLlamaCppOrder = true
        copy.followsAVX512Order = avx512
        copy.interleaved = nil
        return copy
    }

    /// This matrix multiplying decoded weights by float32 activations (`ForwardArithmetic.floatProducts`).
    public func multiplyingDecodedWeights() -> WeightMatrix {
        var copy = self
        copy.multipliesDecodedWeights = true
        copy.interleaved = nil
        return copy
    }

    /// Writes row `index` as `columns` floats into `out` (embedding lookup), decoding if encoded.
    public func copyRow(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(index >= 0 && index < rows, "row \(index) outside 0..<\(rows)")
        let row = data + index * rowBytes
        if let block = format.blockFormat {
            block.dequantize(row: row, columns: columns, into: out)
        } else {
            out.update(from: row.assumingMemoryBound(to: Float.self), count: columns)
        }
    }

    /// y[b, o] = Σₖ x[b, k] · W[o, k] for o in `outputRows` (all rows by default): x is (batch,
    /// columns), y is (batch, rows). Every element is reduced in the same order whatever the batch
    /// and the row range — `Matmul.dot`'s order over the (decoded) row for float32 and half
    /// weights, the integer products' order for quantized ones (`IntegerMatmul`'s, or
    /// `InterleavedMatmul`'s for regrouped rows — fixed per matrix when it loads); see SmallMindKernels.
    /// For quantized weights, `quantized` may carry x already quantized (`quantizeActivations`),
    /// so that the threads sharing a product quantize it once.
    public func multiply(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, outputRows: Range<Int>? = nil,
        quantized: QuantizedActivations? = nil
    ) {
        let range = outputRows ?? 0..<rows
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "output rows \(range) outside 0..<\(rows)")
        if multipliesDecodedWeights, let block = format.blockFormat {
            block.multiply(x: x, w: data, rowBytes: rowBytes, y: y, batch: batch, columns: columns, yStride: rows, rows: range)
        } else if let interleaved {
            let activations = quantized ?? interleaved.format.quantizeActivations(x, batch: batch, columns: columns)!
            defer { if quantized == nil { activations.deallocate() } }
            interleaved.multiply(activations, y: y, yStride: rows, rows: range)
        } else if followsLlamaCppOrder, let block = format.blockFormat,
                  block.llamaCppRepacks(rows: rows) || block.llamaCppTiles(rows: rows, batch: batch) || block.llamaCppHasOwnLaneOrder {
            // K-quants as llama.cpp sums them on x86 (SmallMindKernels' KQuantLlamaCppOrder.swift),
            // which depends on the batch: repacked rows by its gemm and gemv kernels, eight rows or
            // more by its tiled kernels, Q6_K by fewer in its own lanes.
            let activations = quantized ?? block.quantizeActivations(x, batch: batch, columns: columns)!
            defer { if quantized == nil { activations.deallocate() } }
            if block.llamaCppRepacks(rows: rows) {
                block.multiplyIntegerProductsLikeLlamaCppRepacked(activations, w: data, rowBytes: rowBytes, y: y, yStride: rows, rows: range)
            } else if block.llamaCppTiles(rows: rows, batch: batch) {
                block.multiplyIntegerProductsLikeLlamaCppTiled(activations, w: data, rowBytes: rowBytes, y: y, yStride: rows, rows: range)
            } else {
                block.multiplyIntegerProductsInLlamaCppLaneOrder(activations, w: data, rowBytes: rowBytes, y: y, yStride: rows, rows: range)
            }
        } else if let block = format.blockFormat, block.hasIntegerProducts {
            // Activations quantized to Q8_0 (Q8_0/Q4_0 weights) or Q8_K (K-quants), integer block
            // products — llama.cpp's arithmetic, in every mode.
            if let quantized {
                block.multiplyIntegerProducts(quantized, w: data, rowBytes: rowBytes, y: y, yStride: rows, rows: range)
            } else {
                block.multiplyIntegerProducts(
                    x: x, w: data, rowBytes: rowBytes, y: y, batch: batch, columns: columns, yStride: rows, rows: range)
            }
        } else if let rounding = activationRounding {
            let rounded = UnsafeMutablePointer<Float>.allocate(capacity: batch * columns)
            defer { rounded.deallocate() }
            for b in 0..<batch { rounding.round(x + b * columns, count: columns, into: rounded + b * columns) }
            var plain = self
            plain.activationRounding = nil
            plain.multiply(rounded, into: y, batch: batch, outputRows: range)
        } else if followsLlamaCppOrder, format == .f32 || format == .f16,
                  !GGML.usesTinyBLAS(batch: batch, rows: rows, columns: columns) {
            GGML.multiplyByRows(
                x: x, w: data, half: format == .f16, y: y, batch: batch, columns: columns, yStride: rows, rows: range, avx512: followsAVX512Order)
        } else if let block = format.blockFormat {
            block.multiply(x: x, w: data, rowBytes: rowBytes, y: y, batch: batch, columns: columns, yStride: rows, rows: range)
        } else {
            Matmul.simd(
                x: x, w: data.assumingMemoryBound(to: Float.self), y: y, batch: batch, inDim: columns, outDim: rows,
                rows: range)
        }
    }

    /// x quantized as this matrix's `multiply` quantizes it (quantized weights), or nil for formats
    /// that multiply floats. The caller deallocates it after the product.
    /// With a pool, the rows are quantized on its threads when they hold `minimumElements` or
    /// more (the same codes).
    public func quantizeActivations(
        _ x: UnsafePointer<Float>, batch: Int, pool: ThreadPool? = nil, minimumElements: Int = ThreadPool.rowSplitMinimumElements
    ) -> QuantizedActivations? {
        format.blockFormat?.quantizeActivations(x, batch: batch, columns: columns, pool: pool, minimumElements: minimumElements)
    }

    /// How `quantizeActivations` encodes x: matrices with the same encoding and columns can share
    /// one quantization of the same x. nil for formats that multiply floats.
    public var activationEncoding: QuantizedActivations.Encoding? {
        multipliesDecodedWeights ? nil : format.blockFormat?.activationEncoding
    }

    /// Pointer identity, to tell a tied classifier from a separate one.
    func sharesStorage(with other: WeightMatrix) -> Bool { data == other.data }
}
