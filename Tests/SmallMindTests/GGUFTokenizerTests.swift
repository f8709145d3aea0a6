import Foundation
import Testing
@testable import SmallMind

/// Vocabulary-only GGUF files written in code: the behaviour of both GGUF tokenizers on tiny
/// vocabularies, and malformed metadata ending in errors that name the key.
struct GGUFTokenizerTests {
    // MARK: SentencePiece (tokenizer.ggml.model = llama)

    /// <unk> <s> </s>, byte tokens for 'c' and '\n', then pieces scored so "▁ab" wins.
    static func sentencePieceVocabulary(_ extra: [VocabularyGGUF.Entry] = []) throws -> String {
        let pieces = ["<unk>", "<s>", "</s>", "<0x63>", "<0x0A>", "▁", "a", "b", "▁a", "ab", "▁ab", "[X]"]
        let types: [Int32] = [2, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 4]
        let scores: [Float] = [0, 0, 0, 0, 0, -1, -2, -3, -4, -5, -0.5, 0]
        return try VocabularyGGUF.write([
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.tokens", .strings(pieces)),
            ("tokenizer.ggml.token_type", .int32s(types)),
            ("tokenizer.ggml.scores", .float32s(scores)),
            ("tokenizer.ggml.bos_token_id", .uint32(1)),
            ("tokenizer.ggml.eos_token_id", .uint32(2)),
        ] + extra)
    }

    @Test func sentencePieceMergesByScoreWithSpacePrefixAndByteFallback() throws {
        let tokenizer = try GGUFTokenizer.load(from: GGUFFile(path: Self.sentencePieceVocabulary()))
        #expect(tokenizer is GGUFSentencePieceTokenizer)
        #expect(try tokenizer.encode("ab", addBOS: true) == [1, 10])  // "▁ab"
        #expect(try tokenizer.encode("ab", addBOS: false) == [10])
        #expect(try tokenizer.encode("", addBOS: true) == [1])  // no text, no space prefix
        #expect(try tokenizer.encode("a c\n", addBOS: false) == [8, 5, 3, 4])  // ▁a ▁ <0x63> <0x0A>
        #expect(tokenizer.decode([1, 8, 5, 3, 4]) == "a c\n")
        #expect(tokenizer.decode([8, 5, 3]) == "a c")
        #expect(tokenizer.isEndOfText(2) && !tokenizer.isEndOfText(1))
    }

    @Test func sentencePieceSpecialTokens() throws {
        let tokenizer = try GGUFTokenizer.load(from: GGUFFile(path: Self.sentencePieceVocabulary()))
        // User-defined "[X]" is always cut out; control "<s>" only when parsing special tokens,
        // and the text after a special token gets a space prefix again.
        #expect(try tokenizer.encode("ab[X]ab", addBOS: false) == [10, 11, 10])
        #expect(try tokenizer.encode("<s>ab", addBOS: false, parseSpecial: true) == [1, 10])
        // Unparsed, "<s>" is text — which this vocabulary cannot spell: an error, not a crash.
        #expect(throws: TokenizerError.self) { try tokenizer.encode("<s>", addBOS: false) }
        #expect(tokenizer.decode([10, 1, 2, 0, 11]) == "ab[X]")  // control and unknown decode to nothing
    }

    @Test func sentencePieceFraming() throws {
        let noPrefix = try GGUFTokenizer.load(from: GGUFFile(path: Self.sentencePieceVocabulary([
            ("tokenizer.ggml.add_space_prefix", .bool(false)),
            ("tokenizer.ggml.add_bos_token", .bool(false)),
            ("tokenizer.ggml.add_eos_token", .bool(true)),
        ])))
        #expect(try noPrefix.encode("ab", addBOS: true) == [9, 2])  // "ab" then EOS
        #expect(try noPrefix.encode("ab", addBOS: false) == [9])
    }

    // MARK: Byte-level BPE (tokenizer.ggml.model = gpt2)

    /// Every byte's character, then merges building "ab", "Ġab", "abc"; control and user-defined tokens.
    static func bytePairVocabulary(pre: String = "gpt-2", _ extra: [VocabularyGGUF.Entry] = [], merges: [String]? = nil) throws -> String {
        var tokens = ByteLevel.scalarOfByte.map { String(Unicode.Scalar($0)!) }  // id = the byte it spells
        tokens += ["ab", "Ġab", "abc", "<|end|>", "[U]"]  // 256 257 258 259 260
        var types = [Int32](repeating: 1, count: 259)
        types += [3, 4]
        return try VocabularyGGUF.write([
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string(pre)),
            ("tokenizer.ggml.tokens", .strings(tokens)),
            ("tokenizer.ggml.token_type", .int32s(types)),
            ("tokenizer.ggml.merges", .strings(merges ?? ["a b", "Ġ ab", "ab c"])),
            ("tokenizer.ggml.bos_token_id", .uint32(259)),
            ("tokenizer.ggml.eos_token_id", .uint32(259)),
        ] + extra)
    }

    @Test func bytePairMergesWithinWords() throws {
        let tokenizer = try GGUFTokenizer.load(from: GGUFFile(path: Self.bytePairVocabulary()))
        #expect(tokenizer is ByteLevelBPETokenizer)
        let a = 0x61, c = 0x63
        #expect(try tokenizer.encode("abc ab", addBOS: true) == [258, 257])  // GPT-2 adds no BOS
        #expect(try tokenizer.encode("ca", addBOS: false) == [c, a])
        #expect(tokenizer.decode(try tokenizer.encode("abc ab\n\u{1F600}", addBOS: false)) == "abc ab\n\u{1F600}")
        #expect(try tokenizer.encode("ab<|end|>", addBOS: false, parseSpecial: true) == [256, 259])
        #expect(try tokenizer.encode("ab[U]", addBOS: false) == [256, 260])
        #expect(tokenizer.decode([256, 259, 260]) == "ab[U]")
        #expect(tokenizer.isEndOfText(259))
    }

    @Test func llama3AddsBOSAndKeepsWholeWordTokens() throws {
        // Without the "a b" merge, "ab" can only come out whole through ignore_merges.
        let path = try Self.bytePairVocabulary(pre: "llama-bpe", merges: ["ab c"])
        let tokenizer = try GGUFTokenizer.load(from: GGUFFile(path: path))
        #expect(try tokenizer.encode("ab", addBOS: true) == [259, 256])
        let gpt2 = try GGUFTokenizer.load(from: GGUFFile(path: Self.bytePairVocabulary(merges: ["ab c"])))
        #expect(try gpt2.encode("ab", addBOS: true) == [0x61, 0x62])
    }

    /// Byte tokens in a BPE vocabulary (Gemma 4 carries SentencePiece-style `<0xXX>`) decode to
    /// their byte, as llama.cpp's `token_to_byte` reads them.
    @Test func bytePairByteTokensDecodeToTheirByte() throws {
        var tokens = ByteLevel.scalarOfByte.map { String(Unicode.Scalar($0)!) }
        tokens.append("<0x0A>")
        let path = try VocabularyGGUF.write([
            ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("gpt-2")),
            ("tokenizer.ggml.tokens", .strings(tokens)), ("tokenizer.ggml.token_type", .int32s(Array(repeating: 1, count: 256) + [6])),
            ("tokenizer.ggml.merges", .strings([])),
        ])
        let tokenizer = try GGUFTokenizer.load(from: GGUFFile(path: path))
        #expect(tokenizer.decode([0x61, 256, 0x62]) == "a\nb")
    }

    // MARK: Malformed metadata

    static func loadError(_ entries: [VocabularyGGUF.Entry]) throws -> LoadingError {
        let path = try VocabularyGGUF.write(entries)
        return try #require(throws: LoadingError.self) { try GGUFTokenizer.load(from: GGUFFile(path: path)) }
    }

    @Test func malformedMetadataNamesTheKey() throws {
        let tokens: VocabularyGGUF.Entry = ("tokenizer.ggml.tokens", .strings(["a", "b"]))
        let cases: [([VocabularyGGUF.Entry], String)] = [
            ([tokens], "tokenizer.ggml.model"),
            ([("tokenizer.ggml.model", .string("llama"))], "tokenizer.ggml.tokens"),
            ([("tokenizer.ggml.model", .string("bert")), tokens], "tokenizer.ggml.model"),
            ([("tokenizer.ggml.model", .string("llama")), tokens, ("tokenizer.ggml.scores", .float32s([0]))], "tokenizer.ggml.scores"),
            ([("tokenizer.ggml.model", .string("llama")), tokens, ("tokenizer.ggml.token_type", .int32s([1, 1, 1]))], "tokenizer.ggml.token_type"),
            ([("tokenizer.ggml.model", .string("llama")), ("tokenizer.ggml.tokens", .int32s([1, 2]))], "tokenizer.ggml.tokens[0]"),
            ([("tokenizer.ggml.model", .string("llama")), ("tokenizer.ggml.tokens", .string("ab"))], "tokenizer.ggml.tokens"),
            ([("tokenizer.ggml.model", .string("llama")), ("tokenizer.ggml.tokens", .strings(["<unk>"]))], "tokenizer.ggml.bos_token_id"),
            ([("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("gpt-2")), tokens], "tokenizer.ggml.merges"),
            ([("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("gpt-2")), tokens,
              ("tokenizer.ggml.merges", .strings(["a b", "ab"]))], "tokenizer.ggml.merges[1]"),
            ([("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("nonsense")), tokens], "tokenizer.ggml.pre"),
            ([("tokenizer.ggml.model", .string("gpt2")), tokens], "tokenizer.ggml.pre"),
        ]
        for (entries, key) in cases {
            let error = try Self.loadError(entries)
            #expect(error.description.contains(key), "\(error) should name \(key)")
        }
    }

    @Test func outOfRangeSpecialIdsAreIgnoredAsLlamaCppDoes() throws {
        let path = try Self.sentencePieceVocabulary([("tokenizer.ggml.padding_token_id", .uint32(99_999))])
        #expect(try GGUFTokenizer.load(from: GGUFFile(path: path)).vocabularySize == 12)
    }
}

/// Writes vocabulary-only GGUF v3 files (no tensors) from metadata entries.
enum VocabularyGGUF {
    enum Value {
        case string(String), uint32(UInt32), bool(Bool)
        case strings([String]), int32s([Int32]), float32s([Float])
    }

    typealias Entry = (key: String, value: Value)

    static func write(_ entries: [Entry]) throws -> String {
        var data = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        func string(_ s: String) {
            u64(UInt64(s.utf8.count))
            data.append(contentsOf: Array(s.utf8))
        }
        data.append(contentsOf: Array("GGUF".utf8))
        u32(3)
        u64(0)  // tensors
        u64(UInt64(entries.count))
        for (key, value) in entries {
            string(key)
            switch value {
            case let .string(s): u32(8); string(s)
            case let .uint32(v): u32(4); u32(v)
            case let .bool(b): u32(7); data.append(b ? 1 : 0)
            case let .strings(list): u32(9); u32(8); u64(UInt64(list.count)); list.forEach(string)
            case let .int32s(list): u32(9); u32(5); u64(UInt64(list.count)); list.forEach { u32(UInt32(bitPattern: $0)) }
            case let .float32s(list): u32(9); u32(6); u64(UInt64(list.count)); list.forEach { u32($0.bitPattern) }
            }
        }
        return try TestModels.write(data, name: "vocab-gguf")
    }
}
