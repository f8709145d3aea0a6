// A conversation as instruct models expect it: the messages so far, rendered into one prompt by the
// model's own chat template. Each turn's prompt extends the previous turn's prompt and reply, so an
// `Engine` that still holds the previous turn in a KV slot computes only the new tokens.

/// The messages of one chat and the template that turns them into a prompt.
public struct Conversation: Sendable {
    public let template: ChatTemplate
    /// `bos_token`, `eos_token`, the clock and any extra variables the template sees.
    public var context: ChatTemplateContext
    /// The system message every reset keeps, if any.
    public let system: String?
    public private(set) var messages: [ChatMessage] = []
    /// Whether the model's tokenizer puts BOS in front of every prompt itself: then a BOS the
    /// template writes is dropped, as llama.cpp does, instead of appearing twice.
    private let tokenizerAddsBOS: Bool

    /// A conversation with `model`, rendered with `template` (default: the model's own, or ChatML
    /// when it has none).
    public init(model: Model, template: ChatTemplate? = nil, system: String? = nil) throws(ChatTemplateError) {
        if let template { self.template = template } else { self.template = try model.chatTemplate() }
        context = model.chatTemplateContext
        tokenizerAddsBOS = model.tokenizer.addsBOS
        self.system = system
        reset()
    }

    /// Forgets every message but the system one.
    public mutating func reset() {
        messages = system.map { [ChatMessage(role: "system", content: $0)] } ?? []
    }

    public mutating func append(_ message: ChatMessage) { messages.append(message) }

    /// Removes the last message (a user turn that could not be answered).
    public mutating func removeLast() { _ = messages.popLast() }

    /// The prompt that asks the model for the next assistant message.
    public func prompt(addGenerationPrompt: Bool = true) throws(ChatTemplateError) -> String {
        let rendered = try template.render(messages, addGenerationPrompt: addGenerationPrompt, context: context)
        if tokenizerAddsBOS, !context.bosToken.isEmpty, rendered.hasPrefix(context.bosToken) {
            return String(rendered.dropFirst(context.bosToken.count))
        }
        return rendered
    }
}

extension Conversation {
    /// Adds the user's message, has `engine` write the assistant's reply, and adds that too: the
    /// next turn's prompt then extends this one's, and the engine, still holding this turn in a KV
    /// slot, computes only the new tokens. A cancelled reply keeps what it wrote (one that wrote
    /// nothing drops the turn). When generation fails, the conversation is left as it was.
    /// Control-token texts in the rendered prompt always become tokens (`parseSpecialTokens`).
    public mutating func reply(
        to userMessage: String, with engine: Engine, parameters: GenerationParameters = .init(),
        onToken: @escaping @Sendable (TokenEvent) -> Void = { _ in }
    ) async throws -> Completion {
        var parameters = parameters
        parameters.parseSpecialTokens = true
        append(ChatMessage(role: "user", content: userMessage))
        let completion: Completion
        do {
            completion = try await engine.generate(try prompt(), parameters, onToken: onToken)
        } catch {
            removeLast()
            throw error
        }
        if completion.finishReason == .cancelled && completion.continuation.isEmpty {
            removeLast()
        } else {
            append(ChatMessage(role: "assistant", content: completion.continuation))
        }
        return completion
    }
}

extension Model {
    /// What the model's chat templates see as `bos_token` and `eos_token`: its vocabulary's texts.
    public var chatTemplateContext: ChatTemplateContext {
        ChatTemplateContext(
            bosToken: tokenizer.bosToken.map { tokenizer.spelling(of: $0) } ?? "",
            eosToken: tokenizer.eosToken.map { tokenizer.spelling(of: $0) } ?? "")
    }
}
