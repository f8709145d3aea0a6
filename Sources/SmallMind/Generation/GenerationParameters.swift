/// How to continue a prompt. The same parameters and seed give the same tokens, always.
public struct GenerationParameters: Sendable, Equatable, Codable {
    /// Most tokens to generate after the prompt. Default 128.
    public var maxTokens: Int
    /// Softmax temperature; 0 picks the most likely token (greedy). Default 1.0.
    public var temperature: Float
    /// Sample only among the k most likely tokens; 0 disables. Default 0.
    public var topK: Int
    /// Nucleus sampling: the smallest set of tokens whose probability exceeds p; 1 disables.
    /// Default 0.9 (llama2.c's run.c default).
    public var topP: Float
    /// Seeds this request's own random generator (xorshift*, as llama2.c). Default 0.
    public var seed: UInt64
    /// Generation stops before the first occurrence of any of these strings.
    public var stop: [String]
    /// How many of the most likely tokens to report, with their log-probabilities, at every step
    /// (`TokenEvent.logProbabilities`, `Completion.logProbabilities`); 0 reports none. The
    /// probabilities are the model's own (log-softmax of the raw logits), whatever the temperature,
    /// top-k or top-p used to sample. At most `maximumTopLogProbabilities`. Default 0.
    public var topLogProbabilities: Int
    /// Whether control-token texts written in the prompt (`<|im_start|>`, `<s>`) become those
    /// tokens, as llama.cpp does with prompts; false keeps them as plain text. Default true.
    public var parseSpecialTokens: Bool

    /// The most `topLogProbabilities` may ask for.
    public static let maximumTopLogProbabilities = 100

    public init(
        maxTokens: Int = 128, temperature: Float = 1.0, topK: Int = 0, topP: Float = 0.9,
        seed: UInt64 = 0, stop: [String] = [], topLogProbabilities: Int = 0, parseSpecialTokens: Bool = true
    ) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.stop = stop
        self.topLogProbabilities = topLogProbabilities
        self.parseSpecialTokens = parseSpecialTokens
    }

    /// Decodes every field, taking the default for the ones added later (`topLogProbabilities`,
    /// `parseSpecialTokens`) when absent, so parameters saved before them still read.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            maxTokens: try c.decode(Int.self, forKey: .maxTokens), temperature: try c.decode(Float.self, forKey: .temperature),
            topK: try c.decode(Int.self, forKey: .topK), topP: try c.decode(Float.self, forKey: .topP),
            seed: try c.decode(UInt64.self, forKey: .seed), stop: try c.decode([String].self, forKey: .stop),
            topLogProbabilities: try c.decodeIfPresent(Int.self, forKey: .topLogProbabilities) ?? 0,
            parseSpecialTokens: try c.decodeIfPresent(Bool.self, forKey: .parseSpecialTokens) ?? true)
    }

    /// Greedy decoding: always the most likely token.
    public static func greedy(maxTokens: Int = 128) -> GenerationParameters {
        GenerationParameters(maxTokens: maxTokens, temperature: 0)
    }

    /// Rejects nonsense values with a message naming the parameter.
    public func validate() throws(GenerationError) {
        func fail(_ name: String, _ value: String, _ rule: String) -> GenerationError {
            .invalidParameter(name: name, value: value, rule: rule)
        }
        guard maxTokens >= 0 else { throw fail("maxTokens", "\(maxTokens)", "must be 0 or more") }
        guard temperature.isFinite && temperature >= 0 else { throw fail("temperature", "\(temperature)", "must be a finite number ≥ 0") }
        guard topK >= 0 else { throw fail("topK", "\(topK)", "must be 0 (off) or more") }
        guard topP.isFinite && topP > 0 && topP <= 1 else { throw fail("topP", "\(topP)", "must be in (0, 1]") }
        guard !stop.contains("") else { throw fail("stop", "\"\"", "stop strings must not be empty") }
        guard (0...Self.maximumTopLogProbabilities).contains(topLogProbabilities) else {
            throw fail("topLogProbabilities", "\(topLogProbabilities)", "must be 0 (off) to \(Self.maximumTopLogProbabilities)")
        }
    }
}

/// Why a generation could not run.
public enum GenerationError: Error, Equatable, CustomStringConvertible {
    case invalidParameter(name: String, value: String, rule: String)
    case promptTooLong(tokens: Int, contextLength: Int)
    case tokenizer(TokenizerError)
    case vocabularyMismatch(tokenizer: Int, model: Int)

    public var description: String {
        switch self {
        case let .invalidParameter(name, value, rule):
            return "invalid \(name) \(value): \(rule)"
        case let .promptTooLong(tokens, contextLength):
            return "the prompt is \(tokens) tokens but the context holds \(contextLength); shorten the prompt"
        case let .tokenizer(error):
            return "cannot tokenize the prompt: \(error)"
        case let .vocabularyMismatch(tokenizer, model):
            return "the tokenizer has \(tokenizer) tokens but the model expects \(model)"
        }
    }
}
