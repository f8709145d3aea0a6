import Foundation
import Testing
@testable import SmallMind

/// The pre-tokenizers' word splits against an outside reference: each `tokenizer.ggml.pre`
/// expression list as llama.cpp's `llama-vocab.cpp` defines it, run by Python's `regex` module with
/// llama.cpp's staging (every expression cuts each piece the previous ones left into matches and the
/// gaps between them). llama.cpp's own tokenizer vectors cover gpt-2, llama-bpe and qwen2 end to end
/// (`VocabVectorTests`); these strings add digits, punctuation, symbols, non-ASCII numbers and
/// contractions, where the lists differ.
struct PreTokenizerTests {
    static let texts = [
        "Hello world 12345 and 3.14159!",
        "I've got 1,000,000 apples; they're \"great\".",
        "  leading  spaces\n\n\ttabs 007",
        "a+b=c<d>e^f~g|h`i$j",
        "x2y34z567w8901",
        "¡Hola! ¿Qué tal? — «bien» ١٢٣ 12",
        "don't DON'T",
        "price: $42.50 (approx.)",
        "    def f(x):\n        return x**2\n",
        "emoji 😀 123😀456",
    ]

    /// Expected words of each text, by pre-tokenizer name.
    static let expected: [String: [[String]]] = [
        "gpt-2": [
            ["Hello", " world", " 12345", " and", " 3", ".", "14159", "!"],
            ["I", "'ve", " got", " 1", ",", "000", ",", "000", " apples", ";", " they", "'re", " \"", "great", "\"."],
            [" ", " leading", " ", " spaces", "\n\n", "\t", "tabs", " 007"],
            ["a", "+", "b", "=", "c", "<", "d", ">", "e", "^", "f", "~", "g", "|", "h", "`", "i", "$", "j"],
            ["x", "2", "y", "34", "z", "567", "w", "8901"],
            ["¡", "Hola", "!", " ¿", "Qué", " tal", "?", " —", " «", "bien", "»", " ١٢٣", " 12"],
            ["don", "'t", " DON", "'", "T"],
            ["price", ":", " $", "42", ".", "50", " (", "approx", ".)"],
            ["   ", " def", " f", "(", "x", "):", "\n       ", " return", " x", "**", "2", "\n"],
            ["emoji", " 😀", " 123", "😀", "456"],
        ],
        "llama-bpe": [
            ["Hello", " world", " ", "123", "45", " and", " ", "3", ".", "141", "59", "!"],
            ["I", "'ve", " got", " ", "1", ",", "000", ",", "000", " apples", ";", " they", "'re", " \"", "great", "\"."],
            [" ", " leading", " ", " spaces", "\n\n", "\ttabs", " ", "007"],
            ["a", "+b", "=c", "<d", ">e", "^f", "~g", "|h", "`i", "$j"],
            ["x", "2", "y", "34", "z", "567", "w", "890", "1"],
            ["¡Hola", "!", " ¿", "Qué", " tal", "?", " —", " «", "bien", "»", " ", "١٢٣", " ", "12"],
            ["don", "'t", " DON", "'T"],
            ["price", ":", " $", "42", ".", "50", " (", "approx", ".)"],
            ["   ", " def", " f", "(x", "):\n", "       ", " return", " x", "**", "2", "\n"],
            ["emoji", " 😀", " ", "123", "😀", "456"],
        ],
        "qwen2": [
            ["Hello", " world", " ", "1", "2", "3", "4", "5", " and", " ", "3", ".", "1", "4", "1", "5", "9", "!"],
            ["I", "'ve", " got", " ", "1", ",", "0", "0", "0", ",", "0", "0", "0", " apples", ";", " they", "'re", " \"", "great", "\"."],
            [" ", " leading", " ", " spaces", "\n\n", "\ttabs", " ", "0", "0", "7"],
            ["a", "+b", "=c", "<d", ">e", "^f", "~g", "|h", "`i", "$j"],
            ["x", "2", "y", "3", "4", "z", "5", "6", "7", "w", "8", "9", "0", "1"],
            ["¡Hola", "!", " ¿", "Qué", " tal", "?", " —", " «", "bien", "»", " ", "١", "٢", "٣", " ", "1", "2"],
            ["don", "'t", " DON", "'T"],
            ["price", ":", " $", "4", "2", ".", "5", "0", " (", "approx", ".)"],
            ["   ", " def", " f", "(x", "):\n", "       ", " return", " x", "**", "2", "\n"],
            ["emoji", " 😀", " ", "1", "2", "3", "😀", "4", "5", "6"],
        ],
        "smollm": [
            ["Hello", " world", " ", "1", "2", "3", "4", "5", " and", " ", "3", ".", "1", "4", "1", "5", "9", "!"],
            ["I", "'ve", " got", " ", "1", ",", "0", "0", "0", ",", "0", "0", "0", " apples", ";", " they", "'re", " \"", "great", "\"."],
            [" ", " leading", " ", " spaces", "\n\n", "\t", "tabs", " ", "0", "0", "7"],
            ["a", "+", "b", "=", "c", "<", "d", ">", "e", "^", "f", "~", "g", "|", "h", "`", "i", "$", "j"],
            ["x", "2", "y", "3", "4", "z", "5", "6", "7", "w", "8", "9", "0", "1"],
            ["¡", "Hola", "!", " ¿", "Qué", " tal", "?", " —", " «", "bien", "»", " ", "١", "٢", "٣", " ", "1", "2"],
            ["don", "'t", " DON", "'", "T"],
            ["price", ":", " $", "4", "2", ".", "5", "0", " (", "approx", ".)"],
            ["   ", " def", " f", "(", "x", "):", "\n       ", " return", " x", "**", "2", "\n"],
            ["emoji", " 😀", " ", "1", "2", "3", "😀", "4", "5", "6"],
        ],
        "default": [
            ["Hello", " world", " ", "123", "45", " and", " ", "3", ".", "141", "59", "!"],
            ["I", "'", "ve", " got", " ", "1", ",", "000", ",", "000", " apples", ";", " they", "'", "re", " ", "\"", "great", "\"."],
            [" ", " leading", " ", " spaces", "\n\n", "\t", "tabs", " ", "007"],
            ["a", "+", "b", "=", "c", "<", "d", ">", "e", "^", "f", "~", "g", "|", "h", "`", "i", "$", "j"],
            ["x", "2", "y", "34", "z", "567", "w", "890", "1"],
            ["¡", "Hola", "!", " ", "¿", "Qué", " tal", "?", " ", "—", " ", "«", "bien", "»", " ", "١٢٣", " ", "12"],
            ["don", "'", "t", " DON", "'", "T"],
            ["price", ":", " ", "$", "42", ".", "50", " ", "(", "approx", ".)"],
            ["   ", " def", " f", "(", "x", "):", "\n       ", " return", " x", "**", "2", "\n"],
            ["emoji", " 😀", " ", "123", "😀", "456"],
        ],
        "falcon": [
            ["Hello", " world", " ", "123", "45", " and", " 3", ".", "141", "59", "!"],
            ["I", "'", "ve", " got", " 1", ",", "000", ",", "000", " apples", ";", " they", "'", "re", " ", "\"", "great", "\"."],
            [" ", " leading", " ", " spaces", "\n\n", "\t", "tabs", " ", "007"],
            ["a", "+", "b", "=", "c", "<", "d", ">", "e", "^", "f", "~", "g", "|", "h", "`", "i", "$", "j"],
            ["x", "2", "y", "34", "z", "567", "w", "890", "1"],
            ["¡", "Hola", "!", " ", "¿", "Qué", " tal", "?", " ", "—", " ", "«", "bien", "»", " ١٢٣", " 12"],
            ["don", "'", "t", " DON", "'", "T"],
            ["price", ":", " ", "$", "42", ".", "50", " ", "(", "approx", ".)"],
            ["   ", " def", " f", "(", "x", "):", "\n       ", " return", " x", "**", "2", "\n"],
            ["emoji", " 😀", " ", "123", "😀", "456"],
        ],
    ]

    static func words(_ text: String, _ preTokenizer: PreTokenizer) -> [String] {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            preTokenizer.split(buffer).map { String(decoding: bytes[$0], as: UTF8.self) }
        }
    }

    @Test(arguments: ["gpt-2", "llama-bpe", "qwen2", "smollm", "default", "falcon"])
    func splitsAsTheExpressionsDo(_ name: String) throws {
        let preTokenizer = try #require(PreTokenizer(ggufName: name))
        let expected = try #require(Self.expected[name])
        for (text, words) in zip(Self.texts, expected) {
            #expect(Self.words(text, preTokenizer) == words, "\(name): \(text.debugDescription)")
        }
    }

    /// Hand-checked: SmolLM isolates every digit before GPT-2's expression runs, so a space before
    /// a number stays a word of its own; GPT-2 keeps " 2024" whole.
    @Test func smolLMSplitsDigitsIndividually() {
        #expect(Self.words("in 2024", .smolLM) == ["in", " ", "2", "0", "2", "4"])
        #expect(Self.words("in 2024", .gpt2) == ["in", " 2024"])
        #expect(Self.words("", .smolLM).isEmpty)
    }

    /// A word never extends past the piece an earlier expression cut: GPT-2's `\s+(?!\S)` leaves
    /// the last space of a run to the word after it, but after SmolLM's digit cut the run ends its
    /// piece and stays whole.
    @Test func laterExpressionsStayInsideEarlierPieces() {
        #expect(Self.words("a  7", .gpt2) == ["a", " ", " 7"])
        #expect(Self.words("a  7", .smolLM) == ["a", "  ", "7"])
    }

    @Test func namesMapAsLlamaCppMapsThem() throws {
        let cases: [(String, PreTokenizer, ignoresMerges: Bool, addsBOS: Bool)] = [
            ("gpt-2", .gpt2, false, false), ("olmo", .gpt2, false, false), ("mpt", .gpt2, false, false),
            ("llama-bpe", .llama3, true, true), ("llama3", .llama3, true, true), ("falcon3", .llama3, true, true),
            // The same expression as Llama 3, without its flags.
            ("dbrx", .llama3, false, false), ("smaug-bpe", .llama3, false, false),
            ("qwen2", .qwen2, false, false), ("deepseek-r1-qwen", .qwen2, false, false), ("stablelm2", .qwen2, false, false),
            ("smollm", .smolLM, false, false), ("starcoder", .smolLM, false, false), ("command-r", .smolLM, false, false),
            ("default", .bpeDefault, false, false), ("falcon", .falcon, false, false),
        ]
        for (name, preTokenizer, ignoresMerges, addsBOS) in cases {
            let preset = try #require(BytePairPreset(ggufName: name), "\(name)")
            #expect(preset == BytePairPreset(preTokenizer: preTokenizer, ignoresMerges: ignoresMerges, addsBOSByDefault: addsBOS), "\(name)")
        }
        for name in ["deepseek-llm", "tekken", "chatglm-bpe", "Qwen2", ""] {
            #expect(BytePairPreset(ggufName: name) == nil, "\(name)")
        }
    }

    @Test func anUnknownNameIsAnErrorListingTheSupportedOnes() throws {
        let path = try GGUFTokenizerTests.bytePairVocabulary(pre: "nonsense")
        let error = try #require(throws: LoadingError.self) { try GGUFTokenizer.load(from: GGUFFile(path: path)) }
        for name in ["'nonsense'", "tokenizer.ggml.pre", "gpt-2", "llama-bpe", "qwen2", "smollm", "default"] {
            #expect(error.description.contains(name), "\(error) should mention \(name)")
        }
    }

    /// Through a whole vocabulary: SmolLM's digits stay single tokens where merges would join them.
    @Test func smolLMVocabularyNeverMergesAcrossDigits() throws {
        var tokens = ByteLevel.scalarOfByte.map { String(Unicode.Scalar($0)!) }
        tokens += ["12", "Ġ1"]  // 256 257
        let entries: [VocabularyGGUF.Entry] = [
            ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.tokens", .strings(tokens)),
            ("tokenizer.ggml.merges", .strings(["Ġ 1", "1 2"])),
        ]
        let gpt2 = try GGUFTokenizer.load(from: GGUFFile(path: VocabularyGGUF.write(entries + [("tokenizer.ggml.pre", .string("gpt-2"))])))
        let smolLM = try GGUFTokenizer.load(from: GGUFFile(path: VocabularyGGUF.write(entries + [("tokenizer.ggml.pre", .string("smollm"))])))
        let space = 0x20, one = 0x31, two = 0x32  // a byte's one-character token has the byte's id
        #expect(try gpt2.encode(" 12", addBOS: false) == [257, two])
        #expect(try gpt2.encode("12", addBOS: false) == [256])
        #expect(try smolLM.encode(" 12", addBOS: false) == [space, one, two])
        #expect(try smolLM.encode("12", addBOS: false) == [one, two])
    }
}
