// `POST /v1/completions`: a raw prompt continued as it is, no chat template.

struct CompletionRequest: Decodable {
    var prompt: String
    var logprobs: Int?
    var echo: Bool?
    var sampling: SamplingFields

    enum CodingKeys: String, CodingKey { case prompt, logprobs, echo }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        do { prompt = try c.decode(String.self, forKey: .prompt) } catch DecodingError.typeMismatch {
            throw APIError.invalid("prompt", "prompt must be one string (lists of prompts or token ids are not supported)")
        }
        logprobs = try c.decodeIfPresent(Int.self, forKey: .logprobs)
        echo = try c.decodeIfPresent(Bool.self, forKey: .echo)
        sampling = try SamplingFields(from: decoder)
    }

    /// The legacy API's `logprobs` is a count, 0 to 5.
    func topLogProbabilities() throws(APIError) -> Int {
        if echo == true { throw APIError.invalid("echo", "echo is not supported") }
        guard let logprobs else { return 0 }
        guard (0...5).contains(logprobs) else { throw APIError.invalid("logprobs", "logprobs must be from 0 to 5, got \(logprobs)") }
        return max(1, logprobs)
    }

    /// Whether the response carries log-probabilities at all (`logprobs: 0` asks for the chosen token's).
    var reportsLogProbabilities: Bool { logprobs != nil }
}
