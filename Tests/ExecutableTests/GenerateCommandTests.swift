// `smallmind generate` as a process: --json and --logprobs against llama.cpp's own greedy run
// (../shared/golden/llamacpp.json), special tokens in prompts, and the help that explains them.
import Foundation
import Testing

@Suite("smallmind generate executable", .enabled(if: BuildProducts.executable("smallmind") != nil, Comment(rawValue: BuildProducts.missing)))
struct GenerateCommandTests {
    let smallmind = BuildProducts.executable("smallmind") ?? ""

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    /// Each step's top-N, compared as LogProbabilityGoldenTests does: a token both list within
    /// `tolerance`; a token only one side lists within `tolerance` of the other side's last (a near
    /// tie at the cut, e.g. stories' ranks 4 and 5 are 0.0007 apart at one step).
    static func expectClose(_ ours: [[Double]], _ golden: [[Double]], tolerance: Double, step: Int) {
        let mine = Dictionary(uniqueKeysWithValues: ours.map { (Int($0[0]), $0[1]) })
        let theirs = Dictionary(uniqueKeysWithValues: golden.map { (Int($0[0]), $0[1]) })
        for (token, value) in theirs {
            if let m = mine[token] {
                #expect(abs(m - value) <= tolerance, "step \(step) token \(token): \(m) vs llama.cpp \(value)")
            } else {
                #expect(value <= ours.last![1] + tolerance, "step \(step): llama.cpp's \(token) (\(value)) not in ours")
            }
        }
        for (token, value) in mine where theirs[token] == nil {
            #expect(value <= golden.last![1] + tolerance, "step \(step): our \(token) (\(value)) not in llama.cpp's")
        }
    }

    /// `generate --json --logprobs 5 --temperature 0` gives llama.cpp's prompt tokens, its greedy
    /// tokens and its top-5 log-probabilities. Tolerances are LlamaCppGoldenTests' for the same
    /// models (the bound on |Δ ln p| of llama.cpp's top-5 over its whole greedy run): F32 0.02
    /// (observed 0.0126: llama.cpp keeps keys and values in f16 and rounds attention in f16, we
    /// compute in float32), Q8_0 0.25 (observed 0.169: llama.cpp's f16 rounding now and then flips
    /// an activation's 8-bit code). Our log-softmax sums in Double where llama.cpp sums in float,
    /// a difference of ~1e-6 over 512 tokens. The quantized model is compared on its first 8 steps
    /// only: past them, the rounding differences could legitimately pick another branch.
    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason),
          arguments: [("stories260K.gguf", 64, 0.02), ("stories260K-q8_0.gguf", 8, 0.25)])
    func jsonWithLogprobsMatchesLlamaCpp(model: String, steps: Int, tolerance: Double) async throws {
        let golden = try LlamaCppGolden.goldenCase(model)
        let result = try await run(smallmind, [
            "generate", "--model", SharedFiles.model(model), "--prompt", golden.prompt, "--json", "--logprobs", "5",
            "--temperature", "0", "--max-tokens", "\(steps)", "--threads", "2",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasSuffix("}\n") && result.stdout.occurrences(of: "\n") == 1, "one JSON object on one line")
        #expect(result.stderr.contains("tokens/s"), "statistics stay on stderr")
        let json = try Self.object(result.stdout)
        #expect(json["prompt"] as? String == golden.prompt)
        #expect(json["prompt_tokens"] as? [Int] == golden.prompt_tokens)
        #expect(json["tokens"] as? [Int] == Array(golden.tokens.prefix(steps)))
        #expect(json["finish_reason"] as? String == "length")
        #expect((json["text"] as? String)?.isEmpty == false)
        for key in ["prompt_seconds", "generation_seconds", "total_seconds", "prompt_tokens_per_second", "generation_tokens_per_second"] {
            #expect(((json[key] as? NSNumber)?.doubleValue ?? -1) >= 0, "\(key)")
        }
        let logprobs = try #require(json["logprobs"] as? [[String: Any]])
        #expect(logprobs.count == steps)
        for (i, (entry, step)) in zip(logprobs, golden.steps).enumerated() {
            #expect(entry["token"] as? Int == step.token, "step \(i)")
            let top = try #require(entry["top"] as? [[Double]])
            #expect(top.count == 5 && top.map { $0[1] } == top.map { $0[1] }.sorted(by: >), "step \(i): five, best first")
            // Greedy: the chosen token is the best, with the best's log-probability.
            #expect(Int(top[0][0]) == step.token && (entry["logprob"] as? Double) == top[0][1], "step \(i)")
            Self.expectClose(top, step.top, tolerance: tolerance, step: i)
        }
    }

    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
    func logprobsWithoutJSONAreLinesOnStderr() async throws {
        let result = try await run(smallmind, [
            "generate", "--model", SharedFiles.model("stories260K.gguf"), "--prompt", "Once upon a time", "--logprobs", "2",
            "--temperature", "0", "--max-tokens", "4",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "Once upon a time, there was a\n")
        let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("step ") }
        #expect(lines.count == 4)
        #expect(lines.first?.hasPrefix("step 0: 432 ',' -0.03") == true, "\(lines)")
        #expect(lines.allSatisfy { $0.components(separatedBy: " | ").last!.components(separatedBy: ", ").count == 2 }, "two per step: \(lines)")
        // Without --logprobs there are none, and --json leaves "logprobs" out.
        let plain = try await run(smallmind, [
            "generate", "--model", SharedFiles.model("stories260K.gguf"), "--prompt", "Once", "--json", "--temperature", "0", "--max-tokens", "2",
        ])
        let plainJSON = try Self.object(plain.stdout)
        #expect(!plain.stderr.contains("step 0") && plainJSON["logprobs"] == nil)
    }

    /// Control-token texts in the prompt become their tokens, as llama.cpp parses prompts;
    /// --no-parse-special keeps them as text — in generate and in batch. (This vocabulary, converted
    /// from llama2.c's, spells EOS "\n</s>\n".)
    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
    func promptsParseSpecialTokensUnlessTold() async throws {
        let model = SharedFiles.model("stories260K.gguf")
        let prompt = "Once\n</s>\nupon"
        func promptTokens(_ extra: [String]) async throws -> [Int] {
            let result = try await run(smallmind, ["generate", "--model", model, "--prompt", prompt, "--json", "--max-tokens", "1"] + extra)
            #expect(result.status == 0, "\(result.stderr)")
            return try #require(try Self.object(result.stdout)["prompt_tokens"] as? [Int])
        }
        let parsed = try await promptTokens([])
        let plain = try await promptTokens(["--no-parse-special"])
        #expect(parsed.contains(2) && !plain.contains(2) && plain.count > parsed.count)

        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let line = String(data: try JSONSerialization.data(withJSONObject: ["prompt": prompt]), encoding: .utf8)!
        try (line + "\n").write(to: folder.appendingPathComponent("in.jsonl"), atomically: true, encoding: .utf8)
        func batchPromptTokens(_ extra: [String]) async throws -> Int? {
            let result = try await run(smallmind, ["batch", "--model", model, "--input", "in.jsonl", "--max-tokens", "1", "--quiet"] + extra, directory: folder)
            #expect(result.status == 0, "\(result.stderr)")
            return try Self.object(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))["prompt_tokens"] as? Int
        }
        #expect(try await batchPromptTokens([]) == parsed.count)
        #expect(try await batchPromptTokens(["--no-parse-special"]) == plain.count)
    }

    @Test func helpExplainsTheFlagsAndBadCombinationsAreOneLine() async throws {
        let help = try await run(smallmind, ["generate", "--help"])
        #expect(help.status == 0)
        for text in ["--json", "--logprobs", "--no-parse-special", "log-softmax", "\"prompt_tokens\"", "\"finish_reason\""] {
            #expect(help.stdout.contains(text), "generate --help lacks \(text)")
        }
        let tokenizeHelp = try await run(smallmind, ["tokenize", "--help"])
        #expect(tokenizeHelp.stdout.contains("as llama.cpp does"), "tokenize explains --no-parse-special the same way")

        let both = try await run(smallmind, ["generate", "--json", "--stream"])
        #expect(both.status != 0 && both.stderr.hasPrefix("error: ") && both.stderr.occurrences(of: "\n") == 1, "\(both.stderr)")
        let tooMany = try await run(smallmind, ["generate", "--logprobs", "1000"])
        #expect(tooMany.status != 0 && tooMany.stderr.hasPrefix("error: --logprobs must be"), "\(tooMany.stderr)")
    }
}
