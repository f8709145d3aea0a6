// POST /v1/completions: the legacy API — a raw prompt continued as it is, no chat template.
import Foundation
import Hummingbird
import SmallMind

extension ServerState {
    func completions(_ request: Request) async throws -> Response {
        try await cancellingOnHangUp(request) { body in try await completions(request, body: body) }
    }

    private func completions(_ request: Request, body: ByteBuffer) async throws -> Response {
        let prepared = try handler.prepare(.completions, body: body)
        let (prompt, parameters) = (prepared.prompt, prepared.parameters)
        let id = OpenAIRequestHandler.identifier("cmpl-"), created = Int(Date().timeIntervalSince1970)
        let alias = configuration.alias
        let tokenizer = model.tokenizer
        let logprobs = prepared.logprobs
        let reportedTop = prepared.reportedTop

        guard prepared.streams else {
            let completion = try await generate(prompt, parameters)
            let body = handler.responseBody(prepared, completion, id: id, created: created)
            return Response(status: .ok, headers: Self.generationJSONHeaders, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }

        let includeUsage = prepared.includesUsage
        @Sendable func chunk(_ text: String, logprobs: CompletionLogProbs? = nil, finish: String? = nil, stop: String? = nil) -> CompletionResponse {
            CompletionResponse(
                id: id, created: created, model: alias, choices: [.init(text: text, logprobs: logprobs, finishReason: finish, stopReason: stop)], usage: nil,
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
                let stop = OpenAIRequestHandler.stopReason(completion, stops: parameters.stop, tokenizer: tokenizer)
                try await writer.write(ServerSentEvents.event(chunk("", finish: completion.finishReason.openAIName, stop: stop)))
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
