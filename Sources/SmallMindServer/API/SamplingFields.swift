// The request fields `/v1/chat/completions` and `/v1/completions` share: sampling, stopping,
// streaming, and the fields we do not implement but must not ignore. Decoded from the same JSON
// object as the endpoint's own fields; unknown fields are ignored, as OpenAI's API does.
import SmallMind

/// A JSON value whose content does not matter, only whether it is there and not null.
struct AnyJSONValue: Decodable {
    let isNull: Bool
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        isNull = container.decodeNil()
        // Consume the value whatever it is, so that nested containers are skipped cleanly.
        if !isNull {
            if (try? container.decode(Bool.self)) != nil { return }
            if (try? container.decode(Double.self)) != nil { return }
            if (try? container.decode(String.self)) != nil { return }
            if (try? container.decode([AnyJSONValue].self)) != nil { return }
            if (try? container.decode([String: AnyJSONValue].self)) != nil { return }
        }
    }
}

/// `stop`: one string or a list of them.
struct StopField: Decodable {
    let strings: [String]
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(String.self) {
            strings = [one]
        } else {
            do { strings = try container.decode([String].self) } catch {
                throw APIError.invalid("stop", "must be a string or an array of strings")
            }
        }
    }
}

struct StreamOptions: Decodable {
    var includeUsage: Bool?
    enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
}

/// The fields both generation endpoints take, checked for range and for unimplemented features.
struct SamplingFields: Decodable {
    var model: String?
    var maxTokens: Int?
    var maxCompletionTokens: Int?
    var temperature: Double?
    var topP: Double?
    var topK: Int?
    var seed: Int64?
    var stop: StopField?
    var stream: Bool?
    var streamOptions: StreamOptions?
    var n: Int?
    var user: String?
    var presencePenalty: Double?
    var frequencyPenalty: Double?
    var logitBias: [String: Double]?
    var bestOf: Int?
    /// Present and not null means the client asked for something we do not do.
    var unsupported: [String] = []

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, temperature, seed, stop, stream, n, user
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens", topP = "top_p", topK = "top_k"
        case streamOptions = "stream_options", presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty"
        case logitBias = "logit_bias", bestOf = "best_of"
        // Result-changing features we do not implement: any non-null value is refused.
        case tools, toolChoice = "tool_choice", functions, functionCall = "function_call", responseFormat = "response_format"
        case suffix, audio, modalities, prediction
    }

    static let unsupportedKeys: [CodingKeys] = [.tools, .toolChoice, .functions, .functionCall, .suffix, .audio, .modalities, .prediction]

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        maxCompletionTokens = try c.decodeIfPresent(Int.self, forKey: .maxCompletionTokens)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        topP = try c.decodeIfPresent(Double.self, forKey: .topP)
        topK = try c.decodeIfPresent(Int.self, forKey: .topK)
        seed = try c.decodeIfPresent(Int64.self, forKey: .seed)
        stop = try c.decodeIfPresent(StopField.self, forKey: .stop)
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream)
        streamOptions = try c.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)
        n = try c.decodeIfPresent(Int.self, forKey: .n)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        presencePenalty = try c.decodeIfPresent(Double.self, forKey: .presencePenalty)
        frequencyPenalty = try c.decodeIfPresent(Double.self, forKey: .frequencyPenalty)
        logitBias = try c.decodeIfPresent([String: Double].self, forKey: .logitBias)
        bestOf = try c.decodeIfPresent(Int.self, forKey: .bestOf)
        for key in Self.unsupportedKeys {
            if let value = try c.decodeIfPresent(AnyJSONValue.self, forKey: key), !value.isNull { unsupported.append(key.stringValue) }
        }
        // `response_format` {"type": "text"} is what we do anyway; JSON modes change the result.
        if let format = try c.decodeIfPresent(ResponseFormat.self, forKey: .responseFormat), format.type != "text" {
            unsupported.append("response_format")
        }
    }

    struct ResponseFormat: Decodable { var type: String }

    /// Range checks and refusals, each naming the field; then the engine's parameters.
    /// `defaultMaxTokens` is the endpoint's default when the client sets none.
    func parameters(defaultMaxTokens: Int, topLogProbabilities: Int) throws(APIError) -> GenerationParameters {
        if let field = unsupported.first {
            throw APIError.invalid(field, "'\(field)' is not supported by this server; remove it from the request")
        }
        if let n, n != 1 { throw APIError.invalid("n", "only n = 1 is supported, got \(n)") }
        if let bestOf, bestOf != 1 { throw APIError.invalid("best_of", "only best_of = 1 is supported, got \(bestOf)") }
        if let presencePenalty, presencePenalty != 0 {
            throw APIError.invalid("presence_penalty", "presence_penalty is not supported; only 0 is accepted, got \(presencePenalty)")
        }
        if let frequencyPenalty, frequencyPenalty != 0 {
            throw APIError.invalid("frequency_penalty", "frequency_penalty is not supported; only 0 is accepted, got \(frequencyPenalty)")
        }
        if let logitBias, !logitBias.isEmpty { throw APIError.invalid("logit_bias", "logit_bias is not supported") }
        var parameters = GenerationParameters()
        for (name, value) in [("max_tokens", maxTokens), ("max_completion_tokens", maxCompletionTokens)] {
            if let value, value < 1 { throw APIError.invalid(name, "\(name) must be 1 or more, got \(value)") }
        }
        parameters.maxTokens = maxCompletionTokens ?? maxTokens ?? defaultMaxTokens
        if let temperature {
            guard temperature.isFinite, (0...2).contains(temperature) else {
                throw APIError.invalid("temperature", "temperature must be from 0 to 2, got \(temperature)")
            }
            parameters.temperature = Float(temperature)
        }
        if let topP {
            guard topP.isFinite, topP > 0, topP <= 1 else { throw APIError.invalid("top_p", "top_p must be in (0, 1], got \(topP)") }
            parameters.topP = Float(topP)
        } else {
            parameters.topP = 1  // OpenAI's default: no nucleus cut.
        }
        if let topK {
            guard topK >= 0 else { throw APIError.invalid("top_k", "top_k must be 0 (off) or more, got \(topK)") }
            parameters.topK = topK
        }
        // No seed: seed 0, so that a request without one is still reproducible.
        parameters.seed = UInt64(bitPattern: seed ?? 0)
        let stops = stop?.strings ?? []
        guard stops.count <= 16 else { throw APIError.invalid("stop", "at most 16 stop strings, got \(stops.count)") }
        guard !stops.contains("") else { throw APIError.invalid("stop", "stop strings must not be empty") }
        parameters.stop = stops
        parameters.topLogProbabilities = topLogProbabilities
        return parameters
    }

    var streams: Bool { stream ?? false }
    var includesUsage: Bool { streamOptions?.includeUsage ?? false }
}
