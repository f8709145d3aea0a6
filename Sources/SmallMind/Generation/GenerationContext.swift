// One generation at a time on shared, read-only weights. A context owns everything that changes
// while generating — the KV cache, the scratch buffers, the sampler's RNG — so any number of
// contexts run side by side on one `Model` without a lock. A context is not shareable itself
// (not Sendable): each task makes or borrows its own.

import SmallMindKernels

/// Per-generation state over a shared model.
public final class GenerationContext {
    public let model: Model
    let cache: KVCache
    let workspace: Workspace
    /// Splits each forward pass over several threads (one sequence using every core); nil = this
    /// thread only, the right choice when many contexts already run side by side.
    let pool: ThreadPool?

    public convenience init(model: Model, pool: ThreadPool? = nil) {
        self.init(model: model, pool: pool, cache: KVCache(configuration: model.configuration))
    }

    /// A context whose KV cache takes at most `kvCacheBytes` (nil: the model's whole context):
    /// its context is then the positions the budget holds. Throws when it holds no block.
    public convenience init(model: Model, pool: ThreadPool? = nil, kvCacheBytes: Int?) throws(EngineError) {
        guard let kvCacheBytes else {
            self.init(model: model, pool: pool)
            return
        }
        let c = model.configuration, perPosition = KVCache.bytesPerPosition(configuration: c)
        let blockSize = min(KVCache.defaultBlockSize, c.contextLength)
        let blocks = kvCacheBytes / (perPosition * blockSize)
        guard blocks >= 1 else {
            throw .invalidOption(name: "kvCacheBytes", value: String(kvCacheBytes),
                                 rule: "one KV block (\(blockSize) positions) needs \(perPosition * blockSize) bytes")
        }
        self.init(model: model, pool: pool, cache: KVCache(configuration: c, contextLength: min(c.contextLength, blocks * blockSize)))
    }

    init(model: Model, pool: ThreadPool?, cache: KVCache) {
        self.model = model
        self.pool = pool
        self.cache = cache
        workspace = Workspace(configuration: model.configuration, capacity: 16)
    }

    /// Positions a generation may use: the model's context, or what the KV budget holds.
    public var contextLength: Int { cache.contextLength }

    /// Generates a continuation of `prompt`. `onToken` sees each token as it is produced and may
    /// return false to stop (finish reason `.cancelled`); task cancellation also stops at the next
    /// token. Errors are thrown before any work: bad parameters, untokenizable or too-long prompts.
    public func generate(
        _ prompt: String, parameters: GenerationParameters = .init(),
        onToken: ((TokenEvent) -> Bool)? = nil
    ) throws(GenerationError) -> Completion {
        try parameters.validate()
        let promptTokens = try model.tokenize(prompt, parseSpecial: parameters.parseSpecialTokens)
        let contextLength = cache.contextLength
        guard promptTokens.count <= contextLength else {
            throw .promptTooLong(tokens: promptTokens.count, contextLength: contextLength)
        }
        let clock = ContinuousClock()
        let start = clock.now

        // Prefill: the whole prompt in one forward pass; only the last token's logits are needed.
        let prefill = promptTokens.enumerated().map { i, token in
            BatchToken(token: token, position: i, wantsLogits: i == promptTokens.count - 1)
        }
        var logits = model.weights.forward(prefill, cache: cache, workspace: workspace, pool: pool)
        let firstTokenTime = clock.now

        var state = SequenceState(promptTokens: promptTokens, parameters: parameters, tokenizer: model.tokenizer)
        while state.finishReason == nil {
            if Task.isCancelled {
                _ = state.finish(.cancelled)
                break
            }
            let (event, feed) = state.advance(logits: logits, contextLength: contextLength)
            if let event, let onToken, !onToken(event) {
                _ = state.finish(.cancelled)
                break
            }
            guard let feed else { break }
            logits = model.weights.forward([feed], cache: cache, workspace: workspace, pool: pool)
        }
        if let tail = state.finish(.length), let onToken { _ = onToken(tail) }
        let end = clock.now
        return state.completion(
            prompt: prompt,
            timings: GenerationTimings(promptSeconds: (firstTokenTime - start).seconds, generationSeconds: (end - firstTokenTime).seconds))
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}
