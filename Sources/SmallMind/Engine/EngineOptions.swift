import Foundation
import SmallMindKernels

/// How an `Engine` batches and what it may use.
public struct EngineOptions: Sendable, Equatable {
    /// Most sequences in flight at once — each holds one block table of the KV cache. Default 16.
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
    /// The KV cache's byte budget: one pool of blocks shared by every sequence (keys and values,
    /// all layers). A request is admitted when blocks for its prompt are free; when the pool runs
    /// dry mid-generation the youngest sequence is preempted and recomputed later, with the same
    /// result. nil = `defaultKVCacheBytes`: room for `maxBatch` sequences at the full context,
    /// capped at a quarter of the machine's memory (never below one full context). Untouched
    /// blocks cost no memory, but blocks kept for prefix sharing stay resident up to the budget.
    public var kvCacheBytes: Int?
    /// Positions per KV block (`KVCache.defaultBlockSize`, 16, by default). Results do not depend
    /// on it; memory is allocated, and prompt prefixes are shared, at this grain.
    public var kvBlockSize: Int
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
    /// Whether KV blocks holding a prompt prefix are shared between requests (a shared system
    /// prompt, a few-shot preamble, the previous turns of a conversation) instead of computed
    /// again. Results are the same bits either way; only the time to the first token changes.
    /// Default true.
    public var reusesPrefixes: Bool

    public init(
        maxBatch: Int = 16, contextLength: Int? = nil, kvCacheBytes: Int? = nil, prefillChunk: Int = 256,
        maxStepTokens: Int = 512, queueLimit: Int = 1024, threads: Int = ThreadPool.processorCount,
        kvCacheType: KVCache.ElementType = .f32, reusesPrefixes: Bool = true, kvBlockSize: Int = KVCache.defaultBlockSize
    ) {
        self.kvBlockSize = kvBlockSize
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
        guard kvBlockSize >= 1 && kvBlockSize <= 4096 else { throw fail("kvBlockSize", kvBlockSize, "must be in 1...4096") }
        if let kvCacheBytes {
            let perBlock = kvBlockBytes(configuration)
            guard kvCacheBytes >= perBlock else {
                throw fail("kvCacheBytes", kvCacheBytes, "one KV block (\(blockSize(configuration)) positions) needs \(perBlock) bytes")
            }
        }
    }

    /// Positions per block for `configuration`'s model (at most the context).
    func blockSize(_ configuration: ModelConfiguration) -> Int { min(kvBlockSize, resolvedContextLength(configuration)) }

    /// Bytes of one KV block.
    func kvBlockBytes(_ configuration: ModelConfiguration) -> Int {
        blockSize(configuration) * KVCache.bytesPerPosition(configuration: configuration, elementType: kvCacheType)
    }

    /// The budget when `kvCacheBytes` is nil: `maxBatch` full contexts, at most a quarter of
    /// physical memory, at least one full context.
    public func defaultKVCacheBytes(_ configuration: ModelConfiguration) -> Int {
        let context = resolvedContextLength(configuration) * KVCache.bytesPerPosition(configuration: configuration, elementType: kvCacheType)
        let quarter = Int(min(ProcessInfo.processInfo.physicalMemory / 4, UInt64(Int.max)))
        return max(context, min(maxBatch * context, quarter))
    }

    /// Blocks the budget buys.
    func kvBlockCount(_ configuration: ModelConfiguration) -> Int {
        max(1, (kvCacheBytes ?? defaultKVCacheBytes(configuration)) / kvBlockBytes(configuration))
    }
}

/// Why the engine refused a request or could not start.
public enum EngineError: Error, Equatable, CustomStringConvertible {
    case invalidOption(name: String, value: String, rule: String)
    case queueFull(limit: Int)
    case shutDown
    /// A prompt needs more KV positions than the whole budget holds: it could never run.
    case promptExceedsKVBudget(tokens: Int, budgetTokens: Int, budgetBytes: Int)

    public var description: String {
        switch self {
        case let .invalidOption(name, value, rule):
            return "invalid engine option \(name) = \(value): \(rule)"
        case let .queueFull(limit):
            return "the engine's queue is full (\(limit) requests waiting); retry later"
        case .shutDown:
            return "the engine has shut down"
        case let .promptExceedsKVBudget(tokens, budgetTokens, budgetBytes):
            return "the prompt is \(tokens) tokens but the KV cache budget of \(budgetBytes) bytes holds \(budgetTokens) positions"
                + " (raise --kv-cache-bytes / EngineOptions.kvCacheBytes)"
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
    /// Tokens not computed because KV blocks already held them (prefix hits): prompt tokens, and
    /// after a preemption the prompt and generated tokens its recomputation found in the pool.
    public var reusedPromptTokens = 0
    /// Sequences preempted (their blocks freed, recomputed later) because the KV pool ran dry.
    public var preemptions = 0
    /// Most KV blocks in sequences' tables at once, after a step.
    public var peakKVBlocks = 0
    /// Σ over steps of the positions the active sequences held, and of the positions their blocks
    /// provide (blocks × block size): their ratio is the budget's utilisation.
    public var heldPositionSteps = 0
    public var allocatedPositionSteps = 0

    /// Average sequences per forward pass.
    public var averageBatchSize: Double { steps == 0 ? 0 : Double(sequenceSteps) / Double(steps) }

    /// Positions held / positions allocated, averaged over steps (vLLM's measure of KV waste is
    /// one minus this). Shared blocks count once in the allocation and once per sequence in the
    /// positions held, so sharing can lift it above 1.
    public var kvUtilization: Double {
        allocatedPositionSteps == 0 ? 0 : Double(heldPositionSteps) / Double(allocatedPositionSteps)
    }
}

/// A snapshot of an engine's occupancy.
public struct EngineLoad: Sendable, Equatable {
    /// Sequences holding a KV slot (prefilling or decoding).
    public var activeSequences: Int
    /// Submitted requests still waiting for a slot (preempted sequences included).
    public var queuedRequests: Int
    /// KV blocks in some sequence's table, and blocks kept only for prefix sharing (evictable).
    public var kvBlocksInUse: Int
    public var kvBlocksCached: Int

    public init(activeSequences: Int, queuedRequests: Int, kvBlocksInUse: Int = 0, kvBlocksCached: Int = 0) {
        self.activeSequences = activeSequences
        self.queuedRequests = queuedRequests
        self.kvBlocksInUse = kvBlocksInUse
        self.kvBlocksCached = kvBlocksCached
    }
}
