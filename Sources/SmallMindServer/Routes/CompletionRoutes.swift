// POST /v1/completions: the legacy API — a raw prompt continued as it is, no chat template.
import Foundation
import Hummingbird
import SmallMind

extension ServerState {
    /// OpenAI's default `max_tokens` for this endpoint.
    static let defaultCompletionMaxTokens = 16

    func completions(_ request: Request) async throws -> Response {
        try await cancellingOnHangUp(request) { body in try await completions(request, body: body) }
    }

    private func completions(_ request: Request, body: ByteBuffer) async throws -> Response {
        let completionRequest = try JSONCoding.decode(CompletionRequest.self, from: body)
        try checkModel(completionRequest.sampling.model)
        let top = try completionRequest.topLogProbabilities()
        var requested = try completionRequest.sampling.parameters(defaultMaxTokens: Self.defaultCompletionMaxTokens, topLogProbabilities: top)
        requested.parseSpecialTokens = true  // as llama.cpp treats prompts
        let parameters = requested
        let prompt = completionRequest.prompt
        let id = Self.identifier("cmpl-"), created = Int(Date().timeIntervalSince1970)
        let alias = configuration.alias
        let tokenizer = model.tokenizer
        let logprobs = completionRequest.reportsLogProbabilities
        let reportedTop = completionRequest.logprobs ?? 0

        try precheck(prompt, parameters)
        guard completionRequest.sampling.streams else {
            let completion = try await generate(prompt, parameters)
            let body = CompletionResponse(
                id: id, created: created, model: alias,
                choices: [
                    .init(
                        text: completion.continuation,
                        logprobs: logprobs
                            ? CompletionLogProbs(completion.logProbabilities, top: reportedTop, tokenizer: tokenizer, startOffset: 0) : nil,
                        finishReason: completion.finishReason.openAIName)
                ],
                usage: Usage(completion))
            return Response(status: .ok, headers: Self.generationJSONHeaders, body: .init(byteBuffer: ByteBuffer(bytes: JSONCoding.encode(body))))
        }

        let includeUsage = completionRequest.sampling.includesUsage
        @Sendable func chunk(_ text: String, logprobs: CompletionLogProbs? = nil, finish: String? = nil) -> CompletionResponse {
            CompletionResponse(
                id: id, created: created, model: alias, choices: [.init(text: text, logprobs: logprobs, finishReason: finish)], usage: nil,
                includesUsageField: includeUsage)
        }
        return Response(
            status: .ok, headers: ServerSentEvents.headers,
            body: ResponseBody { writer in
                let completion: Completion
                var offset = 0
                do {
                    completion = try await self.stream(prompt, parameters) { event in
                        let stepLogprobs = logprobs
                            ? event.logProbabilities.map { CompletionLogProbs([$0], top: reportedTop, tokenizer: tokenizer, startOffset: offset) }
                            : nil
                        guard !event.text.isEmpty || stepLogprobs != nil else { return }
                        offset += event.text.count
                        try await writer.write(ServerSentEvents.event(chunk(event.text, logprobs: stepLogprobs)))
                    } onIdle: {
                        try await writer.write(ServerSentEvents.keepAlive)
                    }
                } catch let error where !(error is CancellationError) && !Task.isCancelled {
                    try await writer.write(ServerSentEvents.event(APIError.from(error).body))
                    try await writer.write(ServerSentEvents.done)
                    try await writer.finish(nil)
                    return
                }
                try await writer.write(ServerSentEvents.event(chunk("", finish: completion.finishReason.openAIName)))
                if includeUsage {
                    try await writer.write(
                        ServerSentEvents.event(
                            CompletionResponse(id: id, created: created, model: alias, choices: [], usage: Usage(completion))))
                }
                try await writer.write(ServerSentEvents.done)
                try await writer.finish(nil)
            })
    }
}
