// llama.cpp server's helper endpoints: /tokenize, /detokenize, /apply-template.
import Hummingbird
import SmallMind

struct TokenizeRequest: Decodable {
    var content: String
    /// Whether BOS is added (llama.cpp's default: no).
    var addSpecial: Bool?
    /// Whether control-token texts become those tokens (llama.cpp's default: yes).
    var parseSpecial: Bool?
    var withPieces: Bool?
    enum CodingKeys: String, CodingKey { case content, addSpecial = "add_special", parseSpecial = "parse_special", withPieces = "with_pieces" }
}

struct TokenPiece: Encodable {
    var id: Int
    var piece: String
}

struct DetokenizeRequest: Decodable { var tokens: [Int] }

struct ApplyTemplateRequest: Decodable { var messages: [ChatRequestMessage] }

extension ServerState {
    func tokenize(_ request: Request) async throws -> Response {
        let tokenize = try JSONCoding.decode(TokenizeRequest.self, from: try await body(of: request))
        let tokens: [Int]
        do {
            tokens = try model.tokenizer.encode(tokenize.content, addBOS: tokenize.addSpecial ?? false, parseSpecial: tokenize.parseSpecial ?? true)
        } catch {
            throw APIError.invalid("content", "cannot tokenize the content: \(error)")
        }
        if tokenize.withPieces == true {
            struct Body: Encodable { var tokens: [TokenPiece] }
            return Self.json(Body(tokens: tokens.map { TokenPiece(id: $0, piece: model.tokenizer.decode([$0])) }))
        }
        struct Body: Encodable { var tokens: [Int] }
        return Self.json(Body(tokens: tokens))
    }

    func detokenize(_ request: Request) async throws -> Response {
        let detokenize = try JSONCoding.decode(DetokenizeRequest.self, from: try await body(of: request))
        let size = model.tokenizer.vocabularySize
        if let bad = detokenize.tokens.first(where: { !(0..<size).contains($0) }) {
            throw APIError.invalid("tokens", "token id \(bad) is not in the vocabulary (0..<\(size))")
        }
        struct Body: Encodable { var content: String }
        return Self.json(Body(content: model.tokenizer.decode(detokenize.tokens)))
    }

    func applyTemplate(_ request: Request) async throws -> Response {
        let apply = try JSONCoding.decode(ApplyTemplateRequest.self, from: try await body(of: request))
        struct Body: Encodable { var prompt: String }
        return Self.json(Body(prompt: try chatPrompt(apply.messages.map(\.templateValue))))
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: JSONCoding.encode(value))))
    }
}
