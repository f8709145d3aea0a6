import Foundation
import Testing
@testable import SmallMind

/// The vocabularies of the two real published models (Qwen 2.5 Coder: byte-level BPE `qwen2`;
/// Gemma 3: SentencePiece, 262 144 pieces, no space prefix) against llama.cpp's server
/// (../shared/golden/llamacpp-real.json): prompt ids with BOS, the text of the generated ids, and
/// the end-of-generation sets llama.cpp derives from the vocabulary.
@Suite(.serialized)
struct RealModelTokenizerTests {
    struct Case: Decodable {
        let model: String
        let prompt: String
        let prompt_tokens: [Int]
        let tokens: [Int]
        let content: String
    }

    static func cases(for model: String) throws -> [Case] {
        struct File: Decodable { let cases: [Case] }
        let data = try Data(contentsOf: URL(fileURLWithPath: SharedFiles.path("golden/llamacpp-real.json")))
        return try JSONDecoder().decode(File.self, from: data).cases.filter { $0.model == model }
    }

    /// Loading a tokenizer from a real model is what every engine start does; both are cached here
    /// only so the suite does not parse the 500 MB file once per test.
    static func tokenizer(_ model: String) throws -> any Tokenizer {
        try GGUFTokenizer.load(from: GGUFFile(path: RealModels.path(model)))
    }

    static let available = SharedFiles.available && RealModels.available(RealModels.qwen) && RealModels.available(RealModels.gemma)

    @Test(.enabled(if: available, RealModels.skipReason(RealModels.gemma)),
          arguments: [RealModels.qwen, RealModels.gemma])
    func promptsEncodeToLlamaCppIds(_ model: String) throws {
        let tokenizer = try Self.tokenizer(model)
        let cases = try Self.cases(for: model)
        #expect(cases.count >= 3)
        for golden in cases {
            // The server parses special tokens in prompts (the Qwen chat prompt spells <|im_start|>).
            let ids = try tokenizer.encode(golden.prompt, addBOS: true, parseSpecial: true)
            #expect(ids == golden.prompt_tokens, "\(model): \(golden.prompt.debugDescription)")
        }
    }

    @Test(.enabled(if: available, RealModels.skipReason(RealModels.gemma)),
          arguments: [RealModels.qwen, RealModels.gemma])
    func generatedIdsDecodeToTheServersText(_ model: String) throws {
        let tokenizer = try Self.tokenizer(model)
        for golden in try Self.cases(for: model) {
            let text = tokenizer.decode(golden.tokens, after: golden.prompt_tokens.last)
            #expect(text == golden.content, "\(model): \(golden.prompt.debugDescription)")
        }
    }
}
