import SmallMindKernels

/// How an `Engine` batches and what it may use.
public struct EngineOptions: Sendable, Equatable {
    /// Most sequences in flight at once — each holds one KV-cache slot. Default 16.
    public var maxBatch: Int
    /// Positions per KV slot; nil = the model's context length, at most `defaultContextLimit`
    /// (4096, llama.cpp's default `-c`): real models declare 32 768 or more positions, and a
    /// full-context slot of Qwen 2.5 0.5B takes 805 MB in f32. A prompt longer than it is
    /// rejected at once; a generation that reaches it stops with finish reason `.length`.
    public var contextLength: Int?

    /// The positions per slot when `contextLength` is nil and the model allows more.
    public static let defaultContextLimit = 4096

    /// The positions per KV slot these options give `configuration`'s model.
    public func resolvedContextLength(_ configuration: ModelConfiguration) -> Int {
        contextLength ?? min(configuration.contextLength, Self.defaultContextLimit)
    }
    /// Upper bound on the KV cache's memory in bytes; when set, fewer slots than `maxBatch` may be
    /// allocated. nil = no bound beyond `maxBatch` slots.
    public var kvCacheBytes: Int?
    /// Most prompt tokens of one sequence processed in one step (longer prompts prefill over
    /// several steps, interleaved with other sequences' decoding). Default 256.
    public var prefillChunk: Int
    /// Most tokens in one forward pass. Default 512.
    public var maxStepTokens: Int
    /// Most requests waiting for a slot; beyond it, submitting fails at once. Default 1024.
    public var queueLimit: Int
    /// Threads for the kernels (the scheduler's own thread included). Default: all cores.
    public var threads: Int
    /// How the KV cache stores keys and values. `.f16` halves its memory — twice the slots in the
    /// same `kvCacheBytes` — and rounds each key and value once (relative error ≤ 2⁻¹¹); attention
    /// still computes in float32 and stays batch-invariant. Default `.f32` (exact).
    public var kvCacheType: KVCache.ElementType
    /// Whether a request whose prompt starts with tokens a free KV slot still holds (the previous
    /// turn of a conversation, a shared system prompt) reuses them instead of computing them again.
    /// Results are the same bits either way; only the time to the first token changes. Default true.
    public var reusesPrefixes: Bool

    public init(
        maxBatch: Int = 16, contextLength: Int? = nil, kvCacheBytes: Int? = nil, prefillChunk: Int = 256,
        maxStepTokens: Int = 512, queueLimit: Int = 1024, threads: Int = ThreadPool.processorCount,
        kvCacheType: KVCache.ElementType = .f32, reusesPrefixes: Bool = true
    ) {
        self.maxBatch = maxBatch
        self.contextLength = contextLength
        self.kvCacheBytes = kvCacheBytes
        self.prefillChunk = prefillChunk
        self.maxStepTokens = maxStepTokens
        self.queueLimit = queueLimit
        self.threads = threads
        self.kvCacheType = kvCacheType
        self.reusesPrefixes = reusesPrefixes
    }

    func validate(for configuration: ModelConfiguration) throws(EngineError) {
        func fail(_ name: String, _ value: Int, _ rule: String) -> EngineError {
            .invalidOption(name: name, value: String(value), rule: rule)
        }
        guard maxBatch >= 1 && maxBatch <= 4096 else { throw fail("maxBatch", maxBatch, "must be in 1...4096") }
        if let contextLength, !(1...configuration.contextLength).contains(contextLength) {
            throw fail("contextLength", contextLength, "must be in 1...\(configuration.contextLength) (the model's context)")
        }
        guard prefillChunk >= 1 else { throw fail("prefillChunk", prefillChunk, "must be 1 or more") }
        guard maxStepTokens >= maxBatch else { throw fail("maxStepTokens", maxStepTokens, "must be at least maxBatch (\(maxBatch))") }
        guard queueLimit >= 0 else { throw fail("queueLimit", queueLimit, "must be 0 or more") }
        guard threads >= 1 && threads <= 256 else { throw fail("threads", threads, "must be in 1...256") }
        if let kvCacheBytes {
            let perSlot = KVCache.bytesPerSlot(
                configuration: configuration, contextLength: resolvedContextLength(configuration), elementType: kvCacheType)
            guard kvCacheBytes >= perSlot else {
                throw fail("kvCacheBytes", kvCacheBytes, "one sequence's KV cache needs \(perSlot) bytes")
            }
        }
    }

    /// KV slots to allocate: `maxBatch`, fewer if the byte budget says so.
    func slotCount(for configuration: ModelConfiguration) -> Int {
        guard let kvCacheBytes else { return maxBatch }
        let perSlot = KVCache.bytesPerSlot(
            configuration: configuration, contextLength: resolvedContextLength(configuration), elementType: kvCacheType)
        return max(1, min(maxBatch, kvCacheBytes / perSlot))
    }
}

/// Why the engine refused a request or could not start.
public enum EngineError: Error, Equatable, CustomStringConvertible {
    case invalidOption(name: String, value: String, rule: String)
    case queueFull(limit: Int)
    case shutDown

    public var description: String {
        switch self {
        case let .invalidOption(name, value, rule):
            return "invalid engine option \(name) = \(value): \(rule)"
        case let .queueFull(limit):
            return "the engine's queue is full (\(limit) requests waiting); retry later"
        case .shutDown:
            return "the engine has shut down"
        }
    }
}

/// Counters over the engine's life.
public struct EngineStatistics: Sendable, Equatable {
    /// Forward passes run.
    public var steps = 0
    /// Tokens processed by those passes (prompt and generated).
    public var tokens = 0
    /// Σ over steps of the sequences in the step.
    public var sequenceSteps = 0
    public var completedRequests = 0
    public var generatedTokens = 0
    /// Prompt tokens not computed because a free slot already held them.
    public var reusedPromptTokens = 0

    /// Average sequences per forward pass.
    public var averageBatchSize: Double { steps == 0 ? 0 : Double(sequenceSteps) / Double(steps) }
}
