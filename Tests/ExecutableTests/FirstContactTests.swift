// What a new user meets first (issue 15), through the built `smallmind` as a process: --version,
// usage errors that name their flag and exit 64, prompts from standard input and files, requests
// longer than the context, an empty input file, and `batch` resuming after failures, refusing
// other settings and a second writer.
import Foundation
import Testing

@Suite("smallmind: first contact", .serialized, .enabled(if: BuildProducts.executable("smallmind") != nil, Comment(rawValue: BuildProducts.missing)))
struct FirstContactTests {
    let smallmind = BuildProducts.executable("smallmind") ?? ""

    static func object(_ line: some StringProtocol) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
    }

    static func lines(_ folder: URL, _ name: String = "out.jsonl") -> [String] {
        ((try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    static func write(_ text: String, to folder: URL, _ name: String) throws {
        try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    @Test func versionPrintsTheLibrarysVersion() async throws {
        let result = try await run(smallmind, ["--version"])
        #expect(result.status == 0)
        #expect(result.stdout == "0.1.0\n")
        #expect(result.stderr.isEmpty)
    }

    /// Every usage error: one line naming the flag, status 64 (EX_USAGE) — negative numbers
    /// included, which used to read as a missing value.
    @Test(arguments: [
        (["generate", "--max-tokens", "-5"], "error: --max-tokens must be 0 or more, got -5\n"),
        (["generate", "--max-tokens=-5"], "error: --max-tokens must be 0 or more, got -5\n"),
        (["generate", "--threads", "0"], "error: --threads must be from 1 to 256, got 0\n"),
        (["batch", "--input", "in.txt", "--threads", "0"], "error: --threads must be from 1 to 256, got 0\n"),
        (["batch", "--input", "in.txt", "--max-tokens", "-1"], "error: --max-tokens must be 0 or more, got -1\n"),
        (["bench", "--threads", "0"], "error: --threads must be from 1 to 256, got 0\n"),
        (["bench-matmul", "--threads", "300"], "error: --threads must be from 1 to 256, got 300\n"),
        (["generate", "--top-p", "2"], "error: --top-p must be in (0, 1], got 2.0\n"),
        (["generate", "--no-such-flag"], "error: Unknown option '--no-such-flag'\n"),
    ])
    func usageErrorsNameTheFlagAndExit64(arguments: [String], stderr: String) async throws {
        let result = try await run(smallmind, arguments)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr == stderr)
        #expect(result.stdout.isEmpty)
    }

    @Test func promptsComeFromStandardInputOrAFile() async throws {
        let flags = ["--temperature", "0", "--max-tokens", "8", "--json"]
        let given = try await run(smallmind, ["generate", "--prompt", "It's a test"] + flags)
        #expect(given.status == 0, "\(given.stderr)")
        let expected = try Self.object(given.stdout)

        // Piped in (its final newline is not part of the prompt).
        let piped = try await run(smallmind, ["generate"] + flags, stdin: "It's a test\n")
        #expect(piped.status == 0, "\(piped.stderr)")
        let fromStdin = try Self.object(piped.stdout)
        #expect(fromStdin["prompt"] as? String == "It's a test")
        #expect(fromStdin["tokens"] as? [Int] == expected["tokens"] as? [Int])

        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.write("It's a test\n", to: folder, "prompt.txt")
        for source in [["--prompt-file", "prompt.txt"], ["--prompt-file", "-"]] {
            let result = try await run(smallmind, ["generate"] + source + flags, stdin: "It's a test\n", directory: folder)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try Self.object(result.stdout)["tokens"] as? [Int] == expected["tokens"] as? [Int], "\(source)")
        }
    }

    @Test func noPromptAndNoBOSSaysToPassAPrompt() async throws {
        let result = try await run(smallmind, ["generate"], stdin: "")
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix("error: no prompt: pass --prompt TEXT"), "\(result.stderr)")
        #expect(result.stderr.occurrences(of: "\n") == 1)
    }

    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
    func tokenizeReadsStandardInputForDash() async throws {
        let vocabulary = SharedFiles.path("vocab/ggml-vocab-llama-spm.gguf")
        let text = try await run(smallmind, ["tokenize", "--model", vocabulary, "--text", "Hello world"])
        let piped = try await run(smallmind, ["tokenize", "--model", vocabulary, "--file", "-"], stdin: "Hello world")
        #expect(text.status == 0 && piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout == "[1, 15043, 3186]\n" && text.stdout == piped.stdout)
    }

    /// The one context rule, on the demo model (64 positions): a prompt that alone does not fit is
    /// an error naming both counts; a request that outgrows the context stops when it is full,
    /// with "length", and stderr says so — in generate and in batch alike.
    @Test func requestsLongerThanTheContext() async throws {
        let long = String(repeating: "x", count: 65)
        let refused = try await run(smallmind, ["generate", "--prompt", long])
        #expect(refused.status == 1)
        #expect(refused.stderr == "error: the prompt is 65 tokens but the context holds 64; shorten the prompt\n")

        let cut = try await run(smallmind, ["generate", "--prompt", "The quick brown fox", "--max-tokens", "50", "--json"])
        #expect(cut.status == 0, "\(cut.stderr)")
        let json = try Self.object(cut.stdout)
        #expect(json["finish_reason"] as? String == "length")
        #expect((json["tokens"] as? [Int])?.count == 46)   // 19 prompt positions + 45 fed + the last sampled
        #expect(cut.stderr.contains("note: the model's context of 64 tokens is full: generation stopped after 46 of --max-tokens 50 tokens (the prompt takes 19)"))

        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.write("The quick brown fox\n\(long)\nHi\n", to: folder, "in.txt")
        for strategy in ["batched", "parallel"] {
            let batch = try await run(smallmind, ["batch", "--input", "in.txt", "--max-tokens", "50", "--strategy", strategy, "--quiet"], directory: folder)
            #expect(batch.status == 1, "\(batch.stderr)")
            let records = try batch.stdout.split(separator: "\n").map(Self.object).sorted { ($0["index"] as? Int ?? 0) < ($1["index"] as? Int ?? 0) }
            #expect(records.count == 3)
            #expect(records[0]["completion_tokens"] as? Int == 46 && records[0]["finish_reason"] as? String == "length")
            #expect(records[1]["error"] as? String == "the prompt is 65 tokens but the context holds 64; shorten the prompt")
            #expect(records[2]["completion_tokens"] as? Int == 50)
            #expect(batch.stderr.contains("note: 1 of 3 items stopped when the context of 64 tokens was full"), "\(batch.stderr)")
            #expect(batch.stderr.contains("error: 1 of 3 items failed"))
        }
    }

    @Test func anEmptyInputFileIsOneClearLine() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.write("\n  \n", to: folder, "empty.txt")
        let result = try await run(smallmind, ["batch", "--input", "empty.txt", "--output", "out.jsonl"], directory: folder)
        #expect(result.status == 1)
        #expect(result.stderr == "error: empty.txt: no prompts: the input is empty or holds only blank lines\n")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out.jsonl").path), "no empty output left behind")
    }

    /// Failures are retried on the next run and their lines replaced — also after the prompt was
    /// fixed in the input — while results already there stay as they were.
    @Test func resumingRetriesFailuresAndKeepsResults() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let arguments = ["batch", "--input", "in.txt", "--output", "out.jsonl", "--max-tokens", "12", "--temperature", "0.8", "--quiet"]
        try Self.write("The story of\ncaf\u{E9} au lait\nWhy don't we\n", to: folder, "in.txt")
        let first = try await run(smallmind, arguments, directory: folder)
        #expect(first.status == 1)
        #expect(first.stderr.contains("error: 1 of 3 items failed; their lines carry \"error\"; run the same command again to retry them"), "\(first.stderr)")
        let before = Self.lines(folder)
        #expect(before.count == 3)
        #expect(try Self.object(before[1])["error"] as? String == "cannot tokenize the prompt: unknown character '\u{E9}' (U+E9) at offset 3: the demo model knows printable ASCII (space to '~') and newline")

        // The same input: the failure runs again (and fails again); nothing is duplicated.
        let again = try await run(smallmind, arguments, directory: folder)
        #expect(again.status == 1)
        #expect(again.stderr.contains("Resuming: 2 of 3 items already in out.jsonl; 1 to go (1 failed before and run again)."), "\(again.stderr)")
        #expect(Self.lines(folder) == before)

        // The prompt fixed: its line is replaced by a result; the others are byte for byte the same.
        try Self.write("The story of\ncafe au lait\nWhy don't we\n", to: folder, "in.txt")
        let fixed = try await run(smallmind, arguments, directory: folder)
        #expect(fixed.status == 0, "\(fixed.stderr)")
        let after = Self.lines(folder)
        #expect(after.count == 3 && after[0] == before[0] && after[2] == before[2])
        let record = try Self.object(after[1])
        #expect(record["index"] as? Int == 1 && record["prompt"] as? String == "cafe au lait" && record["error"] == nil)
        #expect(record["text"] as? String != nil && record["model"] as? String == "demo")

        let done = try await run(smallmind, arguments, directory: folder)
        #expect(done.status == 0 && done.stderr.contains("Nothing to do: all 3 items are already in out.jsonl."))
    }

    /// A rerun with other settings would mix two kinds of result in one file: refused, naming what
    /// changed and offering --restart, which starts over.
    @Test func changedParametersAreRefusedUnlessRestarted() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.write("The story of\nWhy don't we\n", to: folder, "in.txt")
        let base = ["batch", "--input", "in.txt", "--output", "out.jsonl", "--quiet", "--temperature", "0.8"]
        let first = try await run(smallmind, base + ["--max-tokens", "5"], directory: folder)
        #expect(first.status == 0, "\(first.stderr)")
        let before = Self.lines(folder)
        #expect(try Self.object(before[0])["parameters"] as? [String: Any] != nil)

        let changed = try await run(smallmind, base + ["--max-tokens", "6"], directory: folder)
        #expect(changed.status == 1)
        #expect(changed.stderr.occurrences(of: "\n") == 1, "\(changed.stderr)")
        #expect(changed.stderr.hasPrefix("error: out.jsonl line 1 (index 0) holds a result made with other settings: it was made with max_tokens 5 (now 6)"))
        #expect(changed.stderr.contains("--restart"))
        #expect(Self.lines(folder) == before, "refusing changed nothing")

        let otherModel = try await run(smallmind, base + ["--max-tokens", "5", "--seed", "3"], directory: folder)
        #expect(otherModel.status == 1 && otherModel.stderr.contains("seed 0 (now 3)"), "\(otherModel.stderr)")

        let restarted = try await run(smallmind, base + ["--max-tokens", "6", "--restart"], directory: folder)
        #expect(restarted.status == 0, "\(restarted.stderr)")
        let after = Self.lines(folder)
        #expect(after.count == 2)
        for line in after {
            let parameters = try #require(try Self.object(line)["parameters"] as? [String: Any])
            #expect(parameters["max_tokens"] as? Int == 6)
            #expect(parameters["temperature"] as? Double == 0.8)
        }
    }

    /// Two processes on one output file: while the first holds it (here, stopped mid-run), the
    /// second refuses at once and writes nothing.
    @Test func aSecondBatchOnTheSameOutputIsRefused() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.write((0..<200).map { "The story of number \($0)" }.joined(separator: "\n"), to: folder, "in.txt")
        let arguments = ["batch", "--input", "in.txt", "--output", "out.jsonl", "--max-tokens", "30", "--concurrency", "2", "--quiet"]
        let first = try RunningProcess(smallmind, arguments, stdin: "", directory: folder)
        #expect(await first.signal(SIGSTOP) { Self.lines(folder).count >= 1 })
        let stoppedAt = Self.lines(folder)
        let second = try await run(smallmind, arguments, directory: folder)
        first.signal(SIGKILL)
        _ = await first.finish()
        #expect(second.status == 1)
        #expect(second.stderr == "error: out.jsonl is in use by another smallmind batch; let it finish, or choose another --output\n")
        #expect(Self.lines(folder) == stoppedAt)
    }
}
