// What every handler shares: the one engine, the chat template, the settings and the metrics.
import Foundation
import Hummingbird
import Logging
import SmallMind

/// The server's shared state; immutable but for the metrics (thread-safe) and the engine (its own).
final class ServerState: Sendable {
    let engine: Engine
    let template: ChatTemplate
    /// Decoding, checks and response bodies of the generation endpoints (shared with `smallmind batch`).
    let handler: OpenAIRequestHandler
    let configuration: ServerConfiguration
    let metrics = ServerMetrics()
    let logger: Logger
    let created = Int(Date().timeIntervalSince1970)

    init(engine: Engine, template: ChatTemplate, configuration: ServerConfiguration, logger: Logger) {
        self.engine = engine
        self.template = template
        handler = OpenAIRequestHandler(engine: engine, template: template, alias: configuration.alias)
        self.configuration = configuration
        self.logger = logger
    }

    var model: Model { engine.model }

    /// Headers of a generation's JSON response. A generation watches its connection so that a
    /// client that hangs up cancels it (Hummingbird's `consumeWithCancellationOnInboundClose`),
    /// and that watch ends the connection when the response is done; saying so lets clients open a
    /// new one instead of failing on a closed keep-alive connection. A TCP connection on loopback
    /// or a LAN costs far less than the generation it carries.
    static var generationJSONHeaders: HTTPFields { [.contentType: "application/json", .connection: "close"] }

    /// The request's JSON body, refused with 413 beyond the limit (before reading it when
    /// Content-Length already says so). For the endpoints that do not generate.
    func body(of request: Request) async throws -> ByteBuffer {
        try refuseDeclaredOversize(request)
        return try await collect(request.body)
    }

    func refuseDeclaredOversize(_ request: Request) throws(APIError) {
        let limit = configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw APIError.tooLarge(limit: limit) }
    }

    /// Reads a body to its end, keeping at most the limit: a body that turns out too large (sent
    /// in chunks, without Content-Length) is still read to its end, so that the connection stays
    /// in a sane state, and refused with 413.
    func collect(_ body: RequestBody) async throws -> ByteBuffer {
        let limit = configuration.maxBodyBytes
        var buffer = ByteBuffer()
        var total = 0
        for try await chunk in body {
            total += chunk.readableBytes
            if total <= limit { buffer.writeImmutableBuffer(chunk) }
        }
        if total > limit { throw APIError.tooLarge(limit: limit) }
        return buffer
    }

    /// Runs a generation endpoint so that a client that hangs up before the response is complete
    /// cancels it (its sequence leaves the engine at the next step). Hummingbird watches the
    /// connection only while it also hands over the request body, so `handle` gets the body here
    /// and must not read `request.body`. A streaming response is written after this returns; a
    /// client that leaves during it is noticed when writing the next token fails.
    func cancellingOnHangUp(_ request: Request, _ handle: (ByteBuffer) async throws -> Response) async throws -> Response {
        try refuseDeclaredOversize(request)
        return try await request.body.consumeWithCancellationOnInboundClose { body in
            try await handle(try await collect(body))
        }
    }

    /// The chat prompt the model's template makes of `messages`.
    func chatPrompt(_ messages: [TemplateValue]) throws(APIError) -> String { try handler.chatPrompt(messages) }

    /// Runs one generation for a non-streaming response (inside `cancellingOnHangUp`).
    func generate(_ prompt: String, _ parameters: GenerationParameters) async throws -> Completion {
        let completion = try await engine.generate(prompt, parameters)
        finished(completion, prompt: prompt)
        return completion
    }

    /// Runs one generation, handing each token to `onEvent` as it comes, and calling `onIdle`
    /// whenever `idleInterval` passes without a token. When either throws (the client went away)
    /// or the task is cancelled, the sequence is cancelled at the engine's next step. Returns the
    /// completion for the last chunk's finish reason and usage.
    func stream(
        _ prompt: String, _ parameters: GenerationParameters, idleInterval: Duration = .milliseconds(250),
        onEvent: (TokenEvent) async throws -> Void, onIdle: () async throws -> Void
    ) async throws -> Completion {
        enum Item: Sendable {
            case token(TokenEvent)
            case tick
        }
        let engine = engine
        let (items, continuation) = AsyncStream<Item>.makeStream()
        // Ticks let the caller write while tokens are slow (a long prefill, a busy machine): a
        // client that left is then noticed within a tick or two, not only after the next tokens.
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: idleInterval)
                continuation.yield(.tick)
            }
        }
        defer { ticker.cancel() }
        let completion = try await withThrowingTaskGroup(of: Completion.self) { group in
            group.addTask {
                defer { continuation.finish() }
                return try await engine.generate(prompt, parameters) { continuation.yield(.token($0)) }
            }
            var lastWrite = ContinuousClock.now
            do {
                for await item in items {
                    switch item {
                    case .token(let event):
                        try await onEvent(event)
                        lastWrite = .now
                    case .tick:
                        guard ContinuousClock.now - lastWrite >= idleInterval else { continue }
                        try await onIdle()
                        lastWrite = .now
                    }
                }
            } catch {
                group.cancelAll()
                throw error
            }
            return try await group.next()!
        }
        finished(completion, prompt: prompt)
        return completion
    }

    private func finished(_ completion: Completion, prompt: String) {
        metrics.record(completion)
        var metadata: Logger.Metadata = [
            "prompt_tokens": "\(completion.promptTokenCount)", "cached_tokens": "\(completion.cachedPromptTokenCount)",
            "completion_tokens": "\(completion.completionTokenCount)", "finish_reason": "\(completion.finishReason.rawValue)",
            "ttft_ms": "\(Int(completion.timings.timeToFirstToken * 1000))",
        ]
        if configuration.logPrompts {
            metadata["prompt"] = "\(prompt)"
            metadata["completion"] = "\(completion.continuation)"
        }
        logger.info("generation finished", metadata: metadata)
    }
}
