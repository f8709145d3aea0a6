// K-quant integer products summed as llama.cpp's x86 CPU backend sums them where its order differs
// from this runtime's (`KQuantIntegerMatmul`) — used only by llama.cpp's arithmetics
// (`ForwardArithmetic.llamaCpp`, `.llamaCppAVX512`; `WeightMatrix.followingLlamaCpp`). The integers are the same exact sums; what differs is which
// of them become one float before the fused multiply-adds, and that moves the last bits.
//
// 1. Repacked rows. llama.cpp regroups the rows of a Q4_K matrix (AVX2) or a Q2_K matrix
//    (AVX-512) eight at a time when the matrix has a multiple of eight rows (its Q4_Kx8 / Q2_Kx8
//    blocks, ggml-cpu/repack.cpp) and multiplies them with two kernels: gemm for activation rows
//    in groups of four, gemv for the rest (a product of n rows: the first n − n mod 4 by gemm
//    when n > 3, the others by gemv). Each sums one exact integer per group of elements and fuses
//    it with one FMA; the mins likewise, into their own accumulator:
//
//      acc = fma(Float(isum), d_w·d_x, acc),  accMin = fma(Float(msum), dmin_w·d_x, accMin),  y = acc − accMin
//
//    gemv's group is the super-block (256 elements); gemm's is 64 elements for Q4_K and 128 for
//    Q2_K (`llamaCppGemmElements`). Q2_K is taken as repacked in both arithmetics, as an AVX-512
//    build does (an AVX2 build would tile it; no golden file has Q2_K from one).
//
// 2. Q6_K (not repacked on x86): ggml_vec_dot_q6_K_q8_K (AVX2) keeps this runtime's eight lanes
//    (lane j: elements 4j ..< 4j + 4 of every 32) but multiplies the unsigned 6-bit codes and takes
//    the −32 offset off afterwards, lane j losing 32·Σ(sc·Σx) over the two sub-blocks of the j-th
//    32 elements; then acc_j = fma(d_w·d_x, Float(s_j), acc_j) per super-block and the lanes
//    reduced as `Matmul.reduceLanes` does.
//
// 3. Tiled. Products of eight or more activation rows with K-quant weights that are not repacked
//    go to llama.cpp's tiled kernels (ggml-cpu/tiled): one exact integer per super-block for the
//    scaled products and one for the mins, then
//
//      r = fma(−dmin_w, Float(msum), Float(isum)·d_w),  acc = fma(r, d_x, acc)
//
//    (the AVX2 kernel writes the last step as an FMA; the AVX-512 VNNI one as a multiply and an
//    add, which GCC contracts into one: its machine code is vcvtdq2ps, vmulps, vfmadd213ps — and
//    the real Qwen file's 29-token prompt agrees only so).
//
// Each has a scalar twin here (`...Naive`), equal bit for bit (KQuantLlamaCppOrderTests).

extension KQuantIntegerKernels {
    /// y[b, o] for o in `rows` and b in `batchRows`, one exact integer per `chunksPerSum` chunks
    /// of 32 elements.
    static func multiplyPerGroup<W: KQuantBlocks, I: InstructionSet>(
        _: W.Type, _: I.Type, _ a: Q8KActivations, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ ldy: Int, _ rows: Range<Int>, batchRows: Range<Int>, chunksPerSum: Int
    ) {
        let superBlocks = a.columns / 256
        for o in rows {
            let row = w + o * rowBytes
            for b in batchRows {
                let x = UnsafeRawPointer(a.codes + b * a.columns)
                var acc: Float = 0, accMin: Float = 0
                for sb in 0..<superBlocks {
                    let block = row + sb &* W.blockBytes, xb = x + sb &* 256
                    let header = W.header(block, I.self)
                    let at = b &* superBlocks &+ sb, dx = a.scales[at]
                    var first = 0
                    while first < 8 {
                        let lanes = superBlockLanes(W.self, I.self, block, header, xb, chunks: first..<(first + chunksPerSum))
                        // Exact: the group's integer sum (|isum| < 2³¹, as each lane's).
                        acc = acc.addingProduct(Float(lanes.wrappedSum()), W.scale(header) * dx)
                        if W.hasMins {
                            let mins = W.mins(header, chunks: first..<(first + chunksPerSum), sums32: a.sums + at &* 8, sums16: a.halfSums + at &* 16)
                            accMin = accMin.addingProduct(Float(mins.sum), mins.dmin * dx)
                        }
                        first += chunksPerSum
                    }
                }
                y[b * ldy + o] = acc - accMin
            }
        }
    }

    /// y[b, o] for o in `rows`, every activation row: llama.cpp's tiled order (case 3 above).
    static func multiplyTiled<W: KQuantBlocks, I: InstructionSet>(
        _: W.Type, _: I.Type, _ a: Q8KActivations, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ ldy: Int, _ rows: Range<Int>
    ) {
        let superBlocks = a.columns / 256
        for o in rows {
            let row = w + o * rowBytes
            for b in 0..<a.batch {
                let x = UnsafeRawPointer(a.codes + b * a.columns)
                var acc: Float = 0
                for sb in 0..<superBlocks {
                    let block = row + sb &* W.blockBytes, xb = x + sb &* 256
                    let header = W.header(block, I.self)
                    let lanes = superBlockLanes(W.self, I.self, block, header, xb)
                    let at = b &* superBlocks &+ sb
                    var r = Float(lanes.wrappedSum()) * W.scale(header)
                    if W.hasMins {
                        let (mins, dmin) = W.mins(header, sums32: a.sums + at &* 8, sums16: a.halfSums + at &* 16, I.self)
                        r = r.addingProduct(-dmin, Float(mins))
                    }
                    acc = acc.addingProduct(r, a.scales[at])
                }
                y[b * ldy + o] = acc
            }
        }
    }

    /// y[b, o] for o in `rows`, every activation row: Q6_K in ggml_vec_dot_q6_K_q8_K's order.
    static func multiplyQ6KLikeLlamaCpp<I: InstructionSet>(
        _: I.Type, _ a: Q8KActivations, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ ldy: Int, _ rows: Range<Int>
    ) {
        let superBlocks = a.columns / 256
        for o in rows {
            let row = w + o * rowBytes
            for b in 0..<a.batch {
                let x = UnsafeRawPointer(a.codes + b * a.columns)
                var acc = SIMD8<Float>()
                for sb in 0..<superBlocks {
                    let block = row + sb &* Q6KDecoder.blockBytes, xb = x + sb &* 256
                    let header = Q6KDecoder.header(block, I.self)
                    let at = b &* superBlocks &+ sb
                    var lanes = superBlockLanes(Q6KDecoder.self, I.self, block, header, xb, codes: .unsigned(offset: 0))
                    // Lane j loses 32·(sc·Σx) of sub-blocks 2j and 2j + 1 (the j-th 32 elements).
                    let halfSums = a.halfSums + at &* 16
                    var offsets = SIMD8<Int32>()
                    for j in 0..<8 {
                        offsets[j] = Q6KDecoder.subBlockScale(block, 2 &* j) &* halfSums[2 &* j]
                            &+ Q6KDecoder.subBlockScale(block, 2 &* j &+ 1) &* halfSums[2 &* j &+ 1]
                    }
                    lanes &-= offsets &<< 5
                    acc = acc.addingProduct(toFloat(lanes, I.self), SIMD8(repeating: Q6KDecoder.scale(header) * a.scales[at]))
                }
                y[b * ldy + o] = Matmul.reduceLanes(acc)
            }
        }
    }
}

extension Q6KDecoder {
    /// Sub-block s's signed 8-bit scale (16 elements each).
    @inline(__always)
    static func subBlockScale(_ block: UnsafeRawPointer, _ s: Int) -> Int32 {
        Int32(block.load(fromByteOffset: 192 &+ s, as: Int8.self))
    }
}

extension BlockFormat {
    /// Whether llama.cpp (x86) repacks a matrix of this format with `rows` rows into eight-row
    /// groups and multiplies it with its gemm/gemv kernels (case 1 at the top of this file).
    public func llamaCppRepacks(rows: Int) -> Bool { (self == .q4_K || self == .q2_K) && rows % 8 == 0 }

    /// Whether llama.cpp's (x86) product of this format by fewer than eight activation rows sums
    /// differently from this runtime's (case 2 at the top of this file): Q6_K.
    public var llamaCppHasOwnLaneOrder: Bool { self == .q6_K }

    /// Elements per integer sum of llama.cpp's repacked gemm kernel: Q4_K 64, Q2_K 128.
    var llamaCppGemmElements: Int { self == .q4_K ? 64 : 128 }

    /// `multiplyIntegerProducts` in llama.cpp's order for repacked rows (`llamaCppRepacks`): the
    /// first n − n mod 4 activation rows as its gemm sums them when n > 3, the others as its gemv.
    public func multiplyIntegerProductsLikeLlamaCppRepacked(
        _ activations: QuantizedActivations, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>,
        yStride: Int, rows: Range<Int>, path: KernelPath = .selected
    ) {
        guard case .q8_K(let a) = activations, self == .q4_K || self == .q2_K else {
            preconditionFailure("llama.cpp repacks no \(self) rows for \(activations) activations")
        }
        let gemm = a.batch > 3 ? a.batch - a.batch % 4 : 0
        for (batchRows, elements) in [(0..<gemm, llamaCppGemmElements), (gemm..<a.batch, 256)] where !batchRows.isEmpty {
            multiplyPerGroup(a, w: w, rowBytes: rowBytes, y: y, yStride: yStride, rows: rows, batchRows: batchRows, chunksPerSum: elements / 32, path: path)
        }
    }

    private func multiplyPerGroup(
        _ a: Q8KActivations, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>, yStride: Int, rows: Range<Int>,
        batchRows: Range<Int>, chunksPerSum: Int, path: KernelPath
    ) {
        switch (self, path) {
        case (.q4_K, .x86):
            KQuantIntegerKernels.multiplyPerGroup(Q4KDecoder.self, X86Intrinsics.self, a, w, rowBytes, y, yStride, rows, batchRows: batchRows, chunksPerSum: chunksPerSum)
        case (.q4_K, .portable):
            KQuantIntegerKernels.multiplyPerGroup(Q4KDecoder.self, PortableSIMD.self, a, w, rowBytes, y, yStride, rows, batchRows: batchRows, chunksPerSum: chunksPerSum)
        case (.q2_K, .x86):
            KQuantIntegerKernels.multiplyPerGroup(Q2KDecoder.self, X86Intrinsics.self, a, w, rowBytes, y, yStride, rows, batchRows: batchRows, chunksPerSum: chunksPerSum)
        case (.q2_K, .portable):
            KQuantIntegerKernels.multiplyPerGroup(Q2KDecoder.self, PortableSIMD.self, a, w, rowBytes, y, yStride, rows, batchRows: batchRows, chunksPerSum: chunksPerSum)
        case (.f16, _), (.bf16, _), (.q8_0, _), (.q4_0, _), (.q6_K, _), (.q5_K, _), (.q3_K, _), (.iq4_xs, _), (.q5_0, _), (.q4_1, _),
             (.q5_1, _), (.iq4_nl, _):
            preconditionFailure("llama.cpp repacks no \(self) rows")
        }
    }

    /// Whether llama.cpp multiplies a matrix of this format with `rows` rows by `batch` activation
    /// rows with its tiled kernels (case 3 at the top of this file): K-quants and IQ4_XS not
    /// repacked, eight rows or more.
    public func llamaCppTiles(rows: Int, batch: Int) -> Bool {
        switch self {
        case .q4_K, .q5_K, .q6_K, .q3_K, .q2_K, .iq4_xs: batch >= 8 && !llamaCppRepacks(rows: rows)
        case .f16, .bf16, .q8_0, .q4_0, .q5_0, .q4_1, .q5_1, .iq4_nl: false
        }
    }

    /// `multiplyIntegerProducts` in llama.cpp's tiled order (`llamaCppTiles`).
    public func multiplyIntegerProductsLikeLlamaCppTiled(
        _ activations: QuantizedActivations, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>,
        yStride: Int, rows: Range<Int>, path: KernelPath = .selected
    ) {
        guard case .q8_K(let a) = activations else { preconditionFailure("llama.cpp tiles no \(self) products with \(activations) activations") }
        typealias K = KQuantIntegerKernels
        switch (self, path) {
        case (.q4_K, .x86): K.multiplyTiled(Q4KDecoder.self, X86Intrinsics.self, a, w, rowBytes, y, yStride, rows)
        case (.q4_K, .portable): K.multiplyTiled(Q4KDecoder.self, PortableSIMD.self, a, w, rowBytes, y, yStride, rows)
        case (.q5_K, .x86): K.multiplyTiled(Q5KDecoder.self, X86Intrinsics.self, a, w, rowBytes, y, yStride, rows)
        case (.q5_K, .portable): K.multiplyTiled(Q5KDecoder.self, PortableSIMD.self, a, w, rowBytes, y, yStride, rows)
        case (.q6_K, .x86): K.multiplyTiled(Q6KDecoder.self, X86Intrinsics.self, a, w, rowBytes, y, yStride, rows)
        case (.q6_K, .portable): K.multiplyTiled(Q6KDecoder.self, PortableSIMD.self, a, w, rowBytes, y, yStride, rows)
        case (.q3_K, .x86): K.multiplyTiled(Q3KDecoder.self, X86Intrinsics.self, a, w, rowBytes, y, yStride, rows)
        case (.q3_K, .portable): K.multiplyTiled(Q3KDecoder.self, PortableSIMD.self, a, w, rowBytes, y, yStride, rows)
        case (.q2_K, .x86): K.multiplyTiled(Q2KDecoder.self, X86Intrinsics.self, a, w, rowBytes, y, yStride, rows)
        case (.q2_K, .portable): K.multiplyTiled(Q2KDecoder.self, PortableSIMD.self, a, w, rowBytes, y, yStride, rows)
        case (.iq4_xs, .x86): K.multiplyTiled(IQ4XSDecoder.self, X86Intrinsics.self, a, w, rowBytes, y, yStride, rows)
        case (.iq4_xs, .portable): K.multiplyTiled(IQ4XSDecoder.self, PortableSIMD.self, a, w, rowBytes, y, yStride, rows)
        case (.f16, _), (.bf16, _), (.q8_0, _), (.q4_0, _), (.q5_0, _), (.q4_1, _), (.q5_1, _), (.iq4_nl, _):
            preconditionFailure("llama.cpp tiles no \(self) products")
        }
    }

    /// The scalar twin of `multiplyIntegerProductsLikeLlamaCppTiled` (quantizes x itself).
    public func multiplyIntegerProductsLikeLlamaCppTiledNaive(
        x: UnsafePointer<Float>, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>,
        batch: Int, columns: Int, yStride: Int, rows: Range<Int>
    ) {
        let a = Q8KActivations(x, batch: batch, columns: columns)
        defer { a.deallocate() }
        let superBlocks = columns / 256
        for b in 0..<batch {
            for o in rows {
                var acc: Float = 0
                for sb in 0..<superBlocks {
                    let at = b * superBlocks + sb, q = a.codes + b * columns + sb * 256
                    let block = w + o * rowBytes + sb * blockBytes
                    let (isum, msum) = exactSums(block, q, a, at, 0..<256)
                    let (d, mins) = KQuantIntegerMatmul.scalesAndMins(self, block)
                    var r = Float(isum) * d
                    if let (_, dmin, _) = mins { r = r.addingProduct(-dmin, Float(msum)) }
                    acc = acc.addingProduct(r, a.scales[at])
                }
                y[b * yStride + o] = acc
            }
        }
    }

    /// `multiplyIntegerProducts` for Q6_K in ggml_vec_dot_q6_K_q8_K's order (`llamaCppHasOwnLaneOrder`).
    public func multiplyIntegerProductsInLlamaCppLaneOrder(
        _ activations: QuantizedActivations, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>,
        yStride: Int, rows: Range<Int>, path: KernelPath = .selected
    ) {
        switch (self, activations, path) {
        case (.q6_K, .q8_K(let a), .x86):
            KQuantIntegerKernels.multiplyQ6KLikeLlamaCpp(X86Intrinsics.self, a, w, rowBytes, y, yStride, rows)
        case (.q6_K, .q8_K(let a), .portable):
            KQuantIntegerKernels.multiplyQ6KLikeLlamaCpp(PortableSIMD.self, a, w, rowBytes, y, yStride, rows)
        default:
            preconditionFailure("\(self) has no llama.cpp lane order of its own for \(activations) activations")
        }
    }

    /// The exact integer sums over `elements` of one super-block (`q`: its activation codes, `at`:
    /// its index among `a`'s scales): Σ sc·v·q, and Σ min·Σq over the sub-blocks inside them for
    /// formats with mins (0 otherwise). Scalar: the naive twins' arithmetic.
    func exactSums(
        _ block: UnsafeRawPointer, _ q: UnsafePointer<Int8>, _ a: Q8KActivations, _ at: Int, _ elements: Range<Int>
    ) -> (isum: Int32, msum: Int32) {
        var isum: Int32 = 0, msum: Int32 = 0
        for i in elements {
            let (value, scale) = KQuantIntegerMatmul.valueAndScale(self, block, i)
            isum += scale * value * Int32(q[i])
        }
        if let (perElements, _, minOf) = KQuantIntegerMatmul.scalesAndMins(self, block).1 {
            for s in (elements.lowerBound / perElements)..<(elements.upperBound / perElements) {
                msum += minOf(s) * (perElements == 32 ? a.sums[at * 8 + s] : a.halfSums[at * 16 + s])
            }
        }
        return (isum, msum)
    }

    /// The scalar twin of `multiplyIntegerProductsLikeLlamaCppRepacked` (quantizes x itself).
    public func multiplyIntegerProductsLikeLlamaCppRepackedNaive(
        x: UnsafePointer<Float>, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>,
        batch: Int, columns: Int, yStride: Int, rows: Range<Int>
    ) {
        let a = Q8KActivations(x, batch: batch, columns: columns)
        defer { a.deallocate() }
        let gemm = batch > 3 ? batch - batch % 4 : 0
        let superBlocks = columns / 256
        for b in 0..<batch {
            let elements = b < gemm ? llamaCppGemmElements : 256
            for o in rows {
                var acc: Float = 0, accMin: Float = 0
                for sb in 0..<superBlocks {
                    let at = b * superBlocks + sb, dx = a.scales[at], q = a.codes + b * columns + sb * 256
                    let block = w + o * rowBytes + sb * blockBytes
                    let (d, mins) = KQuantIntegerMatmul.scalesAndMins(self, block)
                    let dmin = mins!.1
                    for group in stride(from: 0, to: 256, by: elements) {
                        let (isum, msum) = exactSums(block, q, a, at, group..<(group + elements))
                        acc = acc.addingProduct(Float(isum), d * dx)
                        accMin = accMin.addingProduct(Float(msum), dmin * dx)
                    }
                }
                y[b * yStride + o] = acc - accMin
            }
        }
    }

    /// The scalar twin of `multiplyIntegerProductsInLlamaCppLaneOrder` (quantizes x itself).
    public func multiplyIntegerProductsInLlamaCppLaneOrderNaive(
        x: UnsafePointer<Float>, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>,
        batch: Int, columns: Int, yStride: Int, rows: Range<Int>
    ) {
        precondition(self == .q6_K, "\(self) has no llama.cpp lane order of its own")
        let a = Q8KActivations(x, batch: batch, columns: columns)
        defer { a.deallocate() }
        let superBlocks = columns / 256
        for b in 0..<batch {
            for o in rows {
                var acc = SIMD8<Float>()
                for sb in 0..<superBlocks {
                    let at = b * superBlocks + sb, q = a.codes + b * columns + sb * 256
                    let block = w + o * rowBytes + sb * blockBytes
                    var lanes = SIMD8<Int32>()
                    for i in 0..<256 {
                        let (value, scale) = KQuantIntegerMatmul.valueAndScale(self, block, i)
                        lanes[(i % 32) / 4] += scale * (value + 32) * Int32(q[i])
                    }
                    for j in 0..<8 {
                        for s in [2 * j, 2 * j + 1] {
                            lanes[j] -= 32 * Q6KDecoder.subBlockScale(block, s) * a.halfSums[at * 16 + s]
                        }
                    }
                    let (d, _) = KQuantIntegerMatmul.scalesAndMins(self, block)
                    acc = acc.addingProduct(SIMD8<Float>(lanes), SIMD8(repeating: d * a.scales[at]))
                }
                y[b * yStride + o] = Matmul.reduceLanes(acc)
            }
        }
    }
}
