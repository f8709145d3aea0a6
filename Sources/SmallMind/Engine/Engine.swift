// The batched inference engine. Requests arrive from any task; one scheduler thread runs steps;
// each step gathers the next tokens of every active sequence — prompt chunks for sequences still
// in prefill, one token for each sequence decoding — into one forward pass, so every weight matrix
// is read once per step for all of them. New requests join at the next step, finished ones leave
// and free their KV blocks (continuous batching; Scheduler explains the paging). Because every kernel reduces each element in a
// fixed order, a request's tokens are the same alone or among many.
import SmallMindKernels
import Synchronization

/// Continuous-batching text generation over one shared model.
public final class Engine: Sendable {
    public let model: Model
    public let options: EngineOptions
    private let scheduler: Scheduler

    /// Starts the engine's scheduler thread and kernel thread pool, and allocates the KV cache.
    public init(model: Model, options: EngineOptions = .init()) throws(EngineError) {
        try options.validate(for: model.configuration)
        self.model = model
        self.options = options
        scheduler = Scheduler(model: model, options: options)
    }

    deinit { scheduler.stop() }

    /// Block tables (sequences that can be in flight at once: `options.maxBatch`).
    public var slotCount: Int { scheduler.slotCount }

    /// Positions available to each sequence: the context, at most what the KV budget holds.
    public var contextLength: Int { scheduler.contextLength }

    /// Bytes of the KV cache's pool of blocks (the budget, rounded down to whole blocks).
    public var kvCacheBytes: Int { scheduler.kvCacheBytes }

    /// Blocks in the KV pool, and positions per block.
    public var kvBlockCount: Int { scheduler.kvBlockCount }
    public var kvBlockSize: Int { scheduler.kvBlockSize }

    /// Counters since the engine started.
    public var statistics: EngineStatistics { scheduler.statistics }

    /// How busy the engine is right now: what a server reports as gauges (a snapshot, stale as
    /// soon as it is read).
    public var load: EngineLoad { scheduler.load }

    /// Generates a completion of `prompt`. Throws at once for bad parameters, a prompt that does not
    /// tokenize, a prompt longer than the context, or a full queue. A request whose prompt plus
    /// `maxTokens` exceeds the context runs until the context is full (finish reason `.length`). Cancelling the calling
    /// task removes the sequence at the next step; the completion then has finish reason `.cancelled`.
    /// `onToken` runs on the engine's thread for each token: keep it short.
    public func generate(
        _ prompt: String, _ parameters: GenerationParameters = .init(),
        onToken: @escaping @Sendable (TokenEvent) -> Void = { _ in }
    ) async throws -> Completion {
        let (promptTokens, parameters) = try prepare(prompt, parameters)
        return try await run(prompt: prompt, tokens: promptTokens, parameters, onToken: onToken)
    }

    /// Generates a completion of a prompt given as token ids (a caller that tokenized it, a
    /// benchmark). The same rules as `generate(_:_:onToken:)`; ids outside the vocabulary are an
    /// error. The completion's `prompt` text is empty.
    public func generate(
        tokens: [Int], _ parameters: GenerationParameters = .init(), onToken: @escaping @Sendable (TokenEvent) -> Void = { _ in }
    ) async throws -> Completion {
        try parameters.validate()
        let vocabulary = model.configuration.vocabularySize
        if let bad = tokens.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw GenerationError.invalidParameter(name: "tokens", value: String(bad), rule: "must be token ids in 0..<\(vocabulary)")
        }
        try checkLength(tokens.count)
        return try await run(prompt: "", tokens: tokens, parameters, onToken: onToken)
    }

    private func run(
        prompt: String, tokens promptTokens: [Int], _ parameters: GenerationParameters,
        onToken: @escaping @Sendable (TokenEvent) -> Void
    ) async throws -> Completion {
        let box = RequestBox()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let request = EngineRequest(
                    prompt: prompt, promptTokens: promptTokens, parameters: parameters,
                    onToken: onToken, onFinish: { continuation.resume(with: $0) })
                box.set(request)
                scheduler.submit(request)
            }
        } onCancel: {
            box.cancel()
        }
    }

    /// Streams the tokens of one generation. Ending the iteration early (or cancelling the
    /// consuming task) cancels the request at the next step.
    public func stream(_ prompt: String, _ parameters: GenerationParameters = .init()) -> AsyncThrowingStream<TokenEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<TokenEvent, any Error>.makeStream()
        do {
            let (promptTokens, parameters) = try prepare(prompt, parameters)
            let request = EngineRequest(
                prompt: prompt, promptTokens: promptTokens, parameters: parameters,
                onToken: { continuation.yield($0) },
                onFinish: { result in
                    if case let .failure(error) = result { continuation.finish(throwing: error) } else { continuation.finish() }
                })
            continuation.onTermination = { _ in request.cancel() }
            scheduler.submit(request)
        } catch {
            continuation.finish(throwing: error)
        }
        return stream
    }

    /// Stops the scheduler: requests still queued or running finish with `EngineError.shutDown`.
    public func shutdown() { scheduler.stop() }

    /// Validates and tokenizes a request. The context rule is `GenerationContext`'s, so that every
    /// strategy treats a long request alike: a prompt longer than the context is an error naming
    /// both counts (`GenerationError.promptTooLong`); any other request runs, and generation stops
    /// with finish reason `.length` when the context is full — before `maxTokens` if need be. (The
    /// last token is sampled from the last position's logits and needs no position of its own, so
    /// a prompt that fills the context exactly still gets one token.)
    private func prepare(_ prompt: String, _ parameters: GenerationParameters) throws -> ([Int], GenerationParameters) {
        try parameters.validate()
        let tokens = try model.tokenize(prompt, parseSpecial: parameters.parseSpecialTokens)
        try checkLength(tokens.count)
        return (tokens, parameters)
    }

    private func checkLength(_ count: Int) throws {
        guard count <= scheduler.contextLength else {
            if count <= options.resolvedContextLength(model.configuration) {
                // The context would hold it; the KV budget cannot.
                throw EngineError.promptExceedsKVBudget(
                    tokens: count, budgetTokens: scheduler.contextLength, budgetBytes: scheduler.kvCacheBytes)
            }
            throw GenerationError.promptTooLong(tokens: count, contextLength: scheduler.contextLength)
        }
    }
}

/// Carries the request to the cancellation handler, which may run before the request exists.
private final class RequestBox: Sendable {
    private let state = Mutex<(request: EngineRequest?, cancelled: Bool)>((nil, false))

    func set(_ request: EngineRequest) {
        let cancelled = state.withLock { s in
            s.request = request
            return s.cancelled
        }
        if cancelled { request.cancel() }
    }

    func cancel() {
        state.withLock { s in
            s.cancelled = true
            return s.request
        }?.cancel()
    }
}
