// OpenAI's Batch API input (also read by vLLM's `run-batch`): one request per line,
//   {"custom_id": "q1", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [...], ...}}
// with "/v1/completions" bodies taking a "prompt". The body is what the server's endpoint takes, and
// it is checked by the server's own code when it runs (`OpenAIRequestHandler`); here only the
// envelope is read. A line that cannot be sent (not JSON, no custom_id, another method or url, a
// streaming body) becomes an error line in the output rather than stopping the batch; duplicate
// custom_ids stop it before anything runs, as a resume keys results by custom_id.
import Foundation
import SmallMind
import SmallMindServer

/// One request of an OpenAI Batch file.
public struct OpenAIBatchRequest: Sendable, Equatable {
    /// The caller's id for the request; nil only on a line too broken to carry one.
    public var customID: String?
    /// The endpoint: "/v1/chat/completions" or "/v1/completions".
    public var url: String
    /// The request body, as JSON.
    public var body: [UInt8]
    /// Why the line cannot be sent, when it cannot (its output line then carries this error).
    public var problem: String?

    public init(customID: String?, url: String, body: [UInt8], problem: String? = nil) {
        self.customID = customID
        self.url = url
        self.body = body
        self.problem = problem
    }
}

public enum OpenAIBatchInput {
    /// Whether `line` (the input's first non-blank line) is an OpenAI Batch request: a JSON object
    /// with "custom_id", or with "url" and "body".
    public static func recognises(_ line: String) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return false }
        return object["custom_id"] != nil || (object["url"] != nil && object["body"] != nil)
    }

    /// The request on one line. Never throws: a line that cannot be sent carries its `problem`.
    public static func request(_ line: String) -> OpenAIBatchRequest {
        func broken(_ id: String?, _ why: String) -> OpenAIBatchRequest { OpenAIBatchRequest(customID: id, url: "", body: [], problem: why) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            return broken(nil, "the line is not a JSON object")
        }
        guard let customID = object["custom_id"] as? String, !customID.isEmpty else {
            return broken(nil, "\"custom_id\" must be present and a non-empty string")
        }
        guard let method = object["method"] as? String, method == "POST" else {
            return broken(customID, "\"method\" must be \"POST\"")
        }
        let endpoints = OpenAIEndpoint.allCases.map(\.rawValue)
        guard let url = object["url"] as? String, endpoints.contains(url) else {
            return broken(customID, "\"url\" must be " + endpoints.map { "\"\($0)\"" }.joined(separator: " or "))
        }
        guard let body = object["body"] as? [String: Any] else { return broken(customID, "\"body\" must be a JSON object") }
        // A batch answers with whole responses; a stream has no place in an output line.
        if let stream = body["stream"] as? Bool, stream { return broken(customID, "\"stream\": true is not supported in a batch") }
        guard let bytes = try? JSONSerialization.data(withJSONObject: body, options: [.withoutEscapingSlashes]) else {
            return broken(customID, "\"body\" cannot be read back as JSON")
        }
        return OpenAIBatchRequest(customID: customID, url: url, body: Array(bytes))
    }

    /// Items for the non-blank `lines` (offset, text). Refuses duplicate custom_ids, naming both lines.
    static func items(_ lines: [(offset: Int, text: String)], source: String) throws -> [BatchItem] {
        var seen: [String: Int] = [:]
        return try lines.enumerated().map { index, line in
            let request = request(line.text)
            if let id = request.customID {
                if let first = seen[id] {
                    throw CommandFailure(message: "\(source) line \(line.offset + 1): custom_id \"\(id)\" is already used on line \(first); "
                        + "every request needs its own (results are matched to requests by custom_id)")
                }
                seen[id] = line.offset + 1
            }
            var item = BatchItem(index: index, prompt: "", parameters: GenerationParameters(), line: line.offset + 1)
            item.request = request
            return item
        }
    }
}
