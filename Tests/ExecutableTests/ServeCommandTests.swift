// `smallmind serve` as a process: the official `openai` Python client against it
// (scripts/serve_openai_check.py), the lifecycle (SIGTERM with a request in flight, a port in
// use), with the demo model and, when present, the real Qwen model against llama-server's replies.
import Foundation
import Testing

/// A running `smallmind serve` on a free port.
final class ServeProcess {
    let process: RunningProcess
    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the server with `arguments` (`--port 0` added) and waits for its "listening" line.
    init(_ arguments: [String]) async throws {
        let smallmind = try #require(BuildProducts.executable("smallmind"))
        process = try RunningProcess(smallmind, ["serve", "--port", "0"] + arguments, stdin: nil)
        let process = process
        let listening = await process.wait(until: { Self.port(in: process.stderr) != nil }, timeout: 300)
        guard listening, let port = Self.port(in: process.stderr) else {
            process.signal(SIGKILL)
            let output = await process.finish()
            throw ServeFailure(message: "the server did not start: \(output.stderr)")
        }
        self.port = port
    }

    static func port(in log: String) -> Int? {
        guard let range = log.range(of: "on http://127.0.0.1:") else { return nil }
        return Int(log[range.upperBound...].prefix { $0.isNumber })
    }

    /// SIGTERM, then the exit.
    func stop() async -> ProcessOutput {
        process.signal(SIGTERM)
        return await process.finish(timeout: 900)
    }
}

struct ServeFailure: Error, CustomStringConvertible { var message: String; var description: String { message } }

enum OpenAIClientScript {
    static let path: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("scripts/serve_openai_check.py").path
    }()

    /// Whether python3 with the `openai` package is here (.ci/run installs it; absent: skipped).
    static let available: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import openai"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    static let skipReason: Comment = "needs python3 with the openai package (python3 -m pip install openai); skipped"

    static func run(_ arguments: [String]) async throws -> ProcessOutput {
        try await RunningProcess("/usr/bin/env", ["python3", path] + arguments, stdin: "").finish(timeout: 900)
    }
}

/// HTTP from the test itself, for what the script does not cover.
func httpRequest(_ url: String, method: String = "GET", json: String? = nil) async throws -> (status: Int, body: String) {
    // curl keeps this free of URLSession's platform differences; it is on every CI image here.
    var arguments = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, url]
    if let json { arguments += ["-H", "Content-Type: application/json", "-d", json] }
    let output = try await RunningProcess("/usr/bin/env", arguments, stdin: "").finish(timeout: 600)
    let lines = output.stdout.split(separator: "\n", omittingEmptySubsequences: false)
    return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
}

struct ServeCommandTests {
    @Test(.enabled(if: BuildProducts.directory != nil && OpenAIClientScript.available, OpenAIClientScript.skipReason))
    func theOpenAIClientWorksAgainstTheDemoModel() async throws {
        let server = try await ServeProcess(["--api-key", "test-key", "--alias", "demo", "--chat-template-file", try Self.compactTemplate()])
        let script = try await OpenAIClientScript.run(["--base-url", server.baseURL, "--api-key", "test-key", "--model", "demo", "basics"])
        let output = await server.stop()
        #expect(script.status == 0, "\(script.stdout)\n\(script.stderr)")
        #expect(script.stdout.contains("all passed"))
        #expect(output.status == 0, "\(output.stderr)")
        // Logs carry no prompt text without --log-prompts.
        #expect(!output.stderr.contains("Say 1"), "\(output.stderr)")
    }

    @Test(
        .enabled(
            if: SharedFiles.available && RealModels.runsHere(RealModels.qwen) && OpenAIClientScript.available,
            RealModels.cannotRunReason(RealModels.qwen)))
    func greedyChatEqualsLlamaServerAndHangingUpFreesTheSlots() async throws {
        let server = try await ServeProcess(["--model", RealModels.path(RealModels.qwen), "--alias", "qwen", "--ctx-size", "1024"])
        let script = try await OpenAIClientScript.run([
            "--base-url", server.baseURL, "--model", "qwen", "--golden", SharedFiles.path("golden/chat-real.json"), "golden", "cancel",
        ])
        let output = await server.stop()
        #expect(script.status == 0, "\(script.stdout)\n\(script.stderr)")
        #expect(output.status == 0, "\(output.stderr)")
    }

    @Test(.enabled(if: SharedFiles.available && RealModels.runsHere(RealModels.qwen), RealModels.cannotRunReason(RealModels.qwen)))
    func sigtermLetsTheRequestInFlightFinishAndExitsZero() async throws {
        // A grace long enough for the request whatever the machine's load: this test is about the
        // request finishing; the next one is about the grace running out.
        let server = try await ServeProcess(["--model", RealModels.path(RealModels.qwen), "--alias", "qwen", "--ctx-size", "512", "--shutdown-grace", "600"])
        let url = server.baseURL + "/v1/chat/completions"
        let request = Task {
            try await httpRequest(
                url, method: "POST",
                json: #"{"messages":[{"role":"user","content":"Count from 1 to 10."}],"max_tokens":24,"temperature":0}"#)
        }
        // Once the sequence is generating, SIGTERM.
        var generating = false
        for _ in 0..<600 where !generating {
            let metrics = try await httpRequest(server.baseURL + "/metrics")
            generating = metrics.body.contains("smallmind_active_sequences 1")
            if !generating { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(generating)
        let output = await server.stop()
        let response = try await request.value
        #expect(output.status == 0, "\(output.stderr)")
        #expect(response.status == 200, "\(response.body)")
        #expect(response.body.contains(#""completion_tokens":24"#) || response.body.contains(#""finish_reason":"stop""#), "\(response.body)")
    }

    @Test(.enabled(if: SharedFiles.available && RealModels.runsHere(RealModels.qwen), RealModels.cannotRunReason(RealModels.qwen)))
    func pastTheGracePeriodTheRestIsCancelledAndTheExitIsStillZero() async throws {
        let server = try await ServeProcess(["--model", RealModels.path(RealModels.qwen), "--ctx-size", "512", "--shutdown-grace", "0.5"])
        let url = server.baseURL + "/v1/completions"
        let request = Task { try await httpRequest(url, method: "POST", json: #"{"prompt":"Count to 500:","max_tokens":400}"#) }
        var generating = false
        for _ in 0..<600 where !generating {
            generating = try await httpRequest(server.baseURL + "/metrics").body.contains("smallmind_active_sequences 1")
            if !generating { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(generating)
        let output = await server.stop()
        _ = try await request.value
        #expect(output.status == 0, "\(output.stderr)")
        // The request was cut short: its generation ended cancelled, not after 400 tokens.
        #expect(output.stderr.contains("finish_reason=cancelled"), "\(output.stderr)")
    }

    @Test(.enabled(if: BuildProducts.directory != nil, Comment(rawValue: BuildProducts.missing)))
    func aPortInUseIsOneClearLineAndAFailure() async throws {
        let first = try await ServeProcess([])
        let smallmind = try #require(BuildProducts.executable("smallmind"))
        let second = try await run(smallmind, ["serve", "--port", String(first.port)])
        _ = await first.stop()
        #expect(second.status == 1)
        let errorLines = second.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errorLines == ["error: cannot listen on 127.0.0.1:\(first.port): the address is already in use"], "\(second.stderr)")
    }

    @Test(.enabled(if: BuildProducts.directory != nil, Comment(rawValue: BuildProducts.missing)))
    func sigtermWhenIdleExitsZero() async throws {
        let server = try await ServeProcess([])
        let health = try await httpRequest(server.baseURL + "/health")
        #expect(health.status == 200)
        let output = await server.stop()
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.contains("stopped"))
    }

    /// The demo model's 64-character context cannot hold ChatML's markers: a compact template.
    static func compactTemplate() throws -> String {
        let file = try temporaryFolder().appendingPathComponent("compact.jinja")
        try Data("{% for m in messages %}{{ m['role'][0] }}:{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}a:{% endif %}".utf8)
            .write(to: file)
        return file.path
    }
}
