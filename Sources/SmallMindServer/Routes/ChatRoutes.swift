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
        let prepared = try handler.prepare(.chatCompletions, body: body)
        let (prompt, parameters) = (prepared.prompt, prepared.parameters)
        let id = OpenAIRequestHandler.identifier("chatcmpl-"), created = Int(Date().timeIntervalSince1970)
        let alias = configuration.alias
        let reportedTop = prepared.reportedTop
        let tokenizer = model.tokenizer
        let logprobs = prepared.logprobs

        guard prepared.streams else {
            let completion = try await generate(prompt, parameters)
            let body = handler.responseBody(prepared, completion, id: id, created: created)
            return Response(status: .ok, headers: Self.generationJSONHeaders, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }

        let includeUsage = prepared.includesUsage
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
