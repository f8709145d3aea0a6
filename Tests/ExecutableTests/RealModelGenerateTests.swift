// `smallmind generate --json --logprobs` on the two real published models against llama.cpp's
// server (../shared/golden/llamacpp-real.json). They skip, saying why, when a model is absent or
// this build cannot run it (`smallmind info` fails on it).
import Foundation
import Testing

@Suite("smallmind generate on the real models", .serialized)
struct RealModelGenerateTests {
    let smallmind = BuildProducts.executable("smallmind") ?? ""

    static func golden(_ model: String, promptContaining text: String) throws -> LlamaCppGolden.Case {
        try #require(try LlamaCppGolden.cases(file: "llamacpp-real.json").first { $0.model == model && $0.prompt.contains(text) })
    }

    /// Greedy, `steps` tokens: llama.cpp's prompt tokens exactly, its greedy tokens over the safe
    /// prefix (quantized weights: later steps may take the other branch of a near tie), each step's
    /// chosen token first among five, best first.
    func expectGreedyLikeLlamaCpp(_ model: String, _ golden: LlamaCppGolden.Case, steps: Int) async throws {
        let compared = min(steps, golden.safe_tokens ?? 0)
        let result = try await run(smallmind, [
            "generate", "--model", RealModels.path(model), "--prompt", golden.prompt, "--json", "--logprobs", "5",
            "--temperature", "0", "--max-tokens", "\(steps)",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try GenerateCommandTests.object(result.stdout)
        #expect(json["prompt_tokens"] as? [Int] == golden.prompt_tokens)
        let tokens = try #require(json["tokens"] as? [Int])
        #expect(Array(tokens.prefix(compared)) == Array(golden.tokens.prefix(compared)))
        let logprobs = try #require(json["logprobs"] as? [[String: Any]])
        #expect(logprobs.count == tokens.count)
        for entry in logprobs {
            let top = try #require(entry["top"] as? [[Double]])
            #expect(top.count == 5 && Int(top[0][0]) == entry["token"] as? Int && top.map { $0[1] } == top.map { $0[1] }.sorted(by: >))
        }
    }

    /// The chat prompt spells <|im_start|> and <|im_end|>: llama.cpp's prompt tokens hold them as
    /// single tokens (151644, 151645), which only parsing special tokens in prompts gives.
    @Test(.enabled(if: SharedFiles.available && RealModels.runsHere(RealModels.qwen), RealModels.cannotRunReason(RealModels.qwen)))
    func qwenChatPromptParsesItsControlTokensLikeLlamaCpp() async throws {
        let golden = try Self.golden(RealModels.qwen, promptContaining: "<|im_start|>")
        #expect(golden.prompt_tokens.contains(151_644) && golden.prompt_tokens.contains(151_645))
        try await expectGreedyLikeLlamaCpp(RealModels.qwen, golden, steps: 8)

        let plain = try await run(smallmind, [
            "generate", "--model", RealModels.path(RealModels.qwen), "--prompt", golden.prompt, "--json", "--max-tokens", "1", "--no-parse-special",
        ])
        let tokens = try #require(try GenerateCommandTests.object(plain.stdout)["prompt_tokens"] as? [Int])
        #expect(!tokens.contains(151_644) && tokens.count > golden.prompt_tokens.count)
    }

    @Test(.enabled(if: SharedFiles.available && RealModels.runsHere(RealModels.gemma), RealModels.cannotRunReason(RealModels.gemma)))
    func gemmaGreedyLikeLlamaCpp() async throws {
        try await expectGreedyLikeLlamaCpp(RealModels.gemma, try Self.golden(RealModels.gemma, promptContaining: "capital of France"), steps: 8)
    }
}
