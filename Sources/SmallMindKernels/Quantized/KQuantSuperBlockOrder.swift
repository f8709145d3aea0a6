// K-quant integer products summed one exact integer per super-block — the order of the regrouped
// rows (`InterleavedMatmul.multiplyKQuant`, the naive twin, states it) — on rows as the file stores
// them, vectorised like `KQuantIntegerKernels`. For each output:
//
//   acc = fma(Float(isum), d_w·d_x, acc),  accMin = fma(Float(msum), dmin_w·d_x, accMin),  y = acc − accMin
//
// This is how llama.cpp multiplies Q2_K on x86 processors with AVX-512: it repacks Q2_K rows eight
// at a time (its "Q2_Kx8" blocks) and its gemv/gemm kernels sum each super-block to one integer
// before a single FMA per super-block. `ForwardArithmetic.llamaCpp` multiplies Q2_K this way
// (`WeightMatrix.followingLlamaCpp`); the runtime's own arithmetic never does (it keeps the
// eight-lane order of `KQuantIntegerMatmul`).

extension KQuantIntegerKernels {
    /// y[b, o] for o in `rows`, one exact integer per super-block.
    static func multiplyPerSuperBlock<W: KQuantBlocks, I: InstructionSet>(
        _: W.Type, _: I.Type, _ a: Q8KActivations, _ w: UnsafeRawPointer, _ rowBytes: Int, _ y: UnsafeMutablePointer<Float>,
        _ ldy: Int, _ rows: Range<Int>
    ) {
        let superBlocks = a.columns / 256
        for o in rows {
            let row = w + o * rowBytes
            for b in 0..<a.batch {
                let x = UnsafeRawPointer(a.codes + b * a.columns)
                var acc: Float = 0, accMin: Float = 0
                for sb in 0..<superBlocks {
                    let block = row + sb &* W.blockBytes, xb = x + sb &* 256
                    let header = W.header(block, I.self)
                    var lanes = SIMD8<Int32>()
                    for c in 0..<8 {
                        let (codes, scales) = W.chunk(block, header, c, I.self)
                        lanes &+= chunkSums(codes, xb.loadUnaligned(fromByteOffset: c &* 32, as: SIMD32<Int8>.self), scales, W.codes, I.self)
                    }
                    let at = b &* superBlocks &+ sb, dx = a.scales[at]
                    // Exact: the super-block's integer sum (|isum| < 2³¹, as each lane's).
                    acc = acc.addingProduct(Float(lanes.wrappedSum()), W.scale(header) * dx)
                    if W.hasMins {
                        let (mins, dmin) = W.mins(header, sums32: a.sums + at &* 8, sums16: a.halfSums + at &* 16, I.self)
                        accMin = accMin.addingProduct(Float(mins), dmin * dx)
                    }
                }
                y[b * ldy + o] = acc - accMin
            }
        }
    }
}

extension BlockFormat {
    /// Whether llama.cpp (x86, AVX-512) multiplies this format one integer per super-block
    /// (`multiplyIntegerProductsPerSuperBlock`) rather than as `multiplyIntegerProducts` does.
    public var llamaCppSumsPerSuperBlock: Bool { self == .q2_K }

    /// `multiplyIntegerProducts` with each super-block summed to one integer first (the order at
    /// the top of this file), for the K-quants with integer kernels here (Q2_K).
    public func multiplyIntegerProductsPerSuperBlock(
        _ activations: QuantizedActivations, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>,
        yStride: Int, rows: Range<Int>, path: KernelPath = .selected
    ) {
        switch (self, activations, path) {
        case (.q2_K, .q8_K(let a), .x86):
            KQuantIntegerKernels.multiplyPerSuperBlock(Q2KDecoder.self, X86Intrinsics.self, a, w, rowBytes, y, yStride, rows)
        case (.q2_K, .q8_K(let a), .portable):
            KQuantIntegerKernels.multiplyPerSuperBlock(Q2KDecoder.self, PortableSIMD.self, a, w, rowBytes, y, yStride, rows)
        case (.f16, _, _), (.bf16, _, _), (.q8_0, _, _), (.q4_0, _, _), (.q4_K, _, _), (.q6_K, _, _), (.q5_K, _, _), (.q3_K, _, _),
             (.q2_K, _, _), (.iq4_xs, _, _), (.q5_0, _, _), (.q4_1, _, _), (.q5_1, _, _), (.iq4_nl, _, _):
            preconditionFailure("\(self) has no per-super-block kernel for \(activations) activations")
        }
    }

    /// The naive twin of `multiplyIntegerProductsPerSuperBlock` (`InterleavedMatmul.multiplyKQuant`,
    /// scalar): quantizes x itself.
    public func multiplyIntegerProductsPerSuperBlockNaive(
        x: UnsafePointer<Float>, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>,
        batch: Int, columns: Int, yStride: Int, rows: Range<Int>
    ) {
        InterleavedMatmul.multiplyKQuant(self, x, w, rowBytes, y, batch, columns, yStride, rows)
    }
}
