// `POST /v1/chat/completions`: the messages and the chat-specific fields, on top of the shared ones.
import SmallMind

/// One message of the conversation. `content` is a string or a list of text parts (OpenAI's
/// newer shape); other parts (images, audio) are refused, since the model reads text only.
struct ChatRequestMessage: Decodable {
    var role: String
    var content: String

    enum CodingKeys: String, CodingKey { case role, content, toolCalls = "tool_calls", name }

    struct Part: Decodable {
        var type: String
        var text: String?
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        role = try c.decode(String.self, forKey: .role)
        guard ["system", "developer", "user", "assistant"].contains(role) else {
            throw APIError.invalid("messages", "a message's role must be system, developer, user or assistant, got '\(role)'")
        }
        if let calls = try c.decodeIfPresent(AnyJSONValue.self, forKey: .toolCalls), !calls.isNull {
            throw APIError.invalid("messages", "tool calls are not supported")
        }
        if try c.decodeNil(forKey: .content) {
            content = ""
        } else if let text = try? c.decode(String.self, forKey: .content) {
            content = text
        } else {
            let parts = try c.decode([Part].self, forKey: .content)
            content = try parts.map { part throws(APIError) in
                guard part.type == "text", let text = part.text else {
                    throw APIError.invalid("messages", "only text content parts are supported, got a '\(part.type)' part")
                }
                return text
            }.joined()
        }
    }

    /// As the chat template sees it. "developer" is OpenAI's newer name for "system".
    var templateValue: TemplateValue {
        .object(["role": .string(role == "developer" ? "system" : role), "content": .string(content)])
    }
}

struct ChatCompletionRequest: Decodable {
    var messages: [ChatRequestMessage]
    var logprobs: Bool?
    var topLogprobs: Int?
    var sampling: SamplingFields

    enum CodingKeys: String, CodingKey { case messages, logprobs, topLogprobs = "top_logprobs" }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        messages = try c.decode([ChatRequestMessage].self, forKey: .messages)
        guard !messages.isEmpty else { throw APIError.invalid("messages", "messages must not be empty") }
        logprobs = try c.decodeIfPresent(Bool.self, forKey: .logprobs)
        topLogprobs = try c.decodeIfPresent(Int.self, forKey: .topLogprobs)
        sampling = try SamplingFields(from: decoder)
    }

    /// How many alternatives each step reports: OpenAI's `logprobs: true` reports the chosen
    /// token's; `top_logprobs` (0…20) adds the most likely ones.
    func topLogProbabilities() throws(APIError) -> Int {
        if let topLogprobs {
            guard (0...20).contains(topLogprobs) else {
                throw APIError.invalid("top_logprobs", "top_logprobs must be from 0 to 20, got \(topLogprobs)")
            }
            guard logprobs == true else { throw APIError.invalid("top_logprobs", "top_logprobs needs logprobs: true") }
        }
        guard logprobs == true else { return 0 }
        // The engine reports the chosen token with the top list; at least one entry is needed.
        return max(1, topLogprobs ?? 0)
    }
}
