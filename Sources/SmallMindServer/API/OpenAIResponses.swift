// Response bodies in OpenAI's shapes and snake_case names. Fields OpenAI sends as `null`
// (`logprobs`, `finish_reason` while streaming, `usage` on stream chunks) are written as null
// rather than left out, as some clients look for them.
import SmallMind

struct Usage: Encodable, Sendable {
    struct PromptDetails: Encodable, Sendable {
        var cachedTokens: Int
        enum CodingKeys: String, CodingKey { case cachedTokens = "cached_tokens" }
    }
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int
    var promptTokensDetails: PromptDetails

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
        case promptTokensDetails = "prompt_tokens_details"
    }

    init(_ completion: Completion) {
        promptTokens = completion.promptTokenCount
        completionTokens = completion.completionTokenCount
        totalTokens = promptTokens + completionTokens
        promptTokensDetails = PromptDetails(cachedTokens: completion.cachedPromptTokenCount)
    }
}

extension FinishReason {
    /// OpenAI's names: an end of turn and a stop string are both "stop".
    var openAIName: String {
        switch self {
        case .endOfSequence, .stopString, .cancelled: return "stop"
        case .length: return "length"
        }
    }
}

// MARK: Chat

struct ChatMessageBody: Encodable, Sendable {
    var role = "assistant"
    var content: String
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(role, forKey: .role)
        try c.encode(content, forKey: .content)
        try c.encode(String?.none, forKey: .refusal)
    }
    enum CodingKeys: String, CodingKey { case role, content, refusal }
}

/// Chat log-probabilities: `{"content": [{token, logprob, bytes, top_logprobs: [...]}]}`.
struct ChatLogProbs: Encodable, Sendable {
    struct Entry: Encodable, Sendable {
        var token: String
        var logprob: Double
        var bytes: [UInt8]
        var topLogprobs: [Alternative]
        enum CodingKeys: String, CodingKey { case token, logprob, bytes, topLogprobs = "top_logprobs" }
    }
    struct Alternative: Encodable, Sendable {
        var token: String
        var logprob: Double
        var bytes: [UInt8]
    }
    var content: [Entry]

    /// `top` alternatives per step (0 = the chosen token only).
    init(_ steps: [StepLogProbabilities], top: Int, tokenizer: any Tokenizer) {
        func text(_ token: Int) -> String { tokenizer.decode([token]) }
        content = steps.map { step in
            let chosen = text(step.chosen.token)
            return Entry(
                token: chosen, logprob: step.chosen.logProbability, bytes: Array(chosen.utf8),
                topLogprobs: step.top.prefix(top).map { alternative in
                    let spelled = text(alternative.token)
                    return Alternative(token: spelled, logprob: alternative.logProbability, bytes: Array(spelled.utf8))
                })
        }
    }
}

struct ChatCompletionResponse: Encodable, Sendable {
    struct Choice: Encodable, Sendable {
        var index = 0
        var message: ChatMessageBody
        var logprobs: ChatLogProbs?
        var finishReason: String
        /// vLLM's extension: the stop string that ended the reply, null otherwise.
        var stopReason: String? = nil
        enum CodingKeys: String, CodingKey { case index, message, logprobs, finishReason = "finish_reason", stopReason = "stop_reason" }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(message, forKey: .message)
            try c.encode(logprobs, forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)
            try c.encode(stopReason, forKey: .stopReason)
        }
    }
    var id: String
    var object = "chat.completion"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage
}

struct ChatCompletionChunk: Encodable, Sendable {
    struct Delta: Encodable, Sendable {
        var role: String?
        var content: String?
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(role, forKey: .role)
            try c.encodeIfPresent(content, forKey: .content)
        }
        enum CodingKeys: String, CodingKey { case role, content }
    }
    struct Choice: Encodable, Sendable {
        var index = 0
        var delta: Delta
        var logprobs: ChatLogProbs?
        var finishReason: String?
        enum CodingKeys: String, CodingKey { case index, delta, logprobs, finishReason = "finish_reason" }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(delta, forKey: .delta)
            try c.encode(logprobs, forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)
        }
    }
    var id: String
    var object = "chat.completion.chunk"
    var created: Int
    var model: String
    var choices: [Choice]
    /// Present (null until the last chunk) only when the client asked for usage.
    var usage: Usage?
    var includesUsageField: Bool

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(object, forKey: .object)
        try c.encode(created, forKey: .created)
        try c.encode(model, forKey: .model)
        try c.encode(choices, forKey: .choices)
        if includesUsageField { try c.encode(usage, forKey: .usage) }
    }
}

// MARK: Completions (legacy)

/// The legacy API's log-probabilities: parallel lists.
struct CompletionLogProbs: Encodable, Sendable {
    var tokens: [String]
    var tokenLogprobs: [Double]
    var topLogprobs: [[String: Double]]
    var textOffset: [Int]
    enum CodingKeys: String, CodingKey {
        case tokens, tokenLogprobs = "token_logprobs", topLogprobs = "top_logprobs", textOffset = "text_offset"
    }

    init(_ steps: [StepLogProbabilities], top: Int, tokenizer: any Tokenizer, startOffset: Int) {
        tokens = []
        tokenLogprobs = []
        topLogprobs = []
        textOffset = []
        var offset = startOffset
        for step in steps {
            let text = tokenizer.decode([step.chosen.token])
            tokens.append(text)
            tokenLogprobs.append(step.chosen.logProbability)
            var alternatives: [String: Double] = [:]
            for alternative in step.top.prefix(top) { alternatives[tokenizer.decode([alternative.token])] = alternative.logProbability }
            topLogprobs.append(alternatives)
            textOffset.append(offset)
            offset += text.count
        }
    }
}

struct CompletionResponse: Encodable, Sendable {
    struct Choice: Encodable, Sendable {
        var text: String
        var index = 0
        var logprobs: CompletionLogProbs?
        var finishReason: String?
        /// vLLM's extension: the stop string that ended the text, null otherwise; written with
        /// the finish reason (not on the stream's earlier chunks).
        var stopReason: String? = nil
        enum CodingKeys: String, CodingKey { case text, index, logprobs, finishReason = "finish_reason", stopReason = "stop_reason" }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(text, forKey: .text)
            try c.encode(index, forKey: .index)
            try c.encode(logprobs, forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)
            if finishReason != nil { try c.encode(stopReason, forKey: .stopReason) }
        }
    }
    var id: String
    var object = "text_completion"
    var created: Int
    var model: String
    var choices: [Choice]
    /// Non-streaming responses always carry usage; stream chunks only when asked (null until the last).
    var usage: Usage?
    var includesUsageField = true

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(object, forKey: .object)
        try c.encode(created, forKey: .created)
        try c.encode(model, forKey: .model)
        try c.encode(choices, forKey: .choices)
        if includesUsageField { try c.encode(usage, forKey: .usage) }
    }
}

// MARK: Models

struct ModelList: Encodable, Sendable {
    struct Entry: Encodable, Sendable {
        var id: String
        var object = "model"
        var created: Int
        var ownedBy = "smallmind"
        enum CodingKeys: String, CodingKey { case id, object, created, ownedBy = "owned_by" }
    }
    var object = "list"
    var data: [Entry]
}
