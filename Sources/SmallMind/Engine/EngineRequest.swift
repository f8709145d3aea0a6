import Synchronization

/// A submitted request as the scheduler sees it: immutable inputs, a cancellation flag the caller
/// may set from any thread, and the two callbacks through which results leave the scheduler.
final class EngineRequest: Sendable {
    let prompt: String
    let promptTokens: [Int]
    let parameters: GenerationParameters
    let submitted: ContinuousClock.Instant
    /// Called on the scheduler thread for every token; must be quick.
    let onToken: @Sendable (TokenEvent) -> Void
    /// Called exactly once, on the scheduler thread (or the submitter's, when refused).
    let onFinish: @Sendable (Result<Completion, any Error>) -> Void
    private let cancelled = Atomic<Bool>(false)

    init(
        prompt: String, promptTokens: [Int], parameters: GenerationParameters,
        onToken: @escaping @Sendable (TokenEvent) -> Void, onFinish: @escaping @Sendable (Result<Completion, any Error>) -> Void
    ) {
        self.prompt = prompt
        self.promptTokens = promptTokens
        self.parameters = parameters
        self.onToken = onToken
        self.onFinish = onFinish
        submitted = ContinuousClock.now
    }

    /// Asks the scheduler to drop this request at its next step.
    func cancel() { cancelled.store(true, ordering: .relaxed) }
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
}

/// A request that holds a block table of the KV cache (or, preempted, waits to get one back):
/// its sequence state and where it is in the tokens it must compute. Owned by the scheduler thread.
struct ActiveSequence {
    let request: EngineRequest
    /// Its block table in the cache; -1 while preempted.
    var slot: Int
    var state: SequenceState
    /// The tokens to compute before decoding: the prompt, or after a preemption every token the
    /// sequence had fed (prompt and generated), recomputed.
    var context: [Int]
    /// Tokens of `context` already in the cache: reused from the pool's blocks, or fed.
    var prefilled: Int
    /// The tokens whose keys and values the table holds, position by position: what the blocks
    /// keep for later requests when this one finishes.
    var held: [Int]
    /// The token to feed at the next step once prefill is done.
    var pending: BatchToken?
    let admitted: ContinuousClock.Instant
    var firstToken: ContinuousClock.Instant?

    var isPrefilling: Bool { prefilled < context.count }
}
