// The arithmetic of the forward pass's row-level operations, resolved once per pass.
//
// `ForwardArithmetic` says whose arithmetic a pass follows: this runtime's (batch-invariant SIMD
// kernels) or, as a test instrument, llama.cpp's (the emulations in SmallMindKernels/LlamaCpp).
// The choice is made here, once, into a table of functions; the operations in ForwardOperations
// call the table and never ask which arithmetic they run. A new operation adds one entry per
// arithmetic here, not a switch in the forward pass.
import Foundation
import SmallMindKernels

/// One query head's attention, as `ForwardKernels.attend` receives it: the head's rows in a paged
/// cache (block 0's address, the sequence's block table) and the attended positions, so a sliding
/// window is only a later first position.
struct AttentionHead {
    var query: UnsafePointer<Float>
    /// The cache's element type decides how `keys` and `values` are read (float32 or f16).
    var keys: UnsafeRawPointer
    var values: UnsafeRawPointer
    var elementType: KVCache.ElementType
    var blockTable: UnsafePointer<Int32>
    /// Elements between consecutive blocks, and positions per block.
    var blockStride: Int
    var blockSize: Int
    var headSize: Int
    /// The attended positions: firstPosition...lastPosition (the token's own is the last).
    var firstPosition: Int
    var lastPosition: Int
    /// Multiplies q·k (1 where the queries were scaled beforehand).
    var scale: Float
    /// Scores s become cap · tanh(s / cap) before the softmax.
    var softCap: Float?
    /// Scratch for the scores (the kernel's own choice whether to use it).
    var scores: UnsafeMutablePointer<Float>
    var out: UnsafeMutablePointer<Float>

    func rows<Element: CacheElement>(_: Element.Type) -> PagedRows<Element> {
        PagedRows(keys: keys.assumingMemoryBound(to: Element.self), values: values.assumingMemoryBound(to: Element.self),
                  blockTable: blockTable, blockStride: blockStride, blockSize: blockSize)
    }
}

/// The row-level operations of a forward pass, in one arithmetic.
struct ForwardKernels {
    /// out = norm(x) ⊙ weight (+ bias) over one row of `count`, with epsilon: the architecture's
    /// normalisation (RMSNorm or LayerNorm). `out` may be `x`.
    let normalize: (_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                    _ out: UnsafeMutablePointer<Float>, _ count: Int, _ epsilon: Float) -> Void
    /// RMSNorm (q/k norms are RMSNorm in every family that has them).
    let rmsNorm: (_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                  _ count: Int, _ epsilon: Float) -> Void
    /// gate = silu(gate) ⊙ up.
    let swiglu: (_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ count: Int) -> Void
    /// x = gelu(x), the tanh form.
    let gelu: (_ x: UnsafeMutablePointer<Float>, _ count: Int) -> Void
    /// x = cap · tanh(x / cap).
    let softCap: (_ x: UnsafeMutablePointer<Float>, _ count: Int, _ cap: Float) -> Void
    /// Rotates `count` values (heads of `headSize`) at `position`. `angles` holds this runtime's
    /// precomputed cosines and sines for the position (`RoPE.angles`); llama.cpp's arithmetic
    /// builds its own from the base and the frequency factors.
    let rotate: (_ v: UnsafeMutablePointer<Float>, _ count: Int, _ position: Int, _ angles: UnsafePointer<Float>,
                 _ rope: RotarySettings) -> Void
    let attend: (_ head: AttentionHead) -> Void
    /// The matrix as this arithmetic multiplies it (llama.cpp's: `WeightMatrix.followingLlamaCpp`).
    let matrix: (WeightMatrix) -> WeightMatrix
    /// Whether `rotate` reads the precomputed angles (so the pass must compute them).
    let usesAngles: Bool

    init(arithmetic: ForwardArithmetic, normalization: Architecture.Normalization) {
        switch arithmetic {
        case .standard, .floatProducts:
            switch normalization {
            case .rms: normalize = { x, w, _, out, n, eps in Normalization.rms(x, weight: w, out: out, count: n, epsilon: eps) }
            case .layer: normalize = { x, w, b, out, n, eps in Normalization.layer(x, weight: w, bias: b, out: out, count: n, epsilon: eps) }
            }
            rmsNorm = { x, w, out, n, eps in Normalization.rms(x, weight: w, out: out, count: n, epsilon: eps) }
            swiglu = { g, u, n in VectorMath.swiglu(gate: g, up: u, count: n) }
            gelu = { x, n in VectorMath.gelu(x, count: n) }
            softCap = { x, n, cap in VectorMath.softCap(x, count: n, cap: cap) }
            rotate = { v, n, _, angles, r in
                RoPE.apply(v, count: n, headSize: r.headSize, angles: angles, rotaryDimensions: r.dimensions, pairing: r.pairing)
            }
            attend = { h in
                switch h.elementType {
                case .f32:
                    Attention.pagedHead(
                        query: h.query, rows: h.rows(Float.self), headSize: h.headSize, firstPosition: h.firstPosition,
                        lastPosition: h.lastPosition, scale: h.scale, softCap: h.softCap, scores: h.scores, out: h.out)
                case .f16:
                    Attention.pagedHead(
                        query: h.query, rows: h.rows(Float16.self), headSize: h.headSize, firstPosition: h.firstPosition,
                        lastPosition: h.lastPosition, scale: h.scale, softCap: h.softCap, scores: h.scores, out: h.out)
                }
            }
            matrix = arithmetic == .floatProducts ? { $0.multiplyingDecodedWeights() } : { $0 }
            usesAngles = true
        case .llamaCpp, .llamaCppAVX512:
            let avx512 = arithmetic == .llamaCppAVX512
            switch normalization {
            case .rms: normalize = { x, w, _, out, n, eps in GGML.rmsNorm(x, weight: w, out: out, count: n, epsilon: eps) }
            case .layer: normalize = { x, w, b, out, n, eps in GGML.layerNorm(x, weight: w, bias: b, out: out, count: n, epsilon: eps) }
            }
            rmsNorm = { x, w, out, n, eps in GGML.rmsNorm(x, weight: w, out: out, count: n, epsilon: eps) }
            swiglu = { g, u, n in GGML.swiglu(gate: g, up: u, count: n, avx512: avx512) }   // ggml's op goes row by row too
            gelu = { x, n in GGML.gelu(x, count: n) }
            // ggml_scale, ggml_tanh (tanhf), ggml_scale.
            softCap = { x, n, cap in
                let inverse = 1 / cap
                for i in 0..<n { x[i] = tanhf(x[i] * inverse) * cap }
            }
            rotate = { v, n, position, _, r in
                GGML.rope(v, count: n, headSize: r.headSize, position: position, base: r.base, rotaryDimensions: r.dimensions,
                          halves: r.pairing == .halves, frequencyFactors: r.frequencyFactors)
            }
            attend = { h in
                // KVCache's initialiser guarantees an f16 cache in this arithmetic. llama.cpp's
                // kernel reads contiguous rows: the head's rows are gathered first (a test
                // instrument, so the copy's cost does not matter; its arithmetic is unchanged).
                precondition(h.elementType == .f16, "llama.cpp's arithmetic reads an f16 cache")
                let rows = h.rows(Float16.self), length = h.lastPosition - h.firstPosition + 1
                withUnsafeTemporaryAllocation(of: Float16.self, capacity: 2 * length * h.headSize) { buffer in
                    let keys = buffer.baseAddress!, values = keys + length * h.headSize
                    Attention.gather(rows, keys: true, headSize: h.headSize, firstPosition: h.firstPosition, lastPosition: h.lastPosition, into: keys)
                    Attention.gather(rows, keys: false, headSize: h.headSize, firstPosition: h.firstPosition, lastPosition: h.lastPosition, into: values)
                    GGML.flashAttention(
                        query: h.query, keys: keys, values: values, rowStride: h.headSize, headSize: h.headSize,
                        lastPosition: length - 1, scale: h.scale, softCap: h.softCap, avx512: avx512, out: h.out)
                }
            }
            matrix = { $0.followingLlamaCpp(avx512: avx512) }
            usesAngles = false
        }
    }
}

/// What RoPE needs of one layer besides the values and the position.
struct RotarySettings {
    var headSize: Int
    var dimensions: Int
    var pairing: RoPE.Pairing
    var base: Float
    var frequencyFactors: UnsafePointer<Float>?
}
