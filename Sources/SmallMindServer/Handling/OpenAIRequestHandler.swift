// The generation endpoints without HTTP: a JSON body for /v1/chat/completions or /v1/completions in,
// a status and a JSON body out. The Hummingbird routes use it (and add streaming, metrics and
// hang-up handling); `smallmind batch` uses it for OpenAI Batch files run on a local model, so that
// a batch validates its lines and writes its bodies exactly as the server does — one decoder, one
// encoder.
import Foundation
import NIOCore
import SmallMind

/// The two generation endpoints.
public enum OpenAIEndpoint: String, Sendable, CaseIterable {
    case chatCompletions = "/v1/chat/completions"
    case completions = "/v1/completions"
}

/// A response as the server would send it: its status code and its JSON body.
public struct OpenAIResponse: Sendable, Equatable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

/// A generation request decoded and checked, ready to run.
struct PreparedGeneration: Sendable {
    var endpoint: OpenAIEndpoint
    var prompt: String
    var parameters: GenerationParameters
    var streams: Bool
    var includesUsage: Bool
    /// Whether the response carries log-probabilities, and how many alternatives per step.
    var logprobs: Bool
    var reportedTop: Int
}

/// Decodes, validates and answers generation requests for one engine and chat template.
public struct OpenAIRequestHandler: Sendable {
    public let engine: Engine
    public let template: ChatTemplate
    /// The model id clients see and may name.
    public let alias: String

    /// OpenAI's default `max_tokens` for /v1/completions.
    static let defaultCompletionMaxTokens = 16

    public init(engine: Engine, template: ChatTemplate, alias: String) {
        self.engine = engine
        self.template = template
        self.alias = alias
    }

    var model: Model { engine.model }

    /// Answers one non-streaming request as the server would: 200 with the completion, or the
    /// error status with OpenAI's error body (400 for a bad field, 404 for an unknown path or
    /// model, …). Throws only `CancellationError`, when the calling task is cancelled before the
    /// generation finished (its partial text is not an answer).
    public func response(path: String, body: [UInt8]) async throws -> OpenAIResponse {
        do {
            guard let endpoint = OpenAIEndpoint(rawValue: path) else {
                throw APIError(
                    status: .notFound, message: "Unknown endpoint: POST \(path)", type: "invalid_request_error", param: nil, code: "unknown_url")
            }
            let prepared = try prepare(endpoint, body: ByteBuffer(bytes: body))
            guard !prepared.streams else { throw APIError.invalid("stream", "streaming is not available here; remove 'stream'") }
            let completion = try await engine.generate(prepared.prompt, prepared.parameters)
            if completion.finishReason == .cancelled { throw CancellationError() }
            let id = Self.identifier(endpoint == .chatCompletions ? "chatcmpl-" : "cmpl-")
            return OpenAIResponse(status: 200, body: responseBody(prepared, completion, id: id, created: Int(Date().timeIntervalSince1970)))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let apiError = APIError.from(error)
            return OpenAIResponse(status: Int(apiError.status.code), body: JSONCoding.encode(apiError.body))
        }
    }

    /// Decodes `body` for `endpoint` and makes every check the server makes before it starts a
    /// response: fields, the model name, the chat template, the prompt's length, the queue.
    func prepare(_ endpoint: OpenAIEndpoint, body: ByteBuffer) throws(APIError) -> PreparedGeneration {
        let prepared: PreparedGeneration
        switch endpoint {
        case .chatCompletions:
            let chat = try JSONCoding.decode(ChatCompletionRequest.self, from: body)
            try checkModel(chat.sampling.model)
            let top = try chat.topLogProbabilities()
            // A reply ends at the model's end of turn; without max_tokens only the context bounds it.
            var parameters = try chat.sampling.parameters(defaultMaxTokens: engine.contextLength, topLogProbabilities: top)
            parameters.parseSpecialTokens = true  // the template writes control tokens that must stay tokens
            prepared = PreparedGeneration(
                endpoint: endpoint, prompt: try chatPrompt(chat.messages.map(\.templateValue)), parameters: parameters,
                streams: chat.sampling.streams, includesUsage: chat.sampling.includesUsage, logprobs: chat.logprobs == true,
                reportedTop: chat.topLogprobs ?? 0)
        case .completions:
            let request = try JSONCoding.decode(CompletionRequest.self, from: body)
            try checkModel(request.sampling.model)
            let top = try request.topLogProbabilities()
            var parameters = try request.sampling.parameters(defaultMaxTokens: Self.defaultCompletionMaxTokens, topLogProbabilities: top)
            parameters.parseSpecialTokens = true  // as llama.cpp treats prompts
            prepared = PreparedGeneration(
                endpoint: endpoint, prompt: request.prompt, parameters: parameters, streams: request.sampling.streams,
                includesUsage: request.sampling.includesUsage, logprobs: request.reportsLogProbabilities, reportedTop: request.logprobs ?? 0)
        }
        try precheck(prepared.prompt, prepared.parameters)
        return prepared
    }

    /// The JSON body of a finished non-streaming request.
    func responseBody(_ prepared: PreparedGeneration, _ completion: Completion, id: String, created: Int) -> [UInt8] {
        let tokenizer = model.tokenizer
        let stopReason = Self.stopReason(completion, stops: prepared.parameters.stop, tokenizer: tokenizer)
        switch prepared.endpoint {
        case .chatCompletions:
            return JSONCoding.encode(
                ChatCompletionResponse(
                    id: id, created: created, model: alias,
                    choices: [
                        .init(
                            message: ChatMessageBody(content: completion.continuation),
                            logprobs: prepared.logprobs
                                ? ChatLogProbs(completion.logProbabilities, top: prepared.reportedTop, tokenizer: tokenizer) : nil,
                            finishReason: completion.finishReason.openAIName, stopReason: stopReason)
                    ],
                    usage: Usage(completion)))
        case .completions:
            return JSONCoding.encode(
                CompletionResponse(
                    id: id, created: created, model: alias,
                    choices: [
                        .init(
                            text: completion.continuation,
                            logprobs: prepared.logprobs
                                ? CompletionLogProbs(completion.logProbabilities, top: prepared.reportedTop, tokenizer: tokenizer, startOffset: 0)
                                : nil,
                            finishReason: completion.finishReason.openAIName, stopReason: stopReason)
                    ],
                    usage: Usage(completion)))
        }
    }

    /// vLLM's `stop_reason`: the stop string that ended the text, null when the model ended it
    /// (its end-of-sequence token) or the token budget did. OpenAI's `finish_reason` says "stop"
    /// for both of the first two; this tells them apart. The continuation ends where the stop
    /// string began, so the string is the one the decoded tokens continue with there (the first
    /// in the request's order, as the matcher prefers it at equal positions).
    static func stopReason(_ completion: Completion, stops: [String], tokenizer: any Tokenizer) -> String? {
        guard completion.finishReason == .stopString, !stops.isEmpty else { return nil }
        let decoded = Array(tokenizer.decode(completion.tokens).utf8)
        let start = completion.continuation.utf8.count
        let rest = start <= decoded.count ? decoded[start...] : []
        return stops.first { rest.starts(with: $0.utf8) } ?? stops.first
    }

    /// A request may name the served model (by its alias) or none; any other name is 404.
    func checkModel(_ name: String?) throws(APIError) {
        if let name, name != alias { throw APIError.modelNotFound(name, served: alias) }
    }

    /// The chat prompt the model's template makes of `messages`.
    func chatPrompt(_ messages: [TemplateValue], addGenerationPrompt: Bool = true) throws(APIError) -> String {
        do {
            return try template.prompt(
                messages: messages, addGenerationPrompt: addGenerationPrompt, context: model.chatTemplateContext,
                tokenizerAddsBOS: model.tokenizer.addsBOS)
        } catch {
            throw APIError.from(error)
        }
    }

    /// The checks the engine would make at submission, made before the response starts: a
    /// streaming response's status cannot change once its 200 is sent. Bad parameters and a
    /// too-long prompt are 400, a full queue 429.
    func precheck(_ prompt: String, _ parameters: GenerationParameters) throws(APIError) {
        do {
            try parameters.validate()
            let count = try model.tokenize(prompt, parseSpecial: parameters.parseSpecialTokens).count
            if count > engine.contextLength { throw GenerationError.promptTooLong(tokens: count, contextLength: engine.contextLength) }
        } catch {
            throw APIError.from(error)
        }
        let load = engine.load
        if load.activeSequences + load.queuedRequests >= engine.slotCount + engine.options.queueLimit {
            throw APIError.queueFull(limit: engine.options.queueLimit)
        }
    }

    static func identifier(_ prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
    }
}
