import Foundation
import Testing
@testable import SmallMind

/// The tokenizers embedded in ../shared/models' GGUF files against llama.cpp's server
/// (../shared/golden/llamacpp.json): prompt ids with BOS, and the text of the generated ids.
@Suite(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
struct LlamaCppTokenizerGoldenTests {
    struct Case: Decodable {
        let model: String
        let prompt: String
        let prompt_tokens: [Int]
        let tokens: [Int]
        let content: String
    }

    static func cases() throws -> [Case] {
        struct File: Decodable { let cases: [Case] }
        let data = try Data(contentsOf: URL(fileURLWithPath: SharedFiles.path("golden/llamacpp.json")))
        return try JSONDecoder().decode(File.self, from: data).cases
    }

    @Test func promptIdsMatchWithBOS() throws {
        let cases = try Self.cases()
        #expect(cases.count >= 10)
        for golden in cases {
            let tokenizer = try GGUFTokenizer.load(from: GGUFFile(path: SharedFiles.model(golden.model)))
            // The server parses special tokens in prompts; these prompts have none, so both ways agree.
            #expect(try tokenizer.encode(golden.prompt, addBOS: true, parseSpecial: true) == golden.prompt_tokens, "\(golden.model)")
            #expect(try tokenizer.encode(golden.prompt, addBOS: true) == golden.prompt_tokens, "\(golden.model)")
        }
    }

    /// Where the server's text holds U+FFFD it also holds pieces its token list does not (the
    /// server emits text around incomplete UTF-8 its own way); those cases are left out.
    @Test func generatedIdsDecodeToTheServersText() throws {
        let cases = try Self.cases().filter { !$0.content.contains("\u{FFFD}") }
        #expect(cases.count >= 3)
        for golden in cases {
            let tokenizer = try GGUFTokenizer.load(from: GGUFFile(path: SharedFiles.model(golden.model)))
            let text = tokenizer.decode(golden.tokens, after: golden.prompt_tokens.last)
            #expect(text == golden.content, "\(golden.model)")
        }
    }
}
