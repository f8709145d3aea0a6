// `smallmind` under SMALLMIND_KERNELS: the portable kernels give the x86 ones' tokens and
// log-probabilities, and a value naming no kernel path is one line and status 1 — checked before
// anything reaches the kernels (the same place that reports a processor without AVX2/FMA).
import Foundation
import Testing

@Suite("SMALLMIND_KERNELS in the tools", .enabled(if: BuildProducts.executable("smallmind") != nil, Comment(rawValue: BuildProducts.missing)))
struct KernelPathCommandTests {
    let smallmind = BuildProducts.executable("smallmind") ?? ""

    /// Runs `smallmind` with `environment` added to this process's.
    func run(_ arguments: [String], environment: [String: String]) async throws -> ProcessOutput {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: smallmind)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = folder.appendingPathComponent("stdout.txt"), err = folder.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        return ProcessOutput(
            status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
            stderr: try String(contentsOf: err, encoding: .utf8))
    }

    @Test func aKernelPathThatDoesNotExistIsOneLineAndStatusOne() async throws {
        let result = try await run(["generate", "--prompt", "Hi", "--max-tokens", "2"], environment: ["SMALLMIND_KERNELS": "avx9"])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.hasPrefix("error: SMALLMIND_KERNELS=avx9 names no kernel path; use ") == true, "\(result.stderr)")
    }

    /// Whether this build has the x86 kernels (Linux x86-64); elsewhere only the portable ones.
    static let hasX86Kernels: Bool = {
        #if os(Linux) && arch(x86_64)
        return true
        #else
        return false
        #endif
    }()

    /// A Q8_0 model greedily, on the AVX2 integer kernels (AVX-512 off: their regrouped rows sum
    /// in another order) and on the portable ones: the same tokens and the same log-probabilities.
    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason),
          .enabled(if: hasX86Kernels, "only the portable kernels are compiled here"))
    func portableKernelsGiveTheSameTokensAndLogProbabilities() async throws {
        let arguments = [
            "generate", "--model", SharedFiles.model("stories260K-q8_0.gguf"), "--prompt", "Once upon a time",
            "--max-tokens", "12", "--temperature", "0", "--json", "--logprobs", "3", "--threads", "2",
        ]
        func run(_ path: String) async throws -> (tokens: [Int], logprobs: String) {
            let result = try await self.run(arguments, environment: ["SMALLMIND_KERNELS": path, "SMALLMIND_AVX512": "0"])
            #expect(result.status == 0, "\(path): \(result.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let tokens = try #require(object["tokens"] as? [Int])
            let logprobs = try JSONSerialization.data(withJSONObject: try #require(object["logprobs"]), options: [.sortedKeys])
            return (tokens, String(decoding: logprobs, as: UTF8.self))
        }
        let x86 = try await run("x86"), portable = try await run("portable")
        #expect(x86.tokens.count == 12)
        #expect(portable.tokens == x86.tokens)
        #expect(portable.logprobs == x86.logprobs)
    }
}
