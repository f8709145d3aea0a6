// The one seam every caller of "generate this prompt" goes through — the sample's scenarios, the
// benchmark, `smallmind batch`, the inference queue. Strategies plug in behind it: `locked` (the
// C# sample's one-at-a-time), `parallel` (independent contexts on shared weights) and `batched`
// (the continuous-batching `Engine`: one forward pass per step for every sequence in flight).

import SmallMindKernels

/// Something that turns a prompt and parameters into a completion.
///
/// Conformances are shared by many concurrent callers. A generation stopped by cancelling the
/// calling task throws `CancellationError` (its partial text is not a result).
public protocol TextGenerator: Sendable {
    /// Generates one completion of `prompt`.
    func generate(_ prompt: String, _ parameters: GenerationParameters) async throws -> Completion
}

/// How generations share a model.
public enum GenerationStrategy: String, Sendable, CaseIterable, CustomStringConvertible {
    /// One generation at a time behind a lock, like the C# sample's `lock(model)`: concurrency
    /// buys nothing, which is the point of showing it.
    case locked
    /// Each in-flight generation borrows its own context from a `ModelPool` over the shared weights.
    case parallel
    /// Every in-flight generation rides in the `Engine`'s batch: each step reads every weight once
    /// for all of them, and the kernels use every core.
    case batched

    /// What the tools use when no strategy is named.
    public static let `default`: GenerationStrategy = .batched

    /// A generator of this strategy for up to `concurrency` simultaneous callers. `threads` is
    /// the batched engine's kernel threads (default: every core, at most 256); the `locked` and
    /// `parallel` strategies run each generation on the one thread that calls it, so their
    /// parallelism is `concurrency` and `threads` does not apply.
    public func makeGenerator(model: Model, concurrency: Int, threads: Int = ThreadPool.processorCount) -> any TextGenerator {
        do { return try makeGenerator(model: model, concurrency: concurrency, threads: threads, kvCacheBytes: nil) } catch {
            // The default budget holds at least one full context, so it is never too small.
            preconditionFailure("default engine options rejected: \(error)")
        }
    }

    /// The same, with the batched engine's KV budget (`EngineOptions.kvCacheBytes`; nil = its
    /// default). Throws when that budget cannot hold one KV block.
    public func makeGenerator(
        model: Model, concurrency: Int, threads: Int = ThreadPool.processorCount, kvCacheBytes: Int?
    ) throws(EngineError) -> any TextGenerator {
        switch self {
        case .locked: return LockedGenerator(model: model)
        case .parallel: return ParallelGenerator(model: model, concurrency: concurrency)
        case .batched: return try BatchedGenerator(model: model, maxBatch: concurrency, threads: threads, kvCacheBytes: kvCacheBytes)
        }
    }

    public var description: String { rawValue }
}

/// One generation at a time over one context: the C# sample's `lock(model)`. Callers queue in
/// order; a waiting caller is suspended, not blocking a thread.
public struct LockedGenerator: TextGenerator {
    // A pool of one context is exactly a lock around a single context.
    private let pool: ModelPool

    public init(model: Model) { pool = ModelPool(model: model, capacity: 1) }

    public func generate(_ prompt: String, _ parameters: GenerationParameters) async throws -> Completion {
        try await pool.generate(prompt, parameters)
    }
}

/// Independent generations side by side, each in a context borrowed from a `ModelPool`.
public struct ParallelGenerator: TextGenerator {
    /// The pool the contexts come from.
    public let pool: ModelPool

    public init(pool: ModelPool) { self.pool = pool }

    /// A generator with its own pool of `concurrency` contexts over `model`.
    public init(model: Model, concurrency: Int) { pool = ModelPool(model: model, capacity: max(1, concurrency)) }

    public func generate(_ prompt: String, _ parameters: GenerationParameters) async throws -> Completion {
        try await pool.generate(prompt, parameters)
    }
}

/// Generations batched together by an `Engine`.
public struct BatchedGenerator: TextGenerator {
    public let engine: Engine

    public init(engine: Engine) { self.engine = engine }

    /// An engine holding up to `maxBatch` sequences at once, its kernels on `threads` threads
    /// (default: every core).
    public init(model: Model, maxBatch: Int, threads: Int = ThreadPool.processorCount) {
        do { try self.init(model: model, maxBatch: maxBatch, threads: threads, kvCacheBytes: nil) } catch {
            preconditionFailure("default engine options rejected: \(error)")
        }
    }

    /// The same, its KV cache within `kvCacheBytes` (nil: `EngineOptions`' default).
    /// Throws only for a budget too small for one KV block (maxBatch and threads are clamped).
    public init(model: Model, maxBatch: Int, threads: Int = ThreadPool.processorCount, kvCacheBytes: Int?) throws(EngineError) {
        engine = try Engine(
            model: model,
            options: EngineOptions(maxBatch: min(max(1, maxBatch), 4096), kvCacheBytes: kvCacheBytes, threads: min(max(1, threads), 256)))
    }

    public func generate(_ prompt: String, _ parameters: GenerationParameters) async throws -> Completion {
        let completion = try await engine.generate(prompt, parameters)
        if completion.finishReason == .cancelled { throw CancellationError() }
        return completion
    }
}

extension ModelPool {
    /// One generation in a borrowed context, recording the thread that computed it.
    func generate(_ prompt: String, _ parameters: GenerationParameters) async throws -> Completion {
        let completion = try await withContext { context in
            // `GenerationContext.generate` is synchronous: the whole generation runs on this thread.
            var completion = try context.generate(prompt, parameters: parameters)
            completion.threadID = ThreadIdentity.current
            return completion
        }
        if completion.finishReason == .cancelled { throw CancellationError() }
        return completion
    }
}
