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
// parity mode for tests, llama.cpp's — resolved once per pass into `ForwardKernels`, which the
// operations (ForwardOperations) call without asking which it is.
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
        // Every position gets its KV block before any thread writes (an engine's are assigned already).
        cache.assignBlocks(for: batch)
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
    /// attention by (token, head), the row-wise operations by tokens (see ForwardOperations). Each
    /// step reads the architecture's traits (`configuration.architecture`), never its name.
    private func forwardLayers(
        _ batch: [BatchToken], cache: KVCache, workspace ws: Workspace, pool: ThreadPool?
    ) -> UnsafeBufferPointer<Float> {
        let c = configuration, a = c.architecture
        let n = batch.count, d = c.embeddingSize
        let logitCount = batch.reduce(0) { $0 + ($1.wantsLogits ? 1 : 0) }
        for t in batch {
            precondition(t.token >= 0 && t.token < c.vocabularySize, "token \(t.token) outside the vocabulary")
            precondition(t.position >= 0 && t.position < cache.contextLength, "position \(t.position) outside the cache")
            precondition(t.slot >= 0 && t.slot < cache.slotCount, "slot \(t.slot) outside the cache")
        }
        ws.reserve(tokens: n, logitTokens: logitCount, workers: pool?.threadCount ?? 1)
        let p = Parallelism(pool: pool, splitsEverything: ws.splitsEverything)
        // This runtime's arithmetic or llama.cpp's, chosen once for the whole pass.
        let k = ForwardKernels(arithmetic: cache.arithmetic, normalization: a.normalization)
        let x = ws.residual                                          // (n, d)

        // Token embeddings (× √d for Gemma), plus learned positions (GPT-2).
        let embeddingScale = a.scalesEmbedding ? Float(d).squareRoot() : nil
        for (i, t) in batch.enumerated() {
            tokenEmbedding.copyRow(t.token, into: x + i * d)
            if let embeddingScale {
                for j in 0..<d { x[i * d + j] *= embeddingScale }
            }
            if let positions = positionEmbedding {
                positions.copyRow(t.position, into: ws.projected)
                Activation.addBias(x + i * d, ws.projected, count: d)
            }
        }

        // Each token's rotary cosines and sines, once for every layer's queries and keys — one
        // table per RoPE base (Gemma 3's local layers rotate with their own).
        let rotary = c.rotaryDimensions ?? c.headSize
        let needsAngles = a.isRotary && k.usesAngles
        let bases = needsAngles ? Array(Set((0..<c.layerCount).map { c.ropeBase(layer: $0) })).sorted() : []
        let angleTables = bases.map { _ in UnsafeMutablePointer<Float>.allocate(capacity: n * rotary) }
        defer { angleTables.forEach { $0.deallocate() } }
        for (table, base) in zip(angleTables, bases) {
            for (i, t) in batch.enumerated() {
                RoPE.angles(position: t.position, base: base, rotaryDimensions: rotary,
                            frequencyFactors: ropeFrequencyFactors?.pointer, into: table + i * rotary)
            }
        }
        let noAngles = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { noAngles.deallocate() }

        for (l, layer) in layers.enumerated() {
            // Attention: normalise, project to q (n, qd), k and v (n, kvd); q/k norms, RoPE, cache.
            normalize(p, k, x, layer.attentionNorm, layer.attentionNormBias, into: ws.normed, tokens: n)
            linear(p, k, ws.normed, [
                (layer.query, layer.queryBias, ws.query), (layer.key, layer.keyBias, ws.key), (layer.value, layer.valueBias, ws.value),
            ], tokens: n)
            let angles = bases.firstIndex(of: c.ropeBase(layer: l)).map { UnsafePointer(angleTables[$0]) } ?? UnsafePointer(noAngles)
            prepareAttention(p, k, batch, layer: l, layer, query: ws.query, key: ws.key, value: ws.value, angles: angles, cache: cache)

            attend(p, k, batch, layer: l, cache: cache, query: ws.query, scores: ws.scores, out: ws.attended)  // (n, qd)
            linear(p, k, ws.attended, [(layer.output, layer.outputBias, ws.projected)], tokens: n)
            if let norm = layer.postAttentionNorm { normalize(p, k, ws.projected, norm, nil, into: ws.projected, tokens: n) }
            addResidual(p, x, ws.projected, tokens: n)

            // The last layer's feed-forward only for the rows whose logits are wanted, moved to
            // the front of x in batch order — nothing else reads the others. llama.cpp's graphs
            // do the same, and its parity mode needs it: llama.cpp's kernels for some formats
            // sum in an order that depends on the product's row count (KQuantLlamaCppOrder.swift).
            var rows = n
            if l == layers.count - 1 && logitCount < n {
                rows = 0
                for (i, t) in batch.enumerated() where t.wantsLogits {
                    if rows != i { (x + rows * d).update(from: x + i * d, count: d) }
                    rows += 1
                }
            }

            // Feed-forward, (rows, d) → (rows, h) → (rows, d): gated (SwiGLU, GeGLU) or the GELU MLP.
            normalize(p, k, x, layer.feedForwardNorm, layer.feedForwardNormBias, into: ws.normed, tokens: rows)
            if let up = layer.feedForwardUp {
                linear(p, k, ws.normed, [(layer.feedForwardIn, layer.feedForwardInBias, ws.hidden), (up, nil, ws.hiddenUp)], tokens: rows)
            } else {
                linear(p, k, ws.normed, [(layer.feedForwardIn, layer.feedForwardInBias, ws.hidden)], tokens: rows)
            }
            activate(p, k, gate: ws.hidden, up: ws.hiddenUp, tokens: rows)
            linear(p, k, ws.hidden, [(layer.feedForwardOut, layer.feedForwardOutBias, ws.projected)], tokens: rows)
            if let norm = layer.postFeedForwardNorm { normalize(p, k, ws.projected, norm, nil, into: ws.projected, tokens: rows) }
            addResidual(p, x, ws.projected, tokens: rows)
        }

        // Final norm and classifier for the rows whose logits are wanted (the first logitCount
        // rows of x since the last layer): (logitCount, V).
        ws.logitRows.update(from: x, count: logitCount * d)
        normalize(p, k, ws.logitRows, finalNorm, finalNormBias, into: ws.logitRows, tokens: logitCount)
        linear(p, k, ws.logitRows, [(classifier, nil, ws.logits)], tokens: logitCount)
        if let cap = c.finalLogitSoftCap {
            let V = c.vocabularySize
            byRows(p, tokens: logitCount, elements: logitCount * V) { rows in
                for r in rows { k.softCap(ws.logits + r * V, V, cap) }
            }
        }
        return UnsafeBufferPointer(start: ws.logits, count: logitCount * c.vocabularySize)
    }
}
