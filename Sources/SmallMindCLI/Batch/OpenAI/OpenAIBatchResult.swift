// OpenAI's Batch API output line:
//   {"id": "batch_req_…", "custom_id": "q1",
//    "response": {"status_code": 200, "request_id": "…", "body": {…the endpoint's response…}},
//    "error": null}
// The body is the server's response as it was sent (or, on a local model, as the server's code
// writes it), embedded unchanged. A request the server refused (400, 404) is answered: its line
// has the response with that status and OpenAI's error body. A line that could not be sent, or a
// request that found no server after every retry, has "response": null and "error": {"code",
// "message"}. A rerun runs again every item whose line is not a 200 response.
import Foundation

/// One OpenAI Batch output line.
public struct OpenAIBatchResult: BatchOutputLine, Equatable {
    public struct Response: Sendable, Equatable {
        public var statusCode: Int
        public var requestID: String
        /// The response body, as the server sent it.
        public var body: [UInt8]
    }

    public struct Failure: Sendable, Equatable {
        public var code: String
        public var message: String
    }

    public var index: Int
    public var id: String
    public var customID: String?
    public var response: Response?
    public var error: Failure?

    /// An answer from the endpoint (any status).
    public init(index: Int, customID: String?, status: Int, body: [UInt8]) {
        self.index = index
        self.customID = customID
        id = Self.identifier("batch_req_")
        // The completion's own id ("chatcmpl-…") where there is one, as OpenAI's request ids name it.
        let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        response = Response(statusCode: status, requestID: (object?["id"] as? String) ?? Self.identifier("req_"), body: body)
    }

    /// No answer: the line could not be sent, or no server answered.
    public init(index: Int, customID: String?, errorCode: String, message: String) {
        self.index = index
        self.customID = customID
        id = Self.identifier("batch_req_")
        error = Failure(code: errorCode, message: message)
    }

    public var isFailure: Bool { response?.statusCode != 200 }

    public var generatedTokens: Int {
        guard let response, response.statusCode == 200,
            let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let usage = object["usage"] as? [String: Any]
        else { return 0 }
        return usage["completion_tokens"] as? Int ?? 0
    }

    public var stoppedByContext: Bool { false }

    public var jsonLine: String {
        let responseJSON = response.map { response in
            JSONText.object([
                ("status_code", "\(response.statusCode)"), ("request_id", JSONText.string(response.requestID)),
                ("body", Self.embedded(response.body)),
            ])
        }
        let errorJSON = error.map { JSONText.object([("code", JSONText.string($0.code)), ("message", JSONText.string($0.message))]) }
        return JSONText.object([
            ("id", JSONText.string(id)), ("custom_id", customID.map(JSONText.string) ?? "null"), ("response", responseJSON ?? "null"),
            ("error", errorJSON ?? "null"),
        ]) + "\n"
    }

    /// The body as it came when it is JSON (one line: a newline inside would split the record);
    /// otherwise (an HTML page from a proxy) as a JSON string.
    static func embedded(_ body: [UInt8]) -> String {
        let text = String(decoding: body, as: UTF8.self)
        if (try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])) != nil, !text.contains("\n") { return text }
        if let object = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]),
            let compact = try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes, .fragmentsAllowed])
        {
            return String(decoding: compact, as: UTF8.self)
        }
        return JSONText.string(text)
    }

    /// What a line of an output file says, for resuming: its custom_id and whether it holds a
    /// 200 response. Nil when the line is not an OpenAI Batch output line.
    static func summary(of line: Data) -> (customID: String?, succeeded: Bool)? {
        guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any], object.keys.contains("custom_id"),
            object.keys.contains("response")
        else { return nil }
        let status = (object["response"] as? [String: Any])?["status_code"] as? Int
        return (object["custom_id"] as? String, status == 200)
    }

    static func identifier(_ prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
    }
}
