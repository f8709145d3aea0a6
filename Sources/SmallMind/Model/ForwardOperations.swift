// The forward pass's operations, each over the whole batch: which kernel runs (this runtime's
// arithmetic or llama.cpp's, see ForwardArithmetic) and how the work spreads over the pool.
//
// Matmuls split by weight rows, attention by (token, head), everything else by token rows. A
// row-wise operation computes each row exactly as it would alone, so where a row runs never
// changes a bit. Splitting the row-wise work matters at large batches: left on the calling
// thread, normalisation, rotary positions, cache stores, SwiGLU and activation quantization kept
// the other threads waiting for 15 % of m110's batch-32 generation.
import SmallMindKernels

/// Where a forward pass's operations run: on `pool`'s threads when they are large enough to repay
/// a dispatch, else on the calling thread. Either way the results are the same bits.
struct Parallelism {
    /// nil: everything on the calling thread.
    let pool: ThreadPool?
    /// Products and attention with fewer multiply-adds (a few microseconds of work) stay on the
    /// calling thread.
    let workThreshold: Int
    /// Row-wise operations over fewer elements stay on the calling thread.
    let rowElementsThreshold: Int

    /// `pool` (if it has more than one thread) for the work that repays it; or, with
    /// `splitsEverything` (tests), for every operation of every size.
    init(pool: ThreadPool?, splitsEverything: Bool = false) {
        self.pool = (pool?.threadCount ?? 1) > 1 ? pool : nil
        workThreshold = splitsEverything ? 0 : 1 << 18
        rowElementsThreshold = splitsEverything ? 0 : ThreadPool.rowSplitMinimumElements
    }
}

extension ModelWeights {
    /// A matmul of the forward pass: y = x · Wᵀ (+ bias).
    typealias Product = (weights: WeightMatrix, bias: WeightVector?, y: UnsafeMutablePointer<Float>)

    /// Runs `body` over ranges of 0..<tokens covering them all: on the pool's threads when the
    /// batch has `elements` enough to repay a dispatch, else at once on this thread.
    func byRows(_ p: Parallelism, tokens: Int, elements: Int, _ body: @escaping (Range<Int>) -> Void) {
        if let pool = p.pool, tokens > 1, elements >= p.rowElementsThreshold {
            pool.run(splitting: tokens) { rows, _ in body(rows) }
        } else {
            body(0..<tokens)
        }
    }

    /// Runs `tasks` independent tasks on the pool when there is enough `work`, else inline.
    func parallel(_ p: Parallelism, tasks: Int, work: Int, _ body: @escaping (Int, Int) -> Void) {
        if let pool = p.pool, work >= p.workThreshold {
            pool.run(tasks: tasks, body)
        } else {
            for task in 0..<tasks { body(task, 0) }
        }
    }

    /// RMSNorm (llama) or LayerNorm (gpt2) of each of `tokens` rows.
    func normalize(
        _ p: Parallelism, _ x: UnsafeMutablePointer<Float>, _ weight: WeightVector, _ bias: WeightVector?,
        into out: UnsafeMutablePointer<Float>, tokens: Int, _ arithmetic: ForwardArithmetic
    ) {
        let d = configuration.embeddingSize, eps = configuration.normEpsilon, architecture = configuration.architecture
        byRows(p, tokens: tokens, elements: tokens * d) { rows in
            for i in rows {
                switch (architecture, arithmetic) {
                case (.llama, .standard):
                    Normalization.rms(x + i * d, weight: weight.pointer, out: out + i * d, count: d, epsilon: eps)
                case (.gpt2, .standard):
                    Normalization.layer(x + i * d, weight: weight.pointer, bias: bias?.pointer, out: out + i * d, count: d, epsilon: eps)
                case (.llama, .llamaCpp):
                    GGML.rmsNorm(x + i * d, weight: weight.pointer, out: out + i * d, count: d, epsilon: eps)
                case (.gpt2, .llamaCpp):
                    GGML.layerNorm(x + i * d, weight: weight.pointer, bias: bias?.pointer, out: out + i * d, count: d, epsilon: eps)
                }
            }
        }
    }

    /// Rotary positions of one token's q (or k): `count` values, heads of `headSize`. `angles`
    /// holds the position's cosines and sines (`RoPE.angles`); llama.cpp's arithmetic computes its own.
    func rotate(
        _ v: UnsafeMutablePointer<Float>, count: Int, position: Int, angles: UnsafePointer<Float>, _ arithmetic: ForwardArithmetic
    ) {
        let c = configuration
        switch arithmetic {
        case .standard:
            RoPE.apply(v, count: count, headSize: c.headSize, angles: angles, rotaryDimensions: c.rotaryDimensions ?? c.headSize,
                       pairing: c.rotaryPairing)
        case .llamaCpp:
            GGML.rope(v, count: count, headSize: c.headSize, position: position, base: c.ropeBase,
                      rotaryDimensions: c.rotaryDimensions, halves: c.rotaryPairing == .halves)
        }
    }

    /// Causal attention of every token over its own sequence, 0...position; heads that share a KV
    /// head (grouped-query attention) read the same cache slice. Queries from the workspace's
    /// `query`, output into its `normed`. The kernel follows the cache: float32 or f16 elements
    /// (the same arithmetic), or llama.cpp's flash attention over f16.
    func attend(_ p: Parallelism, _ batch: [BatchToken], layer l: Int, cache: KVCache, workspace ws: Workspace, _ arithmetic: ForwardArithmetic) {
        let c = configuration
        let d = c.embeddingSize, hs = c.headSize
        let headsPerKeyValueHead = c.headCount / c.keyValueHeadCount
        let (keys, values, normed, query, scores) = (cache.keys, cache.values, ws.normed, ws.query, ws.scores)
        let elementType = cache.elementType
        let scoresStride = cache.contextLength
        // Work: per head and key a score product, a value update and their overheads (the
        // reduction, the exponential): about four multiply-adds per element of the head.
        let keysAttended = batch.reduce(0) { $0 + $1.position + 1 }
        parallel(p, tasks: batch.count * c.headCount, work: keysAttended * c.headCount * hs * 4) { task, worker in
            let (i, head) = task.quotientAndRemainder(dividingBy: c.headCount)
            let position = batch[i].position
            let at = cache.offset(layer: l, slot: batch[i].slot, head: head / headsPerKeyValueHead)   // position 0
            let (q, out, s) = (query + i * d + head * hs, normed + i * d + head * hs, scores + worker * scoresStride)
            switch (elementType, arithmetic) {
            case (.f32, _):
                Attention.head(
                    query: q, keys: keys.assumingMemoryBound(to: Float.self) + at, values: values.assumingMemoryBound(to: Float.self) + at,
                    rowStride: hs, headSize: hs, lastPosition: position, scores: s, out: out)
            case (.f16, .standard):
                Attention.head(
                    query: q, keys: keys.assumingMemoryBound(to: Float16.self) + at, values: values.assumingMemoryBound(to: Float16.self) + at,
                    rowStride: hs, headSize: hs, lastPosition: position, scores: s, out: out)
            case (.f16, .llamaCpp):
                GGML.flashAttention(
                    query: q, keys: keys.assumingMemoryBound(to: Float16.self) + at, values: values.assumingMemoryBound(to: Float16.self) + at,
                    rowStride: hs, headSize: hs, lastPosition: position, out: out)
            }
        }
    }

    /// gate = silu(gate) · up in place, row by row (llama's feed-forward).
    func swiglu(_ p: Parallelism, gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, tokens: Int, _ arithmetic: ForwardArithmetic) {
        let h = configuration.hiddenSize
        byRows(p, tokens: tokens, elements: tokens * h) { rows in
            for i in rows {
                switch arithmetic {
                case .standard: VectorMath.swiglu(gate: gate + i * h, up: up + i * h, count: h)
                case .llamaCpp: GGML.swiglu(gate: gate + i * h, up: up + i * h, count: h)   // ggml's op goes row by row too
                }
            }
        }
    }

    /// GELU in place, row by row (gpt2's feed-forward); llama.cpp's goes through an f16 table.
    func gelu(_ p: Parallelism, _ x: UnsafeMutablePointer<Float>, tokens: Int, _ arithmetic: ForwardArithmetic) {
        let h = configuration.hiddenSize
        byRows(p, tokens: tokens, elements: tokens * h) { rows in
            for i in rows {
                switch arithmetic {
                case .standard: VectorMath.gelu(x + i * h, count: h)
                case .llamaCpp: GGML.gelu(x + i * h, count: h)
                }
            }
        }
    }

    /// Each product's y = x · Wᵀ (+ bias) for `tokens` rows of x, split over weight rows when a
    /// pool is given. Products that read x quantized the same way (q, k and v; gate and up) share
    /// one quantization of it: all products here read the same x, so the encoding alone decides.
    func linear(_ p: Parallelism, _ x: UnsafeMutablePointer<Float>, _ products: [Product], tokens: Int, _ arithmetic: ForwardArithmetic) {
        guard tokens > 0 else { return }
        var q8_0: QuantizedActivations?, q8_K: QuantizedActivations?
        defer { q8_0?.deallocate(); q8_K?.deallocate() }
        for (weights, bias, y) in products {
            // llama.cpp's product rounds the activations as llama.cpp does and sums in its order.
            let w = arithmetic == .llamaCpp ? weights.followingLlamaCpp() : weights
            if let pool = p.pool, tokens * w.rows * w.columns >= p.workThreshold {
                @inline(__always) func shared(_ slot: inout QuantizedActivations?) -> QuantizedActivations? {
                    if slot == nil { slot = w.quantizeActivations(x, batch: tokens, pool: pool, minimumElements: p.rowElementsThreshold) }
                    return slot
                }
                let quantized: QuantizedActivations?
                switch w.activationEncoding {
                case nil: quantized = nil
                case .q8_0: quantized = shared(&q8_0)
                case .q8_K: quantized = shared(&q8_K)
                }
                pool.run(splitting: w.rows, alignment: 8) { rows, _ in
                    w.multiply(x, into: y, batch: tokens, outputRows: rows, quantized: quantized)
                }
            } else {
                w.multiply(x, into: y, batch: tokens)
            }
            if let bias {
                for i in 0..<tokens { Activation.addBias(y + i * w.rows, bias.pointer, count: w.rows) }
            }
        }
    }

    /// x += delta over `tokens` rows of the embedding size.
    func addResidual(_ p: Parallelism, _ x: UnsafeMutablePointer<Float>, _ delta: UnsafePointer<Float>, tokens: Int) {
        let d = configuration.embeddingSize
        byRows(p, tokens: tokens, elements: tokens * d) { rows in
            for i in rows.lowerBound * d..<rows.upperBound * d { x[i] += delta[i] }
        }
    }
}
