/// The evolving state of one generation: sampler and its RNG, the text assembled so far, stop-string
/// watching, and the position of the next token. Shared by `GenerationContext` (one sequence) and
/// the batching `Engine` (many), so both finish, stream and count tokens the same way.
struct SequenceState {
    let promptTokens: [Int]
    let parameters: GenerationParameters
    let tokenizer: any Tokenizer
    private var sampler: Sampler
    private var detokenizer = StreamingDetokenizer()
    private var matcher: StopStringMatcher
    private(set) var generated: [Int] = []
    /// One entry per `generated` token when log-probabilities are requested.
    private(set) var logProbabilities: [StepLogProbabilities] = []
    private var previous: Int?
    /// Position the next fed token occupies (prompt tokens take 0..<promptTokens.count).
    private(set) var position: Int
    private(set) var finishReason: FinishReason?
    /// Leading prompt tokens whose keys and values were already cached (not computed again).
    var cachedPromptTokenCount = 0

    init(promptTokens: [Int], parameters: GenerationParameters, tokenizer: any Tokenizer) {
        self.promptTokens = promptTokens
        self.parameters = parameters
        self.tokenizer = tokenizer
        sampler = Sampler(parameters: parameters)
        matcher = StopStringMatcher(stops: parameters.stop)
        previous = promptTokens.last
        position = promptTokens.count
        if parameters.maxTokens == 0 { finishReason = .length }
    }

    /// Samples the next token from `logits`. Returns the event to deliver (nil when the model
    /// ended the text) and the token to feed at the next step (nil when the sequence finished).
    mutating func advance(logits: UnsafeBufferPointer<Float>, contextLength: Int) -> (event: TokenEvent?, feed: BatchToken?) {
        precondition(finishReason == nil, "advancing a finished sequence")
        let next = sampler.sample(logits)
        if tokenizer.isEndOfText(next) {
            finishReason = .endOfSequence
            return (nil, nil)
        }
        generated.append(next)
        // Only when asked: it costs an exp per vocabulary entry.
        let step = parameters.topLogProbabilities > 0
            ? StepLogProbabilities.compute(logits: logits, chosen: next, count: parameters.topLogProbabilities) : nil
        if let step { logProbabilities.append(step) }
        let (release, stopped) = matcher.append(detokenizer.append(tokenizer.bytes(of: next, after: previous)))
        previous = next
        let event = TokenEvent(token: next, text: release, index: generated.count - 1, logProbabilities: step)
        if stopped {
            finishReason = .stopString
        } else if generated.count >= parameters.maxTokens || position >= contextLength {
            // Out of budget, or no room to feed the token just sampled.
            finishReason = .length
        }
        guard finishReason == nil else { return (event, nil) }
        defer { position += 1 }
        return (event, BatchToken(token: next, position: position))
    }

    /// Ends the sequence (if not already ended) and returns the text still held back, if any, as a
    /// last event.
    mutating func finish(_ reason: FinishReason) -> TokenEvent? {
        if finishReason == nil { finishReason = reason }
        guard finishReason != .stopString, let last = generated.last else { return nil }
        let tail = matcher.append(detokenizer.finish()).release + matcher.finish()
        return tail.isEmpty ? nil : TokenEvent(token: last, text: tail, index: generated.count - 1)
    }

    func completion(prompt: String, timings: GenerationTimings) -> Completion {
        var completion = Completion(
            prompt: prompt, continuation: matcher.fullText, promptTokens: promptTokens, tokens: generated,
            finishReason: finishReason ?? .length, timings: timings, logProbabilities: logProbabilities)
        completion.cachedPromptTokenCount = cachedPromptTokenCount
        return completion
    }
}
