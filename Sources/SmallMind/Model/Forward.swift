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
        if let pool, !ws.splitsEverything, let groups = sequenceGroups(batch, workers: pool.threadCount) {
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

    /// The whole batch layer by layer, each matmul split over the pool's threads by weight rows,
    /// attention by (token, head), the row-wise operations by tokens (see ForwardOperations).
    private func forwardLayers(
        _ batch: [BatchToken], cache: KVCache, workspace ws: Workspace, pool: ThreadPool?
    ) -> UnsafeBufferPointer<Float> {
        let c = configuration
        let n = batch.count, d = c.embeddingSize, kvd = c.keyValueSize, hs = c.headSize
        let logitCount = batch.reduce(0) { $0 + ($1.wantsLogits ? 1 : 0) }
        for t in batch {
            precondition(t.token >= 0 && t.token < c.vocabularySize, "token \(t.token) outside the vocabulary")
            precondition(t.position >= 0 && t.position < cache.contextLength, "position \(t.position) outside the cache")
            precondition(t.slot >= 0 && t.slot < cache.slotCount, "slot \(t.slot) outside the cache")
        }
        ws.reserve(tokens: n, logitTokens: logitCount, workers: pool?.threadCount ?? 1)
        let p = Parallelism(pool: pool, splitsEverything: ws.splitsEverything)
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
        // Each token's rotary cosines and sines, once for every layer's queries and keys.
        let rotary = c.rotaryDimensions ?? hs
        let angles = UnsafeMutablePointer<Float>.allocate(capacity: n * rotary)
        defer { angles.deallocate() }
        if c.architecture == .llama, arithmetic == .standard {
            for (i, t) in batch.enumerated() {
                RoPE.angles(position: t.position, base: c.ropeBase, rotaryDimensions: rotary, into: angles + i * rotary)
            }
        }

        for (l, layer) in layers.enumerated() {
            // Attention: normalise, project to q (n, d), k and v (n, kvd).
            normalize(p, x, layer.attentionNorm, layer.attentionNormBias, into: ws.normed, tokens: n, arithmetic)
            linear(p, ws.normed, [
                (layer.query, layer.queryBias, ws.query), (layer.key, layer.keyBias, ws.key), (layer.value, layer.valueBias, ws.value),
            ], tokens: n, arithmetic)

            // Rotary positions (llama), then append k and v to each token's slot in the cache.
            // GGUF models may rotate only part of each head, and pair dimensions NeoX-style (halves).
            let (query, key, value) = (ws.query, ws.key, ws.value)
            byRows(p, tokens: n, elements: n * (d + 2 * kvd)) { rows in
                for i in rows {
                    let t = batch[i]
                    if c.architecture == .llama {
                        self.rotate(query + i * d, count: d, position: t.position, angles: angles + i * rotary, arithmetic)
                        self.rotate(key + i * kvd, count: kvd, position: t.position, angles: angles + i * rotary, arithmetic)
                    }
                    // An f16 cache rounds k and v here, once (see KVCache.ElementType).
                    cache.store(key: key + i * kvd, value: value + i * kvd, layer: l, slot: t.slot, position: t.position)
                }
            }

            attend(p, batch, layer: l, cache: cache, workspace: ws, arithmetic)
            linear(p, ws.normed, [(layer.output, layer.outputBias, ws.projected)], tokens: n, arithmetic)
            addResidual(p, x, ws.projected, tokens: n)

            // Feed-forward: SwiGLU (llama) or GELU MLP (gpt2), (n, d) → (n, h) → (n, d).
            normalize(p, x, layer.feedForwardNorm, layer.feedForwardNormBias, into: ws.normed, tokens: n, arithmetic)
            if let up = layer.feedForwardUp {
                linear(p, ws.normed, [(layer.feedForwardIn, layer.feedForwardInBias, ws.hidden), (up, nil, ws.hiddenUp)], tokens: n, arithmetic)
                swiglu(p, gate: ws.hidden, up: ws.hiddenUp, tokens: n, arithmetic)
            } else {
                linear(p, ws.normed, [(layer.feedForwardIn, layer.feedForwardInBias, ws.hidden)], tokens: n, arithmetic)
                gelu(p, ws.hidden, tokens: n, arithmetic)
            }
            linear(p, ws.hidden, [(layer.feedForwardOut, layer.feedForwardOutBias, ws.projected)], tokens: n, arithmetic)
            addResidual(p, x, ws.projected, tokens: n)
        }

        // Final norm and classifier, only for the rows whose logits are wanted: (logitCount, V).
        var row = 0
        for (i, t) in batch.enumerated() where t.wantsLogits {
            (ws.logitRows + row * d).update(from: x + i * d, count: d)
            row += 1
        }
        normalize(p, ws.logitRows, finalNorm, finalNormBias, into: ws.logitRows, tokens: logitCount, arithmetic)
        linear(p, ws.logitRows, [(classifier, nil, ws.logits)], tokens: logitCount, arithmetic)
        return UnsafeBufferPointer(start: ws.logits, count: logitCount * c.vocabularySize)
    }
}
