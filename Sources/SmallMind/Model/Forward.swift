// The forward pass: a batch of tokens — any mix of sequences and positions — through every block to
// the logits, top to bottom like llama2.c's run.c. Notation: n = tokens in the batch, d = dim,
// kvd = kvDim, h = hidden size, V = vocabulary.
//
// Each token carries its sequence's KV-cache slot and its position. Prefill is simply a batch with
// many tokens of one slot; decode is one token per slot. Every kernel below reduces each output
// element in an order that ignores the batch (see SmallMindKernels), so a token's logits are the
// same whichever batch it rides in.
//
// The cache also says whose arithmetic to follow (`cache.arithmetic`): this runtime's, or, as a
// parity mode for tests, llama.cpp's — then the helpers at the bottom (normalize, linear,
// activate, rotate) and attention route to the ggml emulations in SmallMindKernels/LlamaCpp.
import SmallMindKernels

/// One token of a forward batch.
public struct BatchToken: Sendable, Equatable {
    public var token: Int
    /// Position of the token in its sequence (0-based).
    public var position: Int
    /// The sequence's slot in the KV cache.
    public var slot: Int
    /// Whether the caller needs this token's logits (the last prompt token and decode tokens).
    public var wantsLogits: Bool

    public init(token: Int, position: Int, slot: Int = 0, wantsLogits: Bool = true) {
        self.token = token
        self.position = position
        self.slot = slot
        self.wantsLogits = wantsLogits
    }
}

extension ModelWeights {
    /// Runs `batch` through the model, appending each token's keys and values to `cache`.
    /// Returns the logits of the tokens with `wantsLogits`, in batch order: (that count, V).
    /// The buffer lives in `workspace` and is valid until its next forward pass (keep the workspace
    /// alive while reading it). With a `pool` the work is spread over its threads — how depends on
    /// the model's size (see `sequenceGroups`) — and the result is the same, bit for bit.
    public func forward(
        _ batch: [BatchToken], cache: KVCache, workspace ws: Workspace, pool: ThreadPool? = nil
    ) -> UnsafeBufferPointer<Float> {
        if let pool, let groups = sequenceGroups(batch, workers: pool.threadCount) {
            return forwardBySequence(batch, groups: groups, cache: cache, workspace: ws, pool: pool)
        }
        return forwardLayers(batch, cache: cache, workspace: ws, pool: pool)
    }

    /// Weights up to this size stay in the caches between steps; for such models, splitting each
    /// matmul over threads costs more in synchronisation than it saves (the demo model's matmuls
    /// take a few microseconds), so whole sequences go to different threads instead.
    static let cacheResidentWeightBytes = 8 << 20

    /// For a cache-resident model and a batch of several sequences: the batch's token indices in
    /// `workers` groups, whole sequences per group, balanced by token count. nil when the batch
    /// should instead be computed layer by layer with each matmul split over the pool (large models,
    /// whose weights are streamed from memory once per step for all sequences).
    func sequenceGroups(_ batch: [BatchToken], workers: Int) -> [[Int]]? {
        guard workers > 1, batch.count > 1, weightBytes <= Self.cacheResidentWeightBytes else { return nil }
        var tokensOfSlot: [Int: [Int]] = [:]
        for (i, t) in batch.enumerated() { tokensOfSlot[t.slot, default: []].append(i) }
        guard tokensOfSlot.count > 1 else { return nil }
        var groups = [[Int]](repeating: [], count: min(workers, tokensOfSlot.count))
        // Largest sequences first, each to the group with the fewest tokens so far.
        let bySize = tokensOfSlot.sorted { ($1.value.count, $0.key) < ($0.value.count, $1.key) }
        for (_, tokens) in bySize {
            let lightest = groups.indices.min { groups[$0].count < groups[$1].count }!
            groups[lightest] += tokens
        }
        return groups
    }

    /// Each group of whole sequences through all layers on its own thread and workspace (sequences
    /// never read each other's KV slots), then the logits gathered back into batch order.
    private func forwardBySequence(
        _ batch: [BatchToken], groups: [[Int]], cache: KVCache, workspace ws: Workspace, pool: ThreadPool
    ) -> UnsafeBufferPointer<Float> {
        let V = configuration.vocabularySize
        let logitCount = batch.reduce(0) { $0 + ($1.wantsLogits ? 1 : 0) }
        ws.reserve(tokens: 1, logitTokens: logitCount)
        let shards = ws.shards(groups.count)
        let subBatches = groups.map { $0.map { batch[$0] } }
        let outputs = UnsafeMutableBufferPointer<UnsafeBufferPointer<Float>>.allocate(capacity: groups.count)
        defer { outputs.deallocate() }
        pool.run(tasks: groups.count) { g, _ in
            outputs[g] = self.forwardLayers(subBatches[g], cache: cache, workspace: shards[g], pool: nil)
        }
        // Logit rows come back per group in group order; put them where the batch order wants them.
        var rowOfToken = [Int](repeating: -1, count: batch.count)
        var row = 0
        for (i, t) in batch.enumerated() where t.wantsLogits {
            rowOfToken[i] = row
            row += 1
        }
        for (g, group) in groups.enumerated() {
            var groupRow = 0
            for i in group where batch[i].wantsLogits {
                (ws.logits + rowOfToken[i] * V).update(from: outputs[g].baseAddress! + groupRow * V, count: V)
                groupRow += 1
            }
        }
        return withExtendedLifetime(shards) { UnsafeBufferPointer(start: ws.logits, count: logitCount * V) }
    }

    /// Bytes of all weight matrices (what one forward pass reads).
    var weightBytes: Int {
        var total = tokenEmbedding.byteCount + (classifier.sharesStorage(with: tokenEmbedding) ? 0 : classifier.byteCount)
        for l in layers {
            total += l.query.byteCount + l.key.byteCount + l.value.byteCount + l.output.byteCount
            total += l.feedForwardIn.byteCount + l.feedForwardOut.byteCount + (l.feedForwardUp?.byteCount ?? 0)
        }
        return total
    }

    /// The whole batch layer by layer, each matmul split over the pool's threads by weight rows and
    /// attention by (token, head).
    private func forwardLayers(
        _ batch: [BatchToken], cache: KVCache, workspace ws: Workspace, pool: ThreadPool?
    ) -> UnsafeBufferPointer<Float> {
        let c = configuration
        let n = batch.count, d = c.embeddingSize, kvd = c.keyValueSize, hs = c.headSize, h = c.hiddenSize
        let logitCount = batch.reduce(0) { $0 + ($1.wantsLogits ? 1 : 0) }
        for t in batch {
            precondition(t.token >= 0 && t.token < c.vocabularySize, "token \(t.token) outside the vocabulary")
            precondition(t.position >= 0 && t.position < cache.contextLength, "position \(t.position) outside the cache")
            precondition(t.slot >= 0 && t.slot < cache.slotCount, "slot \(t.slot) outside the cache")
        }
        ws.reserve(tokens: n, logitTokens: logitCount, workers: pool?.threadCount ?? 1)
        let x = ws.residual                                          // (n, d)

        // Token (and, for gpt2, position) embeddings.
        for (i, t) in batch.enumerated() {
            tokenEmbedding.copyRow(t.token, into: x + i * d)
            if let positions = positionEmbedding {
                positions.copyRow(t.position, into: ws.projected)
                Activation.addBias(x + i * d, ws.projected, count: d)
            }
        }

        let arithmetic = cache.arithmetic   // this runtime's, or llama.cpp's (see the top of the file)
        for (l, layer) in layers.enumerated() {
            // Attention: normalise, project to q (n, d), k and v (n, kvd).
            normalize(x, layer.attentionNorm, layer.attentionNormBias, into: ws.normed, tokens: n, arithmetic)
            linear(pool, ws.normed, layer.query, layer.queryBias, into: ws.query, tokens: n, arithmetic)
            linear(pool, ws.normed, layer.key, layer.keyBias, into: ws.key, tokens: n, arithmetic)
            linear(pool, ws.normed, layer.value, layer.valueBias, into: ws.value, tokens: n, arithmetic)

            // Rotary positions (llama), then append k and v to each token's slot in the cache.
            // GGUF models may rotate only part of each head, and pair dimensions NeoX-style (halves).
            for (i, t) in batch.enumerated() {
                if c.architecture == .llama {
                    rotate(ws.query + i * d, count: d, position: t.position, arithmetic)
                    rotate(ws.key + i * kvd, count: kvd, position: t.position, arithmetic)
                }
                // An f16 cache rounds k and v here, once (see KVCache.ElementType).
                cache.store(key: ws.key + i * kvd, value: ws.value + i * kvd, layer: l, slot: t.slot, position: t.position)
            }

            // Causal attention of every token over its own sequence, 0...position; heads that share
            // a KV head (grouped-query attention) read the same cache slice. Output into `normed`.
            // The kernel follows the cache: float32 or f16 elements (the same arithmetic), or
            // llama.cpp's flash attention over f16.
            let headsPerKeyValueHead = c.headCount / c.keyValueHeadCount
            let (keys, values, normed, query, scores) = (cache.keys, cache.values, ws.normed, ws.query, ws.scores)
            let elementType = cache.elementType
            let scoresStride = cache.contextLength
            // Work: per head and key a score product, a value update and their overheads (the
            // reduction, the exponential): about four multiply-adds per element of the head.
            let keysAttended = batch.reduce(0) { $0 + $1.position + 1 }
            parallel(pool, tasks: n * c.headCount, work: keysAttended * c.headCount * hs * 4) { task, worker in
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
            linear(pool, ws.normed, layer.output, layer.outputBias, into: ws.projected, tokens: n, arithmetic)
            addResidual(x, ws.projected, count: n * d)

            // Feed-forward: SwiGLU (llama) or GELU MLP (gpt2), (n, d) → (n, h) → (n, d).
            normalize(x, layer.feedForwardNorm, layer.feedForwardNormBias, into: ws.normed, tokens: n, arithmetic)
            linear(pool, ws.normed, layer.feedForwardIn, layer.feedForwardInBias, into: ws.hidden, tokens: n, arithmetic)
            if let up = layer.feedForwardUp {
                linear(pool, ws.normed, up, nil, into: ws.hiddenUp, tokens: n, arithmetic)
                swiglu(gate: ws.hidden, up: ws.hiddenUp, count: n * h, arithmetic)
            } else {
                gelu(ws.hidden, count: n * h, arithmetic)
            }
            linear(pool, ws.hidden, layer.feedForwardOut, layer.feedForwardOutBias, into: ws.projected, tokens: n, arithmetic)
            addResidual(x, ws.projected, count: n * d)
        }

        // Final norm and classifier, only for the rows whose logits are wanted: (logitCount, V).
        var row = 0
        for (i, t) in batch.enumerated() where t.wantsLogits {
            (ws.logitRows + row * d).update(from: x + i * d, count: d)
            row += 1
        }
        normalize(ws.logitRows, finalNorm, finalNormBias, into: ws.logitRows, tokens: logitCount, arithmetic)
        linear(pool, ws.logitRows, classifier, nil, into: ws.logits, tokens: logitCount, arithmetic)
        return UnsafeBufferPointer(start: ws.logits, count: logitCount * c.vocabularySize)
    }

    /// RMSNorm (llama) or LayerNorm (gpt2) of each of `tokens` rows.
    private func normalize(
        _ x: UnsafeMutablePointer<Float>, _ weight: WeightVector, _ bias: WeightVector?,
        into out: UnsafeMutablePointer<Float>, tokens: Int, _ arithmetic: ForwardArithmetic
    ) {
        let d = configuration.embeddingSize, eps = configuration.normEpsilon
        for i in 0..<tokens {
            switch (configuration.architecture, arithmetic) {
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

    /// Rotary positions of one token's q (or k): `count` values, heads of `headSize`.
    private func rotate(_ v: UnsafeMutablePointer<Float>, count: Int, position: Int, _ arithmetic: ForwardArithmetic) {
        let c = configuration
        switch arithmetic {
        case .standard:
            RoPE.apply(v, count: count, headSize: c.headSize, position: position, base: c.ropeBase,
                       rotaryDimensions: c.rotaryDimensions, pairing: c.rotaryPairing)
        case .llamaCpp:
            GGML.rope(v, count: count, headSize: c.headSize, position: position, base: c.ropeBase,
                      rotaryDimensions: c.rotaryDimensions, halves: c.rotaryPairing == .halves)
        }
    }

    /// gate = silu(gate) · up in place (llama's feed-forward).
    private func swiglu(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int, _ arithmetic: ForwardArithmetic) {
        switch arithmetic {
        case .standard: VectorMath.swiglu(gate: gate, up: up, count: count)
        case .llamaCpp: GGML.swiglu(gate: gate, up: up, count: count)
        }
    }

    /// GELU in place (gpt2's feed-forward); llama.cpp's goes through an f16 table.
    private func gelu(_ x: UnsafeMutablePointer<Float>, count: Int, _ arithmetic: ForwardArithmetic) {
        switch arithmetic {
        case .standard: VectorMath.gelu(x, count: count)
        case .llamaCpp: GGML.gelu(x, count: count)
        }
    }

    /// y = x · Wᵀ (+ bias) for `tokens` rows, split over weight rows when a pool is given.
    private func linear(
        _ pool: ThreadPool?, _ x: UnsafeMutablePointer<Float>, _ w: WeightMatrix, _ bias: WeightVector?,
        into y: UnsafeMutablePointer<Float>, tokens: Int, _ arithmetic: ForwardArithmetic
    ) {
        guard tokens > 0 else { return }
        // llama.cpp's product rounds the activations as llama.cpp does and sums in its order.
        let w = arithmetic == .llamaCpp ? w.followingLlamaCpp() : w
        if let pool, pool.threadCount > 1, tokens * w.rows * w.columns >= Self.parallelThreshold {
            let quantized = w.quantizeActivations(x, batch: tokens)
            defer { quantized?.deallocate() }
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

    /// Below this many multiply-adds (a few microseconds of work) a job is cheaper on one thread
    /// than handed to the pool. Where work runs never changes its result.
    static let parallelThreshold = 1 << 18

    /// Runs `tasks` independent tasks on the pool when there is enough `work`, else inline.
    private func parallel(_ pool: ThreadPool?, tasks: Int, work: Int, _ body: @escaping (Int, Int) -> Void) {
        if let pool, pool.threadCount > 1, work >= Self.parallelThreshold {
            pool.run(tasks: tasks, body)
        } else {
            for task in 0..<tasks { body(task, 0) }
        }
    }

    private func addResidual(_ x: UnsafeMutablePointer<Float>, _ delta: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += delta[i] }
    }
}
