// `smallmind info` as a process, and bad model files through `info` and `generate`: one clear
// line naming the file and what is wrong, a non-zero status, never a crash.
import Foundation
import Testing

@Suite("smallmind info and bad files", .enabled(if: BuildProducts.executable("smallmind") != nil, Comment(rawValue: BuildProducts.missing)))
struct InfoCommandTests {
    let smallmind = BuildProducts.executable("smallmind") ?? ""

    /// The error contract: status 1 (a crash exits by a signal), one line on stderr starting with
    /// "error: " and the file's path, nothing on stdout.
    static func expectOneLineError(_ result: ProcessOutput, path: String, mentioning words: [String]) {
        #expect(result.status == 1, "status \(result.status): \(result.stderr)")
        #expect(result.stderr.hasPrefix("error: \(path): "), "\(result.stderr)")
        #expect(result.stderr.occurrences(of: "\n") == 1, "one line: \(result.stderr)")
        for word in words { #expect(result.stderr.contains(word), "'\(word)' missing from: \(result.stderr)") }
        #expect(result.stdout.isEmpty)
    }

    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
    func describesAModelOnOneScreen() async throws {
        let result = try await run(smallmind, ["info", SharedFiles.model("tiny-gqa.gguf")])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count <= 24, "one screen")
        func row(_ label: String) -> String? { lines.first { $0.hasPrefix(label + ":") }.map(String.init) }
        #expect(row("Tensors")?.contains("F32 ×29") == true)
        #expect(row("Context")?.hasSuffix(" 256") == true)
        // 2 × 3 layers × 2 KV heads × head size 16 × 4 bytes (f32) or 2 (f16).
        #expect(row("KV cache")?.contains("768 bytes per token in f32, 384 bytes in f16") == true, "\(row("KV cache") ?? "")")
        #expect(row("Vocabulary")?.contains("512 tokens, tokenizer llama") == true)
        #expect(row("BOS / EOS")?.contains("1 '\\n<s>\\n' (added to prompts) / 2 '\\n</s>\\n'") == true, "\(row("BOS / EOS") ?? "")")
        #expect(row("Weight memory") != nil && row("Weights") == nil)
    }

    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
    func describesAVocabularyOnlyFile() async throws {
        let result = try await run(smallmind, ["info", SharedFiles.path("vocab/ggml-vocab-qwen2.gguf")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("vocabulary only"))
        #expect(result.stdout.contains("151936 tokens, tokenizer gpt2 (byte-level BPE), pre-tokenizer qwen2"))
        #expect(result.stdout.contains("'<|endoftext|>'") && !result.stdout.contains("KV cache"))
        // Its special tokens: what ends a generation, and how many control tokens it has.
        #expect(result.stdout.contains("Ends generation:  128247 '</s>', 151643 '<|endoftext|>', 151645 '<|im_end|>'\n"), "\(result.stdout)")
        #expect(result.stdout.contains("Control tokens:   3\n"))
    }

    /// The real Qwen model cut at half its size: the GGUF header parses, its tensors run past the
    /// end — reported before any weight is touched, by both commands.
    @Test(.enabled(if: RealModels.available(RealModels.qwen), RealModels.skipReason(RealModels.qwen)))
    func aRealModelCutInHalfIsOneClearLine() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let half = folder.appendingPathComponent("half.gguf").path
        let source = try FileHandle(forReadingFrom: URL(fileURLWithPath: RealModels.path(RealModels.qwen)))
        let size = try source.seekToEnd()
        try source.seek(toOffset: 0)
        try #require(FileManager.default.createFile(atPath: half, contents: try source.read(upToCount: Int(size / 2))))
        try source.close()

        for arguments in [["info", half], ["generate", "--model", half, "--prompt", "Hi", "--max-tokens", "1"]] {
            let result = try await run(smallmind, arguments)
            Self.expectOneLineError(result, path: half, mentioning: ["truncated", "\(size / 2) bytes"])
        }
    }

    /// A model declaring an architecture this runtime does not run: the message names it and
    /// lists the ones it does.
    @Test func anUnsupportedArchitectureListsTheSupportedOnes() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("mamba.gguf").path
        let file = HandWrittenGGUF.bytes(
            metadata: [("general.architecture", "mamba"), ("general.name", "not a transformer")],
            tensors: [("token_embd.weight", [16, 8]), ("output_norm.weight", [16])])
        try file.write(to: URL(fileURLWithPath: path))
        for arguments in [["info", path], ["generate", "--model", path, "--prompt", "Hi"]] {
            let result = try await run(smallmind, arguments)
            Self.expectOneLineError(result, path: path, mentioning: ["'mamba'", "supported:", "llama", "qwen2", "gpt2"])
        }
    }

    @Test func aMissingFileIsOneClearLine() async throws {
        let path = "/nonexistent/model.gguf"
        for arguments in [["info", path], ["generate", "--model", path]] {
            Self.expectOneLineError(try await run(smallmind, arguments), path: path, mentioning: ["cannot open"])
        }
    }
}
