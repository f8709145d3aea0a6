import Foundation
import SmallMind
import Testing
@testable import SmallMindCLI

/// `generate --json` and `--logprobs` renderings, and `info`'s description, without processes.
struct GenerationOutputTests {
    static func completion(logProbabilities: [StepLogProbabilities] = []) -> Completion {
        Completion(
            prompt: "Say \"hi\"\n", continuation: "é\tok", promptTokens: [1, 7, 8], tokens: [20, 21, 22], finishReason: .endOfSequence,
            timings: GenerationTimings(queueSeconds: 0.5, promptSeconds: 0.25, generationSeconds: 0.5), logProbabilities: logProbabilities)
    }

    static let steps = [
        StepLogProbabilities(chosen: .init(token: 20, logProbability: -0.1), top: [.init(token: 20, logProbability: -0.1), .init(token: 3, logProbability: -2.5)]),
        StepLogProbabilities(chosen: .init(token: 21, logProbability: -3), top: [.init(token: 9, logProbability: -0.05), .init(token: 21, logProbability: -3)]),
        StepLogProbabilities(chosen: .init(token: 22, logProbability: -1e-7), top: [.init(token: 22, logProbability: -1e-7), .init(token: 4, logProbability: -16.25)]),
    ]

    @Test func jsonHasEveryFieldAndParses() throws {
        let text = GenerationOutput.json(Self.completion(logProbabilities: Self.steps), includeLogProbabilities: true)
        #expect(!text.contains("\n"))
        #expect(text.hasPrefix("{\"prompt\":"))  // keys in reading order
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["prompt"] as? String == "Say \"hi\"\n" && object["text"] as? String == "é\tok")
        #expect(object["prompt_tokens"] as? [Int] == [1, 7, 8] && object["tokens"] as? [Int] == [20, 21, 22])
        #expect(object["finish_reason"] as? String == "eos")
        #expect(object["prompt_seconds"] as? Double == 0.25 && object["generation_seconds"] as? Double == 0.5)
        #expect(object["total_seconds"] as? Double == 1.25)
        #expect(object["prompt_tokens_per_second"] as? Double == 12)          // 3 tokens / 0.25 s
        #expect(object["generation_tokens_per_second"] as? Double == 4)       // the 2 after the first / 0.5 s
        let logprobs = try #require(object["logprobs"] as? [[String: Any]])
        #expect(logprobs.map { $0["token"] as? Int } == [20, 21, 22])
        #expect(logprobs.map { $0["logprob"] as? Double } == [-0.1, -3, -1e-7])
        #expect(logprobs[1]["top"] as? [[Double]] == [[9, -0.05], [21, -3]])
        #expect(logprobs[2]["top"] as? [[Double]] == [[22, -1e-7], [4, -16.25]])
    }

    @Test func jsonLeavesLogprobsOutUnlessAsked() throws {
        let text = GenerationOutput.json(Self.completion(), includeLogProbabilities: false)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["logprobs"] == nil && object["tokens"] as? [Int] == [20, 21, 22])
        // Asked for but none generated: an empty list, not a missing key.
        let empty = GenerationOutput.json(Self.completion(), includeLogProbabilities: true)
        #expect(empty.contains("\"logprobs\":[]"))
    }

    @Test func logProbabilityLinesShowEachTokenWithItsText() {
        let pieces: [Int: [UInt8]] = [20: Array(" Lily".utf8), 3: [0xE2, 0x80], 21: Array("\n".utf8), 9: Array("'".utf8), 22: Array("é".utf8), 4: [0xFF]]
        var asked: [(Int, Int?)] = []
        let text = GenerationOutput.logProbabilityLines(Self.completion(logProbabilities: Self.steps)) { token, previous in
            asked.append((token, previous))
            return pieces[token] ?? []
        }
        #expect(text == """
            step 0: 20 ' Lily' -0.1000 | 20 ' Lily' -0.1000, 3 '\\xE2\\x80' -2.5000
            step 1: 21 '\\n' -3.0000 | 9 '\\'' -0.0500, 21 '\\n' -3.0000
            step 2: 22 'é' -0.0000 | 22 'é' -0.0000, 4 '\\xFF' -16.2500

            """)
        // Each step's tokens read after the previous chosen token (the prompt's last for step 0).
        #expect(asked.first! == (20, 8) && asked.last! == (4, 21))
    }

    @Test func quotedAndPieceEscapeWhatATerminalWouldMangle() {
        #expect(Format.quoted("<|im_end|>") == "'<|im_end|>'")
        #expect(Format.quoted("\n<s>\n") == "'\\n<s>\\n'")
        #expect(Format.quoted("a\u{1B}b") == "'a\\x1Bb'")
        #expect(Format.piece(Array("héllo".utf8)) == "'héllo'")
        #expect(Format.piece([0x41, 0xC3]) == "'A\\xC3'")
    }
}

/// `smallmind info`'s description of real files (skipped without ../shared).
@Suite(.enabled(if: CLISharedFiles.root != nil, "../shared is absent beside the package: the models live there"))
struct ModelDescriptionTests {
    static func rows(_ relative: String) throws -> [String: String] {
        let path = CLISharedFiles.root!.appendingPathComponent(relative).path
        return Dictionary(ModelLocator.describe(try ModelInspection.inspect(path: path), path: path), uniquingKeysWith: { a, _ in a })
    }

    @Test func aModelShowsShapeMemoryAndVocabulary() throws {
        let rows = try Self.rows("models/stories260K.gguf")
        #expect(rows["Tensors"] == "47: F32 ×47")
        // 2 × 5 layers × 4 KV heads × head size 8 × 4 bytes; context 512.
        #expect(rows["KV cache"] == "1.2 KiB per token in f32, 640 bytes in f16 (full context of 512: 640.0 KiB / 320.0 KiB)")
        #expect(rows["Vocabulary"] == "512 tokens, tokenizer llama (SentencePiece BPE)")
        #expect(rows["Context"] == "512" && rows["Weights"] == nil)
        #expect(rows["Traits"] == "RMSNorm before each block, RoPE (adjacent pairs, base 10000), SwiGLU")
    }

    /// The architecture rows' traits, with the file's numbers (window, caps, bases, fused tensors).
    @Test func architectureTraitsAreShown() throws {
        #expect(try Self.rows("models/arch-gemma2.gguf")["Traits"] == "RMSNorm before and after each block, "
            + "RoPE (NeoX halves, base 10000), GeGLU (tanh GELU), embeddings × √256, sliding window 8 on 1 of every 2 layers, "
            + "attention soft cap 50, logit soft cap 30")
        #expect(try Self.rows("models/arch-phi3.gguf")["Traits"]?.hasSuffix("SwiGLU, fused QKV, fused gate+up") == true)
        #expect(try Self.rows("models/arch-qwen3.gguf")["Traits"]?.contains("q/k norms") == true)
    }

    @Test func aVocabularyOnlyFileShowsItsVocabulary() throws {
        let rows = try Self.rows("vocab/ggml-vocab-llama-bpe.gguf")
        #expect(rows["Format"]?.hasSuffix("(vocabulary only: no tensors)") == true)
        #expect(rows["Vocabulary"]?.contains("byte-level BPE), pre-tokenizer llama-bpe") == true, "\(rows)")
        #expect(rows["BOS / EOS"]?.contains("(added to prompts)") == true, "Llama 3 frames prompts with BOS: \(rows)")
        #expect(rows["Layers"] == nil && rows["KV cache"] == nil && rows["Tensors"] == nil)
    }
}
