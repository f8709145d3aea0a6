import Foundation
import Testing
@testable import SmallMind

/// llama.cpp's tokenizer test vectors (../shared/vocab): every `.inp` string must encode to its
/// `.out` line, as llama.cpp's test-tokenizer-0 runs them (no BOS/EOS, special tokens not parsed).
@Suite(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
struct VocabVectorTests {
    static let vocabularies = ["llama-spm", "gpt-2", "llama-bpe", "qwen2"]

    /// The strings of `ggml-vocab-NAME.gguf.inp` with their expected ids.
    static func vectors(_ name: String) throws -> [(text: String, ids: [Int])] {
        let base = SharedFiles.path("vocab/ggml-vocab-\(name).gguf")
        let input = try String(contentsOfFile: base + ".inp", encoding: .utf8)
        let output = try String(contentsOfFile: base + ".out", encoding: .utf8)
        // test-tokenizer-0 keeps every string that a delimiter line ends.
        var texts = input.components(separatedBy: "\n__ggml_vocab_test__\n")
        texts.removeLast()
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count >= texts.count, "\(name): fewer .out lines than .inp strings")
        return zip(texts, lines).map { text, line in
            (text, line.split(separator: " ").map { Int($0)! })
        }
    }

    static func tokenizer(_ name: String) throws -> any Tokenizer {
        try GGUFTokenizer.load(from: GGUFFile(path: SharedFiles.path("vocab/ggml-vocab-\(name).gguf")))
    }

    static func shown(_ text: String) -> String {
        text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined()
    }

    @Test(arguments: vocabularies)
    func everyVectorEncodes(_ name: String) throws {
        let tokenizer = try Self.tokenizer(name)
        let vectors = try Self.vectors(name)
        #expect(vectors.count > 30)
        var passed = 0
        for (text, expected) in vectors {
            let ids = try tokenizer.encode(text, addBOS: false)
            if ids == expected {
                passed += 1
            } else {
                Issue.record("\(name): \"\(Self.shown(text))\"\n  expected \(expected)\n  got      \(ids)")
            }
        }
        #expect(passed == vectors.count, "\(name): \(passed)/\(vectors.count) vectors")
    }

    /// Byte-level BPE is lossless; SentencePiece with byte fallback is too, once decoding drops the
    /// space prefix — what llama.cpp's test-tokenizer-1 checks character by character.
    @Test(arguments: vocabularies)
    func decodingRoundTrips(_ name: String) throws {
        let tokenizer = try Self.tokenizer(name)
        for (text, _) in try Self.vectors(name) {
            let plain = try tokenizer.encode(text, addBOS: false)
            #expect(tokenizer.decode(plain) == text, "\(name): \"\(Self.shown(text))\"")
            let framed = try tokenizer.encode(text, addBOS: true)
            #expect(tokenizer.decode(framed) == text, "\(name) with BOS: \"\(Self.shown(text))\"")
        }
    }
}
