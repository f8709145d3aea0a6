// The forward pass's operations, each over the whole batch: how the work spreads over the pool.
// Whose arithmetic they compute in is resolved before the pass, in ForwardKernels.
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

    /// The architecture's norm of each of `tokens` rows of `width` (the embedding size by default).
    func normalize(
        _ p: Parallelism, _ k: ForwardKernels, _ x: UnsafeMutablePointer<Float>, _ weight: WeightVector, _ bias: WeightVector?,
        into out: UnsafeMutablePointer<Float>, tokens: Int
    ) {
        let d = configuration.embeddingSize, eps = configuration.normEpsilon
        byRows(p, tokens: tokens, elements: tokens * d) { rows in
            for i in rows { k.normalize(x + i * d, weight.pointer, bias?.pointer, out + i * d, d, eps) }
        }
    }

    /// q/k norms, RoPE and the cache stores of every token, in place in `q` (n, qd) and `kv` (n, kvd):
    /// each head of q and k RMS-normalised with its weight (Qwen 3, Gemma 3), then q and k rotated
    /// (rotary architectures) and q scaled where the family scales it before attention; then each
    /// token's k and v appended to its slot of the cache.
    func prepareAttention(
        _ p: Parallelism, _ k: ForwardKernels, _ batch: [BatchToken], layer l: Int, _ weights: LayerWeights,
        query: UnsafeMutablePointer<Float>, key: UnsafeMutablePointer<Float>, value: UnsafePointer<Float>,
        angles: UnsafePointer<Float>, cache: KVCache
    ) {
        let c = configuration
        let qd = c.queryDimension, kvd = c.keyValueSize, hs = c.headSize, eps = c.normEpsilon
        let rotary = c.architecture.isRotary
        let settings = RotarySettings(
            headSize: hs, dimensions: c.rotaryDimensions ?? hs, pairing: c.rotaryPairing, base: c.ropeBase(layer: l),
            frequencyFactors: ropeFrequencyFactors?.pointer)
        let queryScale = c.architecture.scalesQueries ? c.attentionScale : nil
        byRows(p, tokens: batch.count, elements: batch.count * (qd + 2 * kvd)) { rows in
            for i in rows {
                let t = batch[i], q = query + i * qd, kk = key + i * kvd
                if let norm = weights.queryNorm {
                    for h in 0..<c.headCount { k.rmsNorm(q + h * hs, norm.pointer, q + h * hs, hs, eps) }
                }
                if let norm = weights.keyNorm {
                    for h in 0..<c.keyValueHeadCount { k.rmsNorm(kk + h * hs, norm.pointer, kk + h * hs, hs, eps) }
                }
                if rotary {
                    k.rotate(q, qd, t.position, angles + i * settings.dimensions, settings)
                    k.rotate(kk, kvd, t.position, angles + i * settings.dimensions, settings)
                }
                if let queryScale {
                    for j in 0..<qd { q[j] *= queryScale }
                }
                // An f16 cache rounds k and v here, once (see KVCache.ElementType).
                cache.store(key: kk, value: value + i * kvd, layer: l, slot: t.slot, position: t.position)
            }
        }
    }

    /// Causal attention of every token over its own sequence — positions 0...position, or the last
    /// `slidingWindow` of them on a local layer; heads that share a KV head (grouped-query
    /// attention) read the same cache slice. Queries (n, qd) from `query`, output (n, qd) into `out`.
    func attend(
        _ p: Parallelism, _ k: ForwardKernels, _ batch: [BatchToken], layer l: Int, cache: KVCache,
        query: UnsafePointer<Float>, scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let c = configuration
        let qd = c.queryDimension, hs = c.headSize
        let headsPerKeyValueHead = c.headCount / c.keyValueHeadCount
        let window = c.isLocal(layer: l) ? c.slidingWindow : nil
        let (keys, values, elementType, scoresStride) = (cache.keys, cache.values, cache.elementType, cache.contextLength)
        let bytes = elementType.byteSize
        let scale: Float = c.architecture.scalesQueries ? 1 : c.attentionScale, softCap = c.attentionSoftCap
        func first(_ position: Int) -> Int { window.map { max(0, position - $0 + 1) } ?? 0 }
        // Work: per head and key a score product, a value update and their overheads (the
        // reduction, the exponential): about four multiply-adds per element of the head.
        let keysAttended = batch.reduce(0) { $0 + $1.position - first($1.position) + 1 }
        parallel(p, tasks: batch.count * c.headCount, work: keysAttended * c.headCount * hs * 4) { task, worker in
            let (i, head) = task.quotientAndRemainder(dividingBy: c.headCount)
            let position = batch[i].position
            let at = cache.headOffset(layer: l, head: head / headsPerKeyValueHead) * bytes
            k.attend(AttentionHead(
                query: query + i * qd + head * hs, keys: keys + at, values: values + at, elementType: elementType,
                blockTable: cache.blockTables + batch[i].slot * cache.blocksPerSlot, blockStride: cache.blockStride,
                blockSize: cache.blockSize, headSize: hs, firstPosition: first(position), lastPosition: position,
                scale: scale, softCap: softCap, scores: scores + worker * scoresStride, out: out + i * qd + head * hs))
        }
    }

    /// The feed-forward activation in place, row by row: gate = act(gate) ⊙ up for the gated
    /// families (SwiGLU, GeGLU), gelu(up) for the plain MLP (`up` unused).
    func activate(
        _ p: Parallelism, _ k: ForwardKernels, gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, tokens: Int
    ) {
        let h = configuration.hiddenSize, kind = configuration.architecture.feedForward
        byRows(p, tokens: tokens, elements: tokens * h) { rows in
            for i in rows {
                let g = gate + i * h, u = up + i * h
                switch kind {
                case .swiGLU: k.swiglu(g, u, h)
                case .geGLU:
                    k.gelu(g, h)
                    for j in 0..<h { g[j] *= u[j] }
                case .geluMLP: k.gelu(g, h)
                }
            }
        }
    }

    /// Each product's y = x · Wᵀ (+ bias) for `tokens` rows of x, split over weight rows when a
    /// pool is given. Products that read x quantized the same way (q, k and v; gate and up) share
    /// one quantization of it: all products here read the same x, so the encoding alone decides.
    func linear(_ p: Parallelism, _ k: ForwardKernels, _ x: UnsafeMutablePointer<Float>, _ products: [Product], tokens: Int) {
        guard tokens > 0 else { return }
        var q8_0: QuantizedActivations?, q8_K: QuantizedActivations?
        defer { q8_0?.deallocate(); q8_K?.deallocate() }
        for (weights, bias, y) in products {
            // llama.cpp's product rounds the activations as llama.cpp does and sums in its order.
            let w = k.matrix(weights)
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
