// POST /v1/chat/completions: the messages rendered with the model's chat template, then generated
// as one engine request, returned whole or streamed as chunks.
import Foundation
import Hummingbird
import SmallMind

extension ServerState {
    func chatCompletions(_ request: Request) async throws -> Response {
        try await cancellingOnHangUp(request) { body in try await chatCompletions(request, body: body) }
    }

    private func chatCompletions(_ request: Request, body: ByteBuffer) async throws -> Response {
        let chat = try JSONCoding.decode(ChatCompletionRequest.self, from: body)
        try checkModel(chat.sampling.model)
        let top = try chat.topLogProbabilities()
        // A reply ends at the model's end of turn; without max_tokens only the context bounds it.
        var requested = try chat.sampling.parameters(defaultMaxTokens: engine.contextLength, topLogProbabilities: top)
        requested.parseSpecialTokens = true  // the template writes control tokens that must stay tokens
        let parameters = requested
        let prompt = try chatPrompt(chat.messages.map(\.templateValue))
        let id = Self.identifier("chatcmpl-"), created = Int(Date().timeIntervalSince1970)
        let alias = configuration.alias
        let reportedTop = chat.topLogprobs ?? 0
        let tokenizer = model.tokenizer
        let logprobs = chat.logprobs == true

        try precheck(prompt, parameters)
        guard chat.sampling.streams else {
            let completion = try await generate(prompt, parameters)
            let body = ChatCompletionResponse(
                id: id, created: created, model: alias,
                choices: [
                    .init(
                        message: ChatMessageBody(content: completion.continuation),
                        logprobs: logprobs ? ChatLogProbs(completion.logProbabilities, top: reportedTop, tokenizer: tokenizer) : nil,
                        finishReason: completion.finishReason.openAIName)
                ],
                usage: Usage(completion))
            return Response(status: .ok, headers: Self.generationJSONHeaders, body: .init(byteBuffer: ByteBuffer(bytes: JSONCoding.encode(body))))
        }

        let includeUsage = chat.sampling.includesUsage
        @Sendable func chunk(_ delta: ChatCompletionChunk.Delta, logprobs: ChatLogProbs? = nil, finish: String? = nil) -> ChatCompletionChunk {
            ChatCompletionChunk(
                id: id, created: created, model: alias, choices: [.init(delta: delta, logprobs: logprobs, finishReason: finish)],
                usage: nil, includesUsageField: includeUsage)
        }
        return Response(
            status: .ok, headers: ServerSentEvents.headers,
            body: ResponseBody { writer in
                // The first chunk carries the role (and empty content), as OpenAI's does.
                try await writer.write(ServerSentEvents.event(chunk(.init(role: "assistant", content: ""))))
                let completion: Completion
                do {
                    completion = try await self.stream(prompt, parameters) { event in
                        let stepLogprobs = logprobs ? event.logProbabilities.map { ChatLogProbs([$0], top: reportedTop, tokenizer: tokenizer) } : nil
                        guard !event.text.isEmpty || stepLogprobs != nil else { return }
                        try await writer.write(ServerSentEvents.event(chunk(.init(content: event.text), logprobs: stepLogprobs)))
                    } onIdle: {
                        try await writer.write(ServerSentEvents.keepAlive)
                    }
                } catch let error where !(error is CancellationError) && !Task.isCancelled {
                    // Too late for a status: the error travels as an event, as OpenAI's do mid-stream.
                    try await writer.write(ServerSentEvents.event(APIError.from(error).body))
                    try await writer.write(ServerSentEvents.done)
                    try await writer.finish(nil)
                    return
                }
                try await writer.write(ServerSentEvents.event(chunk(.init(), finish: completion.finishReason.openAIName)))
                if includeUsage {
                    try await writer.write(
                        ServerSentEvents.event(
                            ChatCompletionChunk(
                                id: id, created: created, model: alias, choices: [], usage: Usage(completion), includesUsageField: true)))
                }
                try await writer.write(ServerSentEvents.done)
                try await writer.finish(nil)
            })
    }
}
