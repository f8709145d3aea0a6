import Foundation
import Testing
@testable import SmallMind

/// llama2.c's run.c, from ../shared/golden/llama2c.json, reproduced character for character.
@Suite(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
struct Llama2cGoldenTests {
    struct Case: Decodable {
        let checkpoint: String
        let tokenizer: String
        let run_args: String
        let stdout: String
    }

    static func cases() throws -> [Case] {
        struct File: Decodable { let cases: [Case] }
        let data = try Data(contentsOf: URL(fileURLWithPath: SharedFiles.path("golden/llama2c.json")))
        return try JSONDecoder().decode(File.self, from: data).cases
    }

    /// run.c's flags: -t temperature, -p top-p, -s seed, -n steps (positions, prompt included), -i prompt.
    static func arguments(_ line: String) -> [String: String] {
        var result: [String: String] = [:]
        var words: [String] = []
        var current = "", quoted = false
        for ch in line {
            if ch == "'" { quoted.toggle(); continue }
            if ch == " " && !quoted {
                if !current.isEmpty { words.append(current) }
                current = ""
            } else {
                current.append(ch)
            }
        }
        if !current.isEmpty { words.append(current) }
        for i in stride(from: 0, to: words.count - 1, by: 2) { result[words[i]] = words[i + 1] }
        return result
    }

    /// What run.c prints for the token sequence: each piece after the first token, through its
    /// `safe_printf` (which drops single-byte pieces that are neither printable nor whitespace).
    static func runCOutput(tokens: [Int], tokenizer: any Tokenizer) -> String {
        var bytes: [UInt8] = []
        for i in 1..<tokens.count {
            let piece = tokenizer.bytes(of: tokens[i], after: tokens[i - 1])
            if piece.count == 1, !(0x20...0x7E ~= piece[0] || 0x09...0x0D ~= piece[0]) { continue }
            bytes += piece
        }
        return String(decoding: bytes, as: UTF8.self) + "\n"
    }

    @Test func everyCaseReproduces() throws {
        let cases = try Self.cases()
        #expect(cases.count >= 4)
        for golden in cases {
            let model = try Model.load(path: SharedFiles.model(golden.checkpoint), tokenizerPath: SharedFiles.model(golden.tokenizer))
            let args = Self.arguments(golden.run_args)
            let prompt = args["-i"] ?? ""
            let steps = Int(args["-n"]!)!
            let promptTokens = try model.tokenize(prompt)
            let parameters = GenerationParameters(
                maxTokens: steps - promptTokens.count + 1, temperature: Float(args["-t"] ?? "1")!,
                topP: Float(args["-p"] ?? "0.9")!, seed: UInt64(args["-s"] ?? "0")!)
            let completion = try model.generate(prompt, parameters)
            let printed = Self.runCOutput(tokens: completion.promptTokens + completion.tokens, tokenizer: model.tokenizer)
            #expect(printed == golden.stdout, "\(golden.checkpoint) \(golden.run_args)")
        }
    }

    @Test func lilyStoryHasNoByteTokensSoOurTextEqualsRunC() throws {
        let golden = try #require(try Self.cases().first { $0.run_args == "-t 0 -n 256" })
        let model = try Model.load(path: SharedFiles.model("stories260K.bin"), tokenizerPath: SharedFiles.model("tok512.bin"))
        let completion = try model.generate("", .greedy(maxTokens: 256))
        #expect(completion.text + "\n" == golden.stdout)
        #expect(completion.finishReason == .length)
        #expect(completion.completionTokenCount == 256)
    }

    @Test func tokenizerEncodesAsRunC() throws {
        let model = try Model.load(path: SharedFiles.model("stories260K.bin"), tokenizerPath: SharedFiles.model("tok512.bin"))
        // llama.cpp's server tokenized the same prompt with the same vocabulary (llamacpp.json).
        #expect(try model.tokenize("Once upon a time") == [1, 403, 407, 261, 378])
        #expect(try model.tokenize("") == [1])
        // "€" is a piece of its own in tok512; "漢" is not and falls back to its UTF-8 bytes
        // (<0xXX> tokens, id = byte + 3).
        #expect(try model.tokenizer.encode("€", addBOS: false) == [410, 503])
        let fallback = try model.tokenizer.encode("漢", addBOS: false)
        let byteTokens: [Int] = [0xE6, 0xBC, 0xA2].map { $0 + 3 }
        #expect(fallback == [410] + byteTokens)
        #expect(model.tokenizer.decode(fallback) == " 漢")
    }

    @Test func llama2TokenizerLoadsAndRoundTrips() throws {
        let tokenizer = try SentencePieceTokenizer.load(llama2cPath: SharedFiles.model("llama2-tokenizer.bin"), vocabularySize: 32000)
        // llama.cpp's vocab vectors agree on these ids for " Hello world" (Llama 2 vocabulary).
        let tokens = try tokenizer.encode("Hello world", addBOS: true)
        #expect(tokens == [1, 15043, 3186])
        #expect(tokenizer.decode(Array(tokens.dropFirst()), after: 1) == "Hello world")
        let text = "Größe: 42 € — ok"
        #expect(tokenizer.decode(try tokenizer.encode(text, addBOS: false)) == " " + text)
    }
}
