// The front door: weights plus the tokenizer that goes with them.

/// A loaded model: immutable, `Sendable`, shared by every generation that uses it.
public final class Model: Sendable {
    public let weights: ModelWeights
    public let tokenizer: any Tokenizer
    /// Where the model came from (a path, or "demo").
    public let name: String
    /// The Jinja chat template the file carries (GGUF `tokenizer.chat_template`), if any: the
    /// prompt format the model was trained to chat in. See `chatTemplate()`.
    public let chatTemplateSource: String?

    public init(weights: ModelWeights, tokenizer: any Tokenizer, name: String, chatTemplateSource: String? = nil) throws(GenerationError) {
        guard tokenizer.vocabularySize == weights.configuration.vocabularySize else {
            throw .vocabularyMismatch(tokenizer: tokenizer.vocabularySize, model: weights.configuration.vocabularySize)
        }
        self.weights = weights
        self.tokenizer = tokenizer
        self.name = name
        self.chatTemplateSource = chatTemplateSource
    }

    /// The model's own chat template, parsed; ChatML when the model has none. Throws when the
    /// template does not parse, naming the line and column.
    public func chatTemplate() throws(ChatTemplateError) -> ChatTemplate {
        guard let chatTemplateSource else { return .chatML }
        return try ChatTemplate(source: chatTemplateSource)
    }

    public var configuration: ModelConfiguration { weights.configuration }

    /// The sample's seeded GPT-2-style demo model with its character tokenizer. A processor
    /// without the instructions this build's kernels use (`ProcessorSupport`) stops the process
    /// here with that message, rather than at the first kernel with an illegal instruction.
    public static func demo() -> Model {
        let missing = ProcessorSupport.missingInstructions
        precondition(missing.isEmpty, ProcessorSupportError.missingInstructions(missing).description)
        // The demo's tokenizer and weights agree by construction.
        return try! Model(weights: DemoModel.weights(), tokenizer: CharacterTokenizer(), name: "demo")
    }

    /// Loads the model at `path`, recognising the format by content: a GGUF file (magic "GGUF",
    /// tokenizer embedded; `tokenizerPath`, if given, overrides it with a llama2.c tokenizer.bin) or
    /// a llama2.c checkpoint (no magic: recognised by a header whose implied size is the file's;
    /// needs `tokenizerPath`). Throws `ProcessorSupportError` first where this processor cannot
    /// run the kernels, or `SMALLMIND_KERNELS` names no kernel path.
    public static func load(path: String, tokenizerPath: String?) throws -> Model {
        try ProcessorSupport.check()
        let weights: ModelWeights
        let tokenizer: any Tokenizer
        var chatTemplate: String?
        if GGUFFile.isGGUF(path: path) {
            let file = try GGUFFile(path: path)
            weights = try GGUFModel.weights(from: file)
            chatTemplate = file.metadata["tokenizer.chat_template"]?.stringValue
            if let tokenizerPath {
                tokenizer = try SentencePieceTokenizer.load(llama2cPath: tokenizerPath, vocabularySize: weights.configuration.vocabularySize)
            } else {
                tokenizer = try GGUFTokenizer.load(from: file)
            }
        } else {
            do {
                weights = try Llama2cCheckpoint.load(path: path)
            } catch {
                if case .cannotOpen = error { throw error }
                throw LoadingError.unsupported(
                    file: path, what: "model format: not GGUF (no 'GGUF' magic) and not a llama2.c checkpoint (\(error.reason))")
            }
            guard let tokenizerPath else {
                throw LoadingError.invalidField(
                    file: path, field: "tokenizer", value: "none",
                    reason: "a llama2.c checkpoint has no vocabulary; pass its tokenizer.bin (--tokenizer)")
            }
            tokenizer = try SentencePieceTokenizer.load(llama2cPath: tokenizerPath, vocabularySize: weights.configuration.vocabularySize)
        }
        return try Model(weights: weights, tokenizer: tokenizer, name: path, chatTemplateSource: chatTemplate)
    }

    /// The prompt's token ids, with BOS when the vocabulary has one. With `parseSpecial` (the
    /// default, as llama.cpp treats prompts) control-token texts such as `<|im_start|>` become
    /// those tokens; without it they are plain text.
    public func tokenize(_ prompt: String, parseSpecial: Bool = true) throws(GenerationError) -> [Int] {
        let tokens: [Int]
        do { tokens = try tokenizer.encode(prompt, addBOS: true, parseSpecial: parseSpecial) } catch { throw .tokenizer(error) }
        guard !tokens.isEmpty else { throw .tokenizer(.emptyInput) }
        return tokens
    }

    /// Generates one completion in a fresh context (convenient; reuse a `GenerationContext` to avoid
    /// reallocating the KV cache for every request).
    public func generate(_ prompt: String, _ parameters: GenerationParameters = .init()) throws(GenerationError) -> Completion {
        try GenerationContext(model: self).generate(prompt, parameters: parameters)
    }

    /// Streams the tokens of one generation as they are produced. Cancelling the consuming task
    /// (or dropping the stream) stops the generation at the next token.
    public func stream(_ prompt: String, _ parameters: GenerationParameters = .init()) -> AsyncThrowingStream<TokenEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<TokenEvent, any Error>.makeStream()
        let task = Task.detached { [self] in
            do {
                _ = try GenerationContext(model: self).generate(prompt, parameters: parameters) { event in
                    if case .terminated = continuation.yield(event) { return false }
                    return true
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
