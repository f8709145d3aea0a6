// `smallmind chat` and `smallmind chat-template` as users run them: conversations piped through
// standard input against llama.cpp's server replies, template renderings against jinja2, Ctrl-C
// in the middle of a reply, and template errors.
import Foundation
import Testing

struct ChatCommandTests {
    struct GoldenConversation: Decodable {
        struct Reply: Decodable {
            var content: String
            var finish_reason: String
            var prompt_tokens: Int
        }
        var system: String?
        var user_turns: [String]
        var max_tokens: Int
        var replies: [Reply]
    }

    static func goldenConversations() throws -> [GoldenConversation] {
        struct File: Decodable { var conversations: [GoldenConversation] }
        let data = try Data(contentsOf: URL(fileURLWithPath: SharedFiles.path("golden/chat-real.json")))
        return try JSONDecoder().decode(File.self, from: data).conversations
    }

    /// The prompt-token counts of the statistics lines on standard error, one per reply.
    static func promptTokenCounts(_ stderr: String) -> [Int] {
        stderr.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("["), let range = line.range(of: " prompt tokens, ") else { return nil }
            return Int(line[..<range.lowerBound].split(separator: " ").last ?? "")
        }
    }

    static func cachedCounts(_ stderr: String) -> [Int] {
        stderr.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("["), let range = line.range(of: " of them cached") else { return nil }
            return Int(line[..<range.lowerBound].split(separator: " ").last ?? "")
        }
    }

    @Test(.enabled(if: SharedFiles.available && RealModels.runsHere(RealModels.qwen), RealModels.cannotRunReason(RealModels.qwen)))
    func greedyRepliesEqualLlamaServersTurnByTurn() async throws {
        let smallmind = try #require(BuildProducts.executable("smallmind"))
        for conversation in try Self.goldenConversations() {
            var arguments = ["chat", "--model", RealModels.path(RealModels.qwen), "--temperature", "0", "--max-tokens", String(conversation.max_tokens)]
            if let system = conversation.system { arguments += ["--system", system] }
            // End of input after the last turn, without /exit: a clean end (status 0).
            let output = try await run(smallmind, arguments, stdin: conversation.user_turns.joined(separator: "\n") + "\n")
            #expect(output.status == 0, "\(output.stderr)")
            // Standard output carries the replies only, each followed by a newline.
            #expect(output.stdout == conversation.replies.map { $0.content + "\n" }.joined(), "\(output.stderr)")
            // The template and the tokenizer make the same prompts as llama.cpp's server.
            #expect(Self.promptTokenCounts(output.stderr) == conversation.replies.map(\.prompt_tokens))
            // Every turn after the first found the previous turns in the engine's cache.
            let cached = Self.cachedCounts(output.stderr)
            #expect(cached.first == 0)
            for turn in 1..<conversation.replies.count {
                #expect(cached.count > turn && cached[turn] >= conversation.replies[turn - 1].prompt_tokens, "turn \(turn)")
            }
        }
    }

    @Test(.enabled(if: SharedFiles.available && RealModels.runsHere(RealModels.qwen), RealModels.cannotRunReason(RealModels.qwen)))
    func ctrlCStopsTheReplyKeepsItAndTheConversationGoesOn() async throws {
        let smallmind = try #require(BuildProducts.executable("smallmind"))
        let process = try RunningProcess(
            smallmind, ["chat", "--model", RealModels.path(RealModels.qwen), "--temperature", "0", "--max-tokens", "400"], stdin: nil)
        process.send("Count from 1 to 200, one number per line.\n")
        // Interrupt once the reply has begun streaming.
        #expect(await process.signal(SIGINT) { process.stdout.count >= 6 })
        #expect(await process.wait(until: { process.stderr.contains("(stopped)") }, timeout: 120))
        process.send("Thanks.\n")
        #expect(await process.wait(until: { Self.promptTokenCounts(process.stderr).count == 2 }, timeout: 300))
        process.closeInput()
        let output = await process.finish(timeout: 120)
        #expect(output.status == 0, "\(output.stderr)")
        let prompts = Self.promptTokenCounts(output.stderr)
        let cached = Self.cachedCounts(output.stderr)
        // The second turn's prompt holds the first turn and the interrupted reply, cached.
        #expect(prompts.count == 2 && cached.count == 2)
        if prompts.count == 2 && cached.count == 2 {
            #expect(cached[1] > prompts[0], "the stopped reply's tokens are in the history: \(output.stderr)")
        }
    }

    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
    func chatTemplatePrintsWhatJinja2Renders() async throws {
        let smallmind = try #require(BuildProducts.executable("smallmind"))
        struct Case: Decodable {
            var template: String
            var messages: [[String: String]]
            var add_generation_prompt: Bool
            var prompt: String?
            var error: String?
        }
        struct File: Decodable { var cases: [Case] }
        let cases = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: SharedFiles.path("golden/chat-templates.json")))).cases
        // The demo model has no BOS or EOS token, so only templates that do not write them render
        // as the golden file's (bos_token <s>): Qwen's; and Gemma 2's errors, raised before any text.
        let chosen = cases.filter {
            $0.template.hasPrefix("Qwen-") || ($0.template == "google-gemma-2-2b-it.jinja" && $0.error != nil)
        }
        #expect(chosen.count == 28)
        for golden in chosen {
            let messages = String(decoding: try JSONEncoder().encode(golden.messages), as: UTF8.self)
            var arguments = ["chat-template", "--chat-template-file", SharedFiles.path("templates/\(golden.template)"), "--messages", "-"]
            if !golden.add_generation_prompt { arguments.append("--no-generation-prompt") }
            let output = try await run(smallmind, arguments, stdin: messages)
            if let prompt = golden.prompt {
                #expect(output.status == 0, "\(output.stderr)")
                #expect(output.stdout == prompt, "\(golden.template)")
            } else {
                #expect(output.status == 1)
                #expect(output.stdout.isEmpty)
                #expect(output.stderr.contains("System role not supported"), "\(output.stderr)")
            }
        }
    }

    @Test func chatTemplateNamesWhereATemplateFailsToParse() async throws {
        let smallmind = try #require(BuildProducts.executable("smallmind"))
        let folder = try temporaryFolder()
        let template = folder.appendingPathComponent("broken.jinja")
        try Data("{% for m in messages %}\n{{ m.content }\n{% endfor %}".utf8).write(to: template)
        let output = try await run(smallmind, ["chat-template", "--chat-template-file", template.path, "--messages", "-"], stdin: #"[{"role": "user", "content": "hi"}]"#)
        #expect(output.status == 1)
        #expect(output.stderr.contains("broken.jinja"))
        #expect(output.stderr.contains("line 2, column"), "\(output.stderr)")

        let notMessages = try await run(smallmind, ["chat-template", "--messages", "-"], stdin: #"{"role": "user"}"#)
        #expect(notMessages.status == 1)
        #expect(notMessages.stderr.contains("expected a list of messages"), "\(notMessages.stderr)")
    }

    @Test func resetStartsOverAndAConversationThatOutgrowsTheContextSaysSo() async throws {
        let smallmind = try #require(BuildProducts.executable("smallmind"))
        // The demo model's context is 64 tokens (characters): one ChatML turn fits, two do not.
        let reset = try await run(smallmind, ["chat", "--seed", "1"], stdin: "hi\n/reset\nyo\n")
        #expect(reset.status == 0, "\(reset.stderr)")
        #expect(Self.promptTokenCounts(reset.stderr) == [52, 52])
        #expect(reset.stderr.contains("(history cleared)"))
        #expect(reset.stdout.hasSuffix("\n") && reset.stdout.count > 2)

        let outgrown = try await run(smallmind, ["chat", "--seed", "1"], stdin: "hi\nhello again\n")
        #expect(outgrown.status == 1)
        #expect(outgrown.stderr.contains("the conversation is now 137 tokens but the context holds 64: /reset to start over"), "\(outgrown.stderr)")
        #expect(Self.promptTokenCounts(outgrown.stderr) == [52])
    }

    @Test func aModelWithoutATemplateChatsInChatML() async throws {
        let smallmind = try #require(BuildProducts.executable("smallmind"))
        let output = try await run(smallmind, ["chat-template", "--messages", "-"], stdin: #"{"messages": [{"role": "user", "content": "Hi"}]}"#)
        #expect(output.status == 0)
        #expect(output.stdout == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }
}
