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

    static func tokenizer(_ model: String) throws -> any Tokenizer {
        try GGUFTokenizer.load(from: GGUFFile(path: RealModels.path(model)))
    }

    static let available = SharedFiles.available && RealModels.available(RealModels.qwen) && RealModels.available(RealModels.gemma)
    static let skipReason: Comment = SharedFiles.available
        ? RealModels.skipReason("\(RealModels.qwen) and \(RealModels.gemma)") : SharedFiles.skipReason

    @Test(.enabled(if: available, skipReason),
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

    @Test(.enabled(if: available, skipReason),
          arguments: [RealModels.qwen, RealModels.gemma])
    func generatedIdsDecodeToTheServersText(_ model: String) throws {
        let tokenizer = try Self.tokenizer(model)
        for golden in try Self.cases(for: model) {
            let text = tokenizer.decode(golden.tokens, after: golden.prompt_tokens.last)
            #expect(text == golden.content, "\(model): \(golden.prompt.debugDescription)")
        }
    }
}

extension RealModelTokenizerTests {
    /// llama.cpp's end-of-generation sets for the two files (what its loader lists under "printing
    /// all EOG tokens", checked with `llama-tokenize -v` on these files): Qwen's <|endoftext|>, <|im_end|>, its FIM padding, repository and file
    /// separator tokens, and — by llama.cpp's text rule for </s> — the ordinary text token "</s>"
    /// (128247); Gemma's <eos>, <end_of_turn> and its user-defined </s>.
    @Test(.enabled(if: RealModels.available(RealModels.qwen), RealModels.skipReason(RealModels.qwen)))
    func qwenEndsAtImEndAndEndOfText() throws {
        let tokenizer = try Self.tokenizer(RealModels.qwen)
        #expect(tokenizer.endOfGenerationTokens == [151643, 151645, 151662, 151663, 151664, 128247])
        #expect(tokenizer.eosToken == 151645)
    }

    @Test(.enabled(if: RealModels.available(RealModels.gemma), RealModels.skipReason(RealModels.gemma)))
    func gemmaEndsAtEOSAndEndOfTurn() throws {
        let tokenizer = try Self.tokenizer(RealModels.gemma)
        #expect(tokenizer.endOfGenerationTokens == [1, 106, 212])
        #expect(tokenizer.decode([212]).isEmpty)
    }
}
