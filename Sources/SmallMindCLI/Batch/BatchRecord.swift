// One line of `smallmind batch` output: the item's result or error, and the settings that made it.
//
// Every line carries its own settings (`model` and `parameters`) rather than the file carrying a
// header line or a sidecar file: JSON Lines tools (jq, pandas, DuckDB) expect every line to be one
// record of one shape, a sidecar gets lost when the file is copied, and a line that says how it
// was made stays true when lines are filtered, sorted or concatenated. A resumed run compares
// them with its own before it adds a line.
import Foundation
import SmallMind

/// The settings that shape an item's result, as its output line records them: the generation
/// parameters under their JSON Lines input names. (The strategy, concurrency and thread count are
/// not here: batch invariance makes the text the same whatever they are.)
public struct RecordedParameters: Sendable, Equatable, Codable {
    public var maxTokens: Int
    public var temperature: Float
    public var topK: Int
    public var topP: Float
    public var seed: UInt64
    public var stop: [String]
    public var parseSpecial: Bool

    enum CodingKeys: String, CodingKey {
        case maxTokens = "max_tokens", temperature, topK = "top_k", topP = "top_p", seed, stop, parseSpecial = "parse_special"
    }

    public init(_ p: GenerationParameters) {
        maxTokens = p.maxTokens
        temperature = p.temperature
        topK = p.topK
        topP = p.topP
        seed = p.seed
        stop = p.stop
        parseSpecial = p.parseSpecialTokens
    }

    /// The object as JSON, keys in the order above. Floats print in their shortest exact form
    /// ("0.8", not "0.800000011920929"), so they read back bit for bit.
    public var json: String {
        JSONText.object([
            ("max_tokens", "\(maxTokens)"), ("temperature", "\(temperature)"), ("top_k", "\(topK)"), ("top_p", "\(topP)"),
            ("seed", "\(seed)"), ("stop", "[" + stop.map(JSONText.string).joined(separator: ",") + "]"),
            ("parse_special", parseSpecial ? "true" : "false"),
        ])
    }

    /// What differs from `other`, for people: "temperature 0.8 (now 0.7), max_tokens 50 (now 20)".
    public func differences(from other: RecordedParameters) -> [String] {
        var out: [String] = []
        func compare<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { out.append("\(name) \(a) (now \(b))") } }
        compare("max_tokens", maxTokens, other.maxTokens)
        compare("temperature", temperature, other.temperature)
        compare("top_k", topK, other.topK)
        compare("top_p", topP, other.topP)
        compare("seed", seed, other.seed)
        compare("stop", stop, other.stop)
        compare("parse_special", parseSpecial, other.parseSpecial)
        return out
    }
}

/// One line of batch output.
public struct BatchRecord: Sendable, Equatable, Decodable {
    public var index: Int
    public var prompt: String
    /// The generated text (the continuation, without the prompt).
    public var text: String?
    /// "eos", "stop" or "length" (see `FinishReason`).
    public var finishReason: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    /// Wall-clock seconds of the generation itself.
    public var seconds: Double?
    /// Why the item failed, when it did (then there is no text).
    public var error: String?
    /// The model that made it: "demo" or the model file's name (see `ModelOptions.identity`).
    /// Nil only in lines written before settings were recorded.
    public var model: String?
    /// The parameters that made it; nil only in lines written before settings were recorded.
    public var parameters: RecordedParameters?

    enum CodingKeys: String, CodingKey {
        case index, prompt, text, error, seconds, model, parameters
        case finishReason = "finish_reason", promptTokens = "prompt_tokens", completionTokens = "completion_tokens"
    }

    public init(index: Int, prompt: String, completion: Completion, model: String, parameters: GenerationParameters) {
        self.index = index
        self.prompt = prompt
        text = completion.continuation
        finishReason = completion.finishReason.rawValue
        promptTokens = completion.promptTokenCount
        completionTokens = completion.completionTokenCount
        seconds = completion.timings.totalSeconds
        self.model = model
        self.parameters = RecordedParameters(parameters)
    }

    /// A result given field by field (one that came back from a server).
    public init(
        index: Int, prompt: String, text: String, finishReason: String, promptTokens: Int, completionTokens: Int, seconds: Double,
        model: String, parameters: GenerationParameters
    ) {
        self.index = index
        self.prompt = prompt
        self.text = text
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.seconds = seconds
        self.model = model
        self.parameters = RecordedParameters(parameters)
    }

    public init(index: Int, prompt: String, error: any Error, model: String, parameters: GenerationParameters) {
        self.index = index
        self.prompt = prompt
        self.error = String(describing: error)
        self.model = model
        self.parameters = RecordedParameters(parameters)
    }

    /// The result for `item`.
    public init(_ item: BatchItem, _ result: Result<Completion, any Error>, model: String) {
        switch result {
        case .success(let completion): self.init(index: item.index, prompt: item.prompt, completion: completion, model: model, parameters: item.parameters)
        case .failure(let error): self.init(index: item.index, prompt: item.prompt, error: error, model: model, parameters: item.parameters)
        }
    }

    /// The record as one JSON line, keys in a fixed, readable order (the result first, then how
    /// it was made), ending in a newline.
    public var jsonLine: String {
        JSONText.object([
            ("index", "\(index)"), ("prompt", JSONText.string(prompt)), ("text", text.map(JSONText.string)),
            ("finish_reason", finishReason.map(JSONText.string)), ("prompt_tokens", promptTokens.map(String.init)),
            ("completion_tokens", completionTokens.map(String.init)), ("seconds", seconds.map { JSONText.number($0) }),
            ("error", error.map(JSONText.string)), ("model", model.map(JSONText.string)), ("parameters", parameters?.json),
        ]) + "\n"
    }

    /// Why this finished record cannot stand for `item` run on `model` — nil when it can: the same
    /// prompt is checked by the caller; here, the same model and parameters.
    public func settingsMismatch(with item: BatchItem, model expectedModel: String) -> String? {
        guard let model, let parameters else { return "it records no settings (an earlier smallmind wrote it)" }
        var differences: [String] = []
        if model != expectedModel { differences.append("model \(model) (now \(expectedModel))") }
        differences += parameters.differences(from: RecordedParameters(item.parameters))
        return differences.isEmpty ? nil : "it was made with " + differences.joined(separator: ", ")
    }
}
