// Errors as OpenAI's API sends them — `{"error": {"message", "type", "param", "code"}}` with the
// matching HTTP status — so that client libraries raise their usual exceptions
// (BadRequestError, AuthenticationError, NotFoundError, RateLimitError …).
import Foundation
import Hummingbird
import SmallMind

/// A request that cannot be served, with what the client is told.
struct APIError: Error, Sendable {
    var status: HTTPResponse.Status
    var message: String
    var type: String
    var param: String?
    var code: String?
    /// Extra response headers (Retry-After on 429).
    var headers: HTTPFields = [:]

    /// 400 naming the offending field.
    static func invalid(_ param: String, _ message: String) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: "invalid_value")
    }

    static func badRequest(_ message: String, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: nil, code: code)
    }

    static let unauthorized = APIError(
        status: .unauthorized, message: "Incorrect API key provided: send it as 'Authorization: Bearer KEY'.",
        type: "invalid_request_error", param: nil, code: "invalid_api_key")

    static func modelNotFound(_ model: String, served: String) -> APIError {
        APIError(
            status: .notFound, message: "The model '\(model)' does not exist here; this server serves '\(served)'.",
            type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    static func tooLarge(limit: Int) -> APIError {
        APIError(
            status: .contentTooLarge, message: "The request body is larger than \(limit) bytes.", type: "invalid_request_error",
            param: nil, code: "request_too_large")
    }

    static func queueFull(limit: Int, retryAfterSeconds: Int = 1) -> APIError {
        APIError(
            status: .tooManyRequests, message: "The server is busy: \(limit) requests are already waiting. Retry later.",
            type: "rate_limit_error", param: nil, code: "queue_full", headers: [.retryAfter: String(retryAfterSeconds)])
    }

    static let shuttingDown = APIError(
        status: .serviceUnavailable, message: "The server is shutting down.", type: "server_error", param: nil, code: "unavailable")

    static func `internal`(_ message: String) -> APIError {
        APIError(status: .internalServerError, message: message, type: "server_error", param: nil, code: nil)
    }

    /// The error a failure of generation becomes.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as GenerationError:
            switch error {
            case let .promptTooLong(tokens, contextLength):
                return APIError(
                    status: .badRequest,
                    message: "The prompt is \(tokens) tokens but the context holds \(contextLength) tokens; shorten the prompt.",
                    type: "invalid_request_error", param: "messages", code: "context_length_exceeded")
            case .invalidParameter, .tokenizer:
                return .badRequest("\(error)")
            case .vocabularyMismatch:
                return .internal("\(error)")
            }
        case let error as EngineError:
            switch error {
            case let .queueFull(limit): return .queueFull(limit: limit)
            case .shutDown: return .shuttingDown
            case .invalidOption: return .internal("\(error)")
            case let .promptExceedsKVBudget(tokens, budgetTokens, _):
                return APIError(
                    status: .badRequest,
                    message: "The prompt is \(tokens) tokens but the server's KV cache budget holds \(budgetTokens) positions; shorten the prompt.",
                    type: "invalid_request_error", param: "messages", code: "context_length_exceeded")
            }
        case let error as ChatTemplateError:
            return .badRequest("The chat template cannot render these messages: \(error)", code: "template_error")
        case let error as DecodingError:
            return fromDecoding(error)
        default:
            return .internal("Internal error.")
        }
    }

    /// A JSON body that does not decode: name the field (`messages[1].content`) when there is one.
    static func fromDecoding(_ error: DecodingError) -> APIError {
        func path(_ keys: [any CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text
        }
        switch error {
        case let .typeMismatch(type, context):
            let field = path(context.codingPath)
            return .invalid(field, "'\(field)' has the wrong type: expected \(Self.jsonName(type))")
        case let .valueNotFound(type, context):
            let field = path(context.codingPath)
            return .invalid(field, "'\(field)' must be \(Self.jsonName(type)), not null")
        case let .keyNotFound(key, context):
            let field = path(context.codingPath + [key])
            return .invalid(field, "'\(field)' is required")
        case let .dataCorrupted(context):
            let field = path(context.codingPath)
            if field.isEmpty { return .badRequest("The request body is not valid JSON (UTF-8).", code: "invalid_json") }
            return .invalid(field, "'\(field)' has a value out of range or of the wrong type")
        @unknown default:
            return .badRequest("The request body could not be read.")
        }
    }

    private static func jsonName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is Array<Any>.Type: return "an array"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }

    /// The JSON body OpenAI sends.
    var body: ErrorBody { ErrorBody(error: .init(message: message, type: type, param: param, code: code)) }

    func response() -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        // A refused generation request ends its connection (see `ServerState.generationJSONHeaders`);
        // errors are rare enough that every one says so, rather than some.
        headers[.connection] = "close"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: JSONCoding.encode(body))))
    }
}

struct ErrorBody: Codable, Sendable {
    struct Detail: Codable, Sendable {
        var message: String
        var type: String
        var param: String?
        var code: String?

        // OpenAI writes `"param": null` rather than leaving it out.
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(message, forKey: .message)
            try c.encode(type, forKey: .type)
            try c.encode(param, forKey: .param)
            try c.encode(code, forKey: .code)
        }
    }
    var error: Detail
}

/// The server's one JSON encoder and decoder settings.
enum JSONCoding {
    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        // Everything the server encodes is plain data; failing here is a programming error.
        return (try? Array(encoder.encode(value))) ?? Array(#"{"error":{"message":"encoding failed","type":"server_error","param":null,"code":null}}"#.utf8)
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: ByteBuffer) throws(APIError) -> T {
        let data = Data(bytes.readableBytesView)
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
            throw diagnose(data)
        } catch let DecodingError.typeMismatch(_, context) where context.codingPath.isEmpty {
            throw APIError.badRequest("The request body must be a JSON object.", code: "invalid_json")
        } catch {
            throw APIError.from(error)
        }
    }

    /// Fields that take integers, for naming the one a number did not fit.
    static let integerFields: Set<String> = [
        "max_tokens", "max_completion_tokens", "seed", "n", "top_k", "top_logprobs", "logprobs", "best_of", "tokens",
    ]

    /// Foundation's decoder says only "not valid JSON" for a number that does not fit its field
    /// (1.5 or 1e30 for an integer, 1e400 anywhere). Parsed again with the chat module's JSON
    /// parser, which keeps such numbers, the field can be named; text that is not JSON at all gets
    /// that parser's message, which says where.
    static func diagnose(_ data: Data) -> APIError {
        let value: TemplateValue
        do { value = try TemplateValue(parsingJSON: data) } catch {
            return .badRequest("The request body is not valid JSON: \(error.message)", code: "invalid_json")
        }
        guard case .object(let object) = value else { return .badRequest("The request body must be a JSON object.", code: "invalid_json") }
        for (key, value) in object {
            guard case .double(let number) = value else { continue }
            if !number.isFinite { return .invalid(key, "'\(key)' is out of range") }
            if integerFields.contains(key) { return .invalid(key, "'\(key)' must be an integer that fits in 64 bits, got \(number)") }
        }
        return .badRequest("The request body holds a number out of range.", code: "invalid_value")
    }
}

extension APIError: HTTPResponseError {
    func response(from request: Request, context: some RequestContext) throws -> Response { response() }
}

/// Turns the framework's own errors (unknown path, wrong method, body too large) and anything
/// unexpected into OpenAI's error JSON.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                throw APIError(
                    status: .notFound, message: "Unknown endpoint: \(request.method) \(request.uri.path)", type: "invalid_request_error",
                    param: nil, code: "unknown_url")
            case .contentTooLarge:
                throw APIError.tooLarge(limit: maxBodyBytes)
            default:
                throw APIError(
                    status: error.status, message: error.body ?? error.status.reasonPhrase, type: "invalid_request_error", param: nil,
                    code: nil)
            }
        } catch let error as CancellationError {
            throw error
        } catch {
            throw APIError.from(error)
        }
    }
}
