// Our own batch items (a prompt and its parameters) through a server's /v1/completions, with every
// sampling setting sent explicitly — the server's defaults differ from the command line's (top_p 1
// rather than 0.9, seed 0 rather than seed + index) — and the answer turned back into the very
// line a local run writes (the timing aside).
import Foundation
import SmallMind

public enum RemoteCompletion {
    /// The /v1/completions body for `item`.
    public static func body(for item: BatchItem) -> [UInt8] {
        let p = item.parameters
        let json = JSONText.object([
            ("prompt", JSONText.string(item.prompt)), ("max_tokens", "\(p.maxTokens)"), ("temperature", "\(p.temperature)"),
            ("top_k", "\(p.topK)"), ("top_p", "\(p.topP)"),
            // The server reads a signed 64-bit seed and uses its bits, as the command line's unsigned one.
            ("seed", "\(Int64(bitPattern: p.seed))"), ("stop", "[" + p.stop.map(JSONText.string).joined(separator: ",") + "]"),
        ])
        return Array(json.utf8)
    }

    /// The line a local run would write for `item`, from the server's answer.
    public static func record(_ item: BatchItem, _ outcome: RemoteServers.Outcome, seconds: Double, model: String) -> BatchRecord {
        func failure(_ message: String) -> BatchRecord {
            BatchRecord(index: item.index, prompt: item.prompt, error: RemoteFailure(message: message), model: model, parameters: item.parameters)
        }
        switch outcome {
        case .gaveUp(let why):
            return failure(why)
        case let .answered(status, body):
            let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
            guard status == 200 else {
                let message = ((object?["error"] as? [String: Any])?["message"] as? String) ?? String(decoding: body.prefix(300), as: UTF8.self)
                return failure("the server answered \(status): \(message)")
            }
            guard let choice = (object?["choices"] as? [[String: Any]])?.first, let text = choice["text"] as? String,
                let usage = object?["usage"] as? [String: Any], let promptTokens = usage["prompt_tokens"] as? Int,
                let completionTokens = usage["completion_tokens"] as? Int
            else {
                return failure("the server's answer is not a completion: \(String(decoding: body.prefix(300), as: UTF8.self))")
            }
            return BatchRecord(
                index: item.index, prompt: item.prompt, text: text,
                finishReason: finishReason(openAI: choice["finish_reason"] as? String, stopReason: choice["stop_reason"] as? String),
                promptTokens: promptTokens, completionTokens: completionTokens, seconds: seconds, model: model, parameters: item.parameters)
        }
    }

    /// Our finish reason from OpenAI's, which says "stop" both for the model's end of text and for
    /// a stop string: the server's `stop_reason` names the stop string when there was one.
    static func finishReason(openAI: String?, stopReason: String?) -> String {
        switch openAI {
        case "length": return FinishReason.length.rawValue
        case "stop": return stopReason == nil ? FinishReason.endOfSequence.rawValue : FinishReason.stopString.rawValue
        default: return openAI ?? FinishReason.length.rawValue
        }
    }
}

/// A remote request's failure, as an item's error line says it.
struct RemoteFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
