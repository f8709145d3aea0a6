import Foundation
import Testing
@testable import SmallMind

/// The set of tokens that end a generation, as llama.cpp's `llama_vocab::load` derives it
/// (`special_eog_ids`), and generation stopping at every member — not only at EOS.
struct EndOfGenerationTests {
    /// A SentencePiece vocabulary of `pieces` (all normal unless `types` says otherwise), BOS 1, EOS 2.
    static func vocabulary(_ pieces: [String], types: [Int32]? = nil, _ extra: [VocabularyGGUF.Entry] = []) throws -> any Tokenizer {
        let path = try VocabularyGGUF.write([
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.tokens", .strings(pieces)),
            ("tokenizer.ggml.token_type", .int32s(types ?? pieces.map { _ in 1 })),
            ("tokenizer.ggml.bos_token_id", .uint32(1)),
            ("tokenizer.ggml.eos_token_id", .uint32(2)),
        ] + extra)
        return try GGUFTokenizer.load(from: GGUFFile(path: path))
    }

    static let base = ["<unk>", "<s>", "</eos>", "a", "b"]

    @Test func endOfTurnTextsDeclaredIdsAndFIMTokensEndAGeneration() throws {
        let tokenizer = try Self.vocabulary(Self.base + ["<|im_end|>", "<end_of_turn>", "<|fim_pad|>", "<|fim_prefix|>", "<|im_start|>", "c", "d", "e"],
            [("tokenizer.ggml.eot_token_id", .uint32(11)), ("tokenizer.ggml.eom_token_id", .uint32(12))])
        // EOS, the end-of-turn texts, FIM padding, and the declared EOT and EOM — not BOS, not the
        // FIM prefix, not <|im_start|>.
        #expect(tokenizer.endOfGenerationTokens == [2, 5, 6, 7, 11, 12])
        #expect(tokenizer.isEndOfText(5) && !tokenizer.isEndOfText(1) && !tokenizer.isEndOfText(9))
        // Found by their text, they become control tokens: nothing when decoded, and parsed from
        // text only when special tokens are.
        #expect(tokenizer.decode([3, 5, 8, 4]) == "ab")
        let piece = try #require(tokenizer as? GGUFSentencePieceTokenizer)
        #expect(piece.kind(of: 5) == .control && piece.kind(of: 8) == .control && piece.kind(of: 9) == .normal)
    }

    /// A declared FIM id replaces the search by text: the declared token ends generations, the
    /// look-alike does not.
    @Test func declaredFIMIdsWinOverTexts() throws {
        let tokenizer = try Self.vocabulary(Self.base + ["<|fim_pad|>", "<PAD>", "<|file_sep|>"],
            [("tokenizer.ggml.fim_pad_token_id", .uint32(6)), ("tokenizer.ggml.fim_sep_token_id", .uint32(3))])
        #expect(tokenizer.endOfGenerationTokens == [2, 6, 3])
    }

    /// llama.cpp's two exceptions: Harmony's <|end|> (when <|return|> and <|call|> exist) becomes
    /// user-defined text, and </s> beside Gemma 4's <|tool_response> becomes normal.
    @Test func harmonyEndAndGemma4SlashSAreNotEnds() throws {
        let harmony = try Self.vocabulary(Self.base + ["<|end|>", "<|return|>", "<|call|>"])
        #expect(harmony.endOfGenerationTokens == [2, 6, 7])
        #expect(harmony.decode([5]) == "<|end|>")
        let plainEnd = try Self.vocabulary(Self.base + ["<|end|>", "<|return|>"])
        #expect(plainEnd.endOfGenerationTokens == [2, 5, 6])

        let gemma4 = try Self.vocabulary(Self.base + ["</s>", "<|tool_response>"])
        #expect(gemma4.endOfGenerationTokens == [2, 6])
        #expect(gemma4.decode([5]) == "</s>")  // a normal piece again
        // Gemma 3's user-defined </s> ends generations, as a control token.
        let gemma3 = try Self.vocabulary(Self.base + ["</s>"], types: [2, 3, 3, 1, 1, 4])
        #expect(gemma3.endOfGenerationTokens == [2, 5])
        #expect(gemma3.decode([5]).isEmpty)
    }

    @Test func byteLevelVocabulariesToo() throws {
        let path = try GGUFTokenizerTests.bytePairVocabulary(pre: "qwen2")  // <|end|> is 259, also EOS
        let tokenizer = try GGUFTokenizer.load(from: GGUFFile(path: path))
        #expect(tokenizer.endOfGenerationTokens == [259])
    }

    /// llama2.c's tokenizers keep their rule: EOS and BOS.
    @Test func llama2cTokenizersEndAtEOSAndBOS() {
        let tokenizer = SentencePieceTokenizer(pieces: [[0], [1], [2], [0x61]], scores: [0, 0, 0, 0])
        #expect(tokenizer.endOfGenerationTokens == [1, 2])
    }

    // MARK: Generation

    /// The tiny llama's seeded continuation of "ab" (greedy repeats one token), then the same
    /// weights and seed with a vocabulary that
    /// makes the token generated at some step an end of generation — once declared as the EOT id,
    /// once by renaming it <end_of_turn>: both generations stop right there, as at EOS.
    @Test(arguments: [false, true])
    func generationStopsAtAnyEndOfGenerationToken(byText: Bool) async throws {
        let basePath = try TinyGGUF.llama().write()
        defer { try? FileManager.default.removeItem(atPath: basePath) }
        let parameters = GenerationParameters(maxTokens: 12, temperature: 2, topP: 1, seed: 7)
        let free = try GenerationContext(model: Model.load(path: basePath, tokenizerPath: nil)).generate("ab", parameters: parameters)
        #expect(free.finishReason == .length)
        // The first token that is new at its step, after at least one token, and not in the prompt
        // (ids 3... are text).
        let stepIndex = try #require(free.tokens.indices.first {
            $0 >= 1 && free.tokens[$0] >= 3 && !free.tokens[..<$0].contains(free.tokens[$0]) && !free.promptTokens.contains(free.tokens[$0])
        },
                                     "the tiny model's continuation \(free.tokens) has no token to make an end")
        let end = free.tokens[stepIndex]

        var file = TinyGGUF.llama()
        if byText {
            guard case var .strings(tokens) = file.metadata.first(where: { $0.0 == "tokenizer.ggml.tokens" })!.1 else {
                Issue.record("the tiny llama has no token list")
                return
            }
            tokens[end] = "<end_of_turn>"
            file.set("tokenizer.ggml.tokens", .strings(tokens))
        } else {
            file.set("tokenizer.ggml.eot_token_id", .u32(UInt32(end)))
        }
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try Model.load(path: path, tokenizerPath: nil)
        #expect(model.tokenizer.endOfGenerationTokens == [2, end])

        let stopped = try GenerationContext(model: model).generate("ab", parameters: parameters)
        #expect(stopped.promptTokens == free.promptTokens)
        #expect(stopped.tokens == Array(free.tokens[..<stepIndex]))
        #expect(stopped.finishReason == .endOfSequence)

        // The batching engine stops the same way.
        let engine = try Engine(model: model, options: EngineOptions(maxBatch: 2, threads: 1))
        defer { engine.shutdown() }
        let batched = try await engine.generate("ab", parameters)
        #expect(batched.tokens == stopped.tokens && batched.finishReason == .endOfSequence)
    }
}
