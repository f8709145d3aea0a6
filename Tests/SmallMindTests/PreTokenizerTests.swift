import Foundation
import Testing
@testable import SmallMind

/// The pre-tokenizers against two outside references: word splits from each `tokenizer.ggml.pre`
/// expression list as llama.cpp's `llama-vocab.cpp` defines it, run by Python's `regex` module with
/// llama.cpp's staging (every expression cuts each piece the previous ones left into matches and
/// the gaps between them); and ids from llama.cpp's own `llama-tokenize` for the names no shared
/// vector file covers. llama.cpp's tokenizer vectors cover gpt-2, llama-bpe and qwen2 end to end
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

    // MARK: Against llama.cpp itself

    /// llama.cpp's `llama-tokenize --ids` on ../shared's GPT-2 vocabulary copied with
    /// `tokenizer.ggml.pre` set to each name (gguf-py's `gguf_new_metadata --pre-tokenizer`), for
    /// `texts` in order.
    static let llamaCppIds: [String: [[Int]]] = [
        "smollm": [
            [15496, 995, 220, 16, 17, 18, 19, 20, 290, 220, 18, 13, 16, 19, 16, 20, 24, 0],
            [40, 1053, 1392, 220, 16, 11, 15, 15, 15, 11, 15, 15, 15, 22514, 26, 484, 821, 366, 18223, 1911],
            [220, 3756, 220, 9029, 628, 197, 8658, 82, 220, 15, 15, 22],
            [64, 10, 65, 28, 66, 27, 67, 29, 68, 61, 69, 93, 70, 91, 71, 63, 72, 3, 73],
            [87, 17, 88, 18, 19, 89, 20, 21, 22, 86, 23, 24, 15, 16],
            [126, 94, 39, 5708, 0, 1587, 123, 4507, 2634, 3305, 30, 851, 21110, 65, 2013, 17730, 220, 149, 94, 149, 95, 149, 96, 220, 16, 17],
            [9099, 470, 23917, 6, 51],
            [20888, 25, 720, 19, 17, 13, 20, 15, 357, 1324, 13907, 2014],
            [220, 220, 220, 825, 277, 7, 87, 2599, 198, 220, 220, 220, 220, 220, 220, 220, 1441, 2124, 1174, 17, 198],
            [368, 31370, 30325, 222, 220, 16, 17, 18, 47249, 222, 19, 20, 21],
        ],
        "default": [
            [15496, 995, 220, 10163, 2231, 290, 220, 18, 13, 23756, 3270, 0],
            [40, 6, 303, 1392, 220, 16, 11, 830, 11, 830, 22514, 26, 484, 6, 260, 220, 1, 18223, 1911],
            [220, 3756, 220, 9029, 628, 197, 8658, 82, 220, 25816],
            [64, 10, 65, 28, 66, 27, 67, 29, 68, 61, 69, 93, 70, 91, 71, 63, 72, 3, 73],
            [87, 17, 88, 2682, 89, 20, 3134, 86, 23, 3829, 16],
            [126, 94, 39, 5708, 0, 220, 126, 123, 4507, 2634, 3305, 30, 220, 960, 220, 24328, 65, 2013, 17730, 220, 149, 94, 149, 95, 149, 96, 220, 1065],
            [9099, 6, 83, 23917, 6, 51],
            [20888, 25, 220, 3, 3682, 13, 1120, 220, 7, 1324, 13907, 2014],
            [220, 220, 220, 825, 277, 7, 87, 2599, 198, 220, 220, 220, 220, 220, 220, 220, 1441, 2124, 1174, 17, 198],
            [368, 31370, 30325, 222, 220, 10163, 47249, 222, 29228],
        ],
        "falcon": [
            [15496, 995, 220, 10163, 2231, 290, 513, 13, 23756, 3270, 0],
            [40, 6, 303, 1392, 352, 11, 830, 11, 830, 22514, 26, 484, 6, 260, 220, 1, 18223, 1911],
            [220, 3756, 220, 9029, 628, 197, 8658, 82, 220, 25816],
            [64, 10, 65, 28, 66, 27, 67, 29, 68, 61, 69, 93, 70, 91, 71, 63, 72, 3, 73],
            [87, 17, 88, 2682, 89, 20, 3134, 86, 23, 3829, 16],
            [126, 94, 39, 5708, 0, 220, 126, 123, 4507, 2634, 3305, 30, 220, 960, 220, 24328, 65, 2013, 17730, 18923, 94, 149, 95, 149, 96, 1105],
            [9099, 6, 83, 23917, 6, 51],
            [20888, 25, 220, 3, 3682, 13, 1120, 220, 7, 1324, 13907, 2014],
            [220, 220, 220, 825, 277, 7, 87, 2599, 198, 220, 220, 220, 220, 220, 220, 220, 1441, 2124, 1174, 17, 198],
            [368, 31370, 30325, 222, 220, 10163, 47249, 222, 29228],
        ],
    ]

    /// The GPT-2 vocabulary of ../shared under another pre-tokenizer name, written the way
    /// gguf-py's `gguf_new_metadata` copies it.
    static func gpt2Vocabulary(pre: String) throws -> any Tokenizer {
        let file = try GGUFFile(path: SharedFiles.path("vocab/ggml-vocab-gpt-2.gguf"))
        func strings(_ key: String) throws -> [String] {
            try #require(file.metadata[key]?.arrayValue).map { try #require($0.stringValue) }
        }
        let types = try #require(file.metadata["tokenizer.ggml.token_type"]?.arrayValue).map { Int32(try #require($0.intValue)) }
        var entries: [VocabularyGGUF.Entry] = [
            ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string(pre)),
            ("tokenizer.ggml.tokens", .strings(try strings("tokenizer.ggml.tokens"))),
            ("tokenizer.ggml.token_type", .int32s(types)),
            ("tokenizer.ggml.merges", .strings(try strings("tokenizer.ggml.merges"))),
        ]
        for key in ["bos", "eos"] {
            if let id = file.metadata["tokenizer.ggml.\(key)_token_id"]?.intValue { entries.append(("tokenizer.ggml.\(key)_token_id", .uint32(UInt32(id)))) }
        }
        return try GGUFTokenizer.load(from: GGUFFile(path: VocabularyGGUF.write(entries)))
    }

    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason), arguments: ["smollm", "default", "falcon"])
    func encodesAsLlamaCppDoes(_ name: String) throws {
        let tokenizer = try Self.gpt2Vocabulary(pre: name)
        let expected = try #require(Self.llamaCppIds[name])
        #expect(expected.count == Self.texts.count)
        for (text, ids) in zip(Self.texts, expected) {
            #expect(try tokenizer.encode(text, addBOS: true, parseSpecial: true) == ids, "\(name): \(text.debugDescription)")
        }
    }
}
