// Generation contexts over one shared model, handed out one per borrower. The weights are never
// copied: every context references the same immutable `Model` and owns only what changes while
// generating (KV cache, scratch buffers) — for the demo model about 130 KB per context, against
// megabytes to gigabytes of weights for real models.
//
// The C# README's pool threw "pool exhausted" when every instance was busy; here a borrower simply
// waits its turn (suspending, so the waiting does not hold a thread that a running generation
// could use).

/// A bounded pool of `GenerationContext`s over one shared model.
public final class ModelPool: Sendable {
    /// The model every context in the pool generates with.
    public let model: Model
    /// Most contexts that exist (and so most generations running) at once.
    public let capacity: Int

    let permits: AsyncSemaphore   // internal for tests
    private let contexts: Locked<Contexts>

    private struct Contexts {
        var idle: [GenerationContext] = []
        var created = 0
    }

    /// - Parameter capacity: most contexts at once (at least 1). Contexts are created lazily, the
    ///   first time that many borrowers are in at once, and reused afterwards.
    public init(model: Model, capacity: Int) {
        precondition(capacity >= 1, "a model pool needs a capacity of at least 1")
        self.model = model
        self.capacity = capacity
        permits = AsyncSemaphore(permits: capacity)
        contexts = Locked(Contexts())
    }

    /// Runs `body` with a context of its own, waiting (suspended) while all `capacity` contexts are
    /// in use. The context goes back to the pool when `body` returns or throws; `body` must not let
    /// it escape. Throws `CancellationError` if the task is cancelled while waiting.
    public func withContext<R: Sendable>(_ body: (GenerationContext) throws -> R) async throws -> R {
        try await permits.wait()
        defer { permits.signal() }
        let context = contexts.withLock { c -> GenerationContext in
            if let idle = c.idle.popLast() { return idle }
            c.created += 1
            return GenerationContext(model: model)
        }
        // A context carries nothing from one generation to the next that matters: the prompt's
        // prefill overwrites the cache from position 0 and attention reads only what was written.
        defer { contexts.withLock { $0.idle.append(context) } }
        return try body(context)
    }

    /// Contexts created so far (never more than `capacity`).
    public var createdContextCount: Int { contexts.withLock { $0.created } }
    /// Borrowers waiting for a context right now.
    public var waitingCount: Int { permits.waiterCount }
}
