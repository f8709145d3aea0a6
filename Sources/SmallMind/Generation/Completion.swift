/// Why a generation ended.
public enum FinishReason: String, Sendable, Codable, Equatable {
    /// The model produced its end-of-sequence (or BOS) token.
    case endOfSequence = "eos"
    /// The text reached one of the stop strings (which is not included).
    case stopString = "stop"
    /// `maxTokens` were generated, or the context is full.
    case length
    /// The caller cancelled.
    case cancelled
}

/// A finished generation.
public struct Completion: Sendable, Equatable {
    public var prompt: String
    /// The generated text only.
    public var continuation: String
    public var promptTokens: [Int]
    /// The generated token ids (EOS excluded).
    public var tokens: [Int]
    public var finishReason: FinishReason
    public var timings: GenerationTimings
    /// One entry per generated token (aligned with `tokens`) when
    /// `GenerationParameters.topLogProbabilities` > 0; empty otherwise. The step that produced
    /// the end-of-sequence token has none (that token is not in `tokens` either).
    public var logProbabilities: [StepLogProbabilities] = []
    /// The operating-system thread that computed the generation, when the runner records it (the
    /// sample's "worker" column); see `ThreadIdentity`. Not part of the result's content.
    public var threadID: Int?
    /// Leading prompt tokens the engine found already computed in its KV cache (an earlier request
    /// with the same prefix, such as the previous turn of a conversation) and did not compute
    /// again — OpenAI's `prompt_tokens_details.cached_tokens`. Not part of the result's content:
    /// the tokens and their probabilities are the same either way.
    public var cachedPromptTokenCount = 0

    /// Prompt and continuation together, as the C# sample returns them.
    public var text: String { prompt + continuation }
    public var promptTokenCount: Int { promptTokens.count }
    public var completionTokenCount: Int { tokens.count }

    public init(
        prompt: String, continuation: String, promptTokens: [Int], tokens: [Int], finishReason: FinishReason, timings: GenerationTimings,
        logProbabilities: [StepLogProbabilities] = []
    ) {
        self.logProbabilities = logProbabilities
        self.prompt = prompt
        self.continuation = continuation
        self.promptTokens = promptTokens
        self.tokens = tokens
        self.finishReason = finishReason
        self.timings = timings
    }
}

/// Wall-clock durations of one generation, in seconds.
public struct GenerationTimings: Sendable, Equatable {
    /// Waiting for a place in a batch (engine only).
    public var queueSeconds: Double = 0
    /// Processing the prompt (prefill), up to the first sampled token.
    public var promptSeconds: Double = 0
    /// Generating the tokens after the first.
    public var generationSeconds: Double = 0
    /// From submission to the end, queueing included.
    public var totalSeconds: Double { queueSeconds + promptSeconds + generationSeconds }
    /// From submission to the first generated token.
    public var timeToFirstToken: Double { queueSeconds + promptSeconds }

    public init(queueSeconds: Double = 0, promptSeconds: Double = 0, generationSeconds: Double = 0) {
        self.queueSeconds = queueSeconds
        self.promptSeconds = promptSeconds
        self.generationSeconds = generationSeconds
    }

    /// Generated tokens per second of computing (prompt and generation; queueing excluded).
    public func tokensPerSecond(tokens: Int) -> Double {
        let busy = promptSeconds + generationSeconds
        return busy > 0 ? Double(tokens) / busy : 0
    }
}

/// One generated token as it is produced.
public struct TokenEvent: Sendable, Equatable {
    public var token: Int
    /// The text that became final with this token: may be empty (half a UTF-8 character, or text
    /// held back because it could be the start of a stop string).
    public var text: String
    /// 0 for the first generated token.
    public var index: Int
    /// The model's distribution at this step, when `GenerationParameters.topLogProbabilities` > 0;
    /// nil otherwise, and on the last event that only releases held-back text (it repeats the
    /// last token and index).
    public var logProbabilities: StepLogProbabilities? = nil
}
