// OpenAI Batch files in `smallmind batch`: recognising them, their output lines, running them on a
// local model through the server's own request handler, and resuming by custom_id.
import Foundation
import SmallMind
import SmallMindServer
import Testing
@testable import SmallMindCLI

@Suite("smallmind batch: OpenAI Batch input")
struct OpenAIBatchInputTests {
    static func line(_ id: String, _ url: String = "/v1/completions", body: String = #"{"prompt":"Hi","max_tokens":3}"#) -> String {
        #"{"custom_id":"\#(id)","method":"POST","url":"\#(url)","body":\#(body)}"#
    }

    @Test func recognisedByContentAndKeptInOrder() throws {
        let text = [Self.line("b"), "", Self.line("a", "/v1/chat/completions", body: #"{"messages":[{"role":"user","content":"Hi"}]}"#)]
            .joined(separator: "\n")
        let items = try BatchInput.parse(text, defaults: GenerationParameters(), source: "in.jsonl")
        #expect(items.map(\.request?.customID) == ["b", "a"])
        #expect(items.map(\.index) == [0, 1])
        #expect(items.map(\.line) == [1, 3])
        #expect(items.map(\.request?.url) == ["/v1/completions", "/v1/chat/completions"])
        #expect(items.allSatisfy { $0.request?.problem == nil })
        let body = try #require(try JSONSerialization.jsonObject(with: Data(items[0].request!.body)) as? [String: Any])
        #expect(body["prompt"] as? String == "Hi" && body["max_tokens"] as? Int == 3)
        // Our own JSON Lines and text stay what they were.
        #expect(try BatchInput.parse(#"{"prompt":"x"}"#, defaults: GenerationParameters(), source: "t").first?.request == nil)
        #expect(try BatchInput.parse("custom_id", defaults: GenerationParameters(), source: "t").first?.prompt == "custom_id")
    }

    @Test(arguments: [
        ("not json", "the line is not a JSON object"),
        (#"{"method":"POST","url":"/v1/completions","body":{}}"#, "\"custom_id\" must be present"),
        (#"{"custom_id":"x","method":"GET","url":"/v1/completions","body":{}}"#, "\"method\" must be \"POST\""),
        (#"{"custom_id":"x","method":"POST","url":"/v1/embeddings","body":{}}"#, "\"url\" must be \"/v1/chat/completions\" or \"/v1/completions\""),
        (#"{"custom_id":"x","method":"POST","url":"/v1/completions","body":[1]}"#, "\"body\" must be a JSON object"),
        (#"{"custom_id":"x","method":"POST","url":"/v1/completions","body":{"prompt":"a","stream":true}}"#, "\"stream\": true is not supported"),
    ])
    func aLineThatCannotBeSentCarriesItsProblem(line: String, problem: String) throws {
        let items = try BatchInput.parse(Self.line("first") + "\n" + line, format: .openai, defaults: GenerationParameters(), source: "in.jsonl")
        #expect(items.count == 2)
        #expect(items[1].request?.problem?.contains(problem) == true, "\(String(describing: items[1].request?.problem))")
    }

    @Test func duplicateCustomIDsAreRefusedUpFront() {
        let text = [Self.line("a"), Self.line("b"), Self.line("a")].joined(separator: "\n")
        let error = #expect(throws: CommandFailure.self) { try BatchInput.parse(text, defaults: GenerationParameters(), source: "in.jsonl") }
        #expect(error?.description == "in.jsonl line 3: custom_id \"a\" is already used on line 1; every request needs its own (results are matched to requests by custom_id)")
    }
}

@Suite("smallmind batch: OpenAI Batch output lines")
struct OpenAIBatchResultTests {
    @Test func aResponseLineEmbedsTheBodyAsItCame() throws {
        let body = Array(#"{"choices":[{"text":"a/b"}],"id":"cmpl-1","usage":{"completion_tokens":7}}"#.utf8)
        let line = OpenAIBatchResult(index: 0, customID: "q\"1", status: 200, body: body)
        #expect(line.jsonLine.hasPrefix(#"{"id":"batch_req_"#))
        #expect(line.jsonLine.hasSuffix(#","custom_id":"q\"1","response":{"status_code":200,"request_id":"cmpl-1","body":{"choices":[{"text":"a/b"}],"id":"cmpl-1","usage":{"completion_tokens":7}}},"error":null}"# + "\n"))
        #expect(!line.isFailure && line.generatedTokens == 7)
        let summary = try #require(OpenAIBatchResult.summary(of: Data(line.jsonLine.utf8)))
        #expect(summary.customID == "q\"1" && summary.succeeded)
    }

    @Test func anErrorStatusIsAnAnswerButAFailure() throws {
        let line = OpenAIBatchResult(index: 0, customID: "x", status: 400, body: Array(#"{"error":{"message":"bad"}}"#.utf8))
        #expect(line.isFailure && line.generatedTokens == 0)
        #expect(line.jsonLine.contains(#""response":{"status_code":400,"request_id":"req_"#))
        #expect(OpenAIBatchResult.summary(of: Data(line.jsonLine.utf8))?.succeeded == false)
    }

    @Test func aLineWithoutAnAnswerHasAnError() throws {
        let line = OpenAIBatchResult(index: 3, customID: nil, errorCode: "invalid_batch_line", message: "input line 4: bad")
        #expect(line.jsonLine.hasSuffix(#","custom_id":null,"response":null,"error":{"code":"invalid_batch_line","message":"input line 4: bad"}}"# + "\n"))
        #expect(line.isFailure)
        let summary = try #require(OpenAIBatchResult.summary(of: Data(line.jsonLine.utf8)))
        #expect(summary.customID == nil && !summary.succeeded)
    }

    @Test func aBodyThatIsNotJSONIsEmbeddedAsAString() {
        #expect(OpenAIBatchResult.embedded(Array("<html>\nbad gateway</html>".utf8)) == #""<html>\nbad gateway</html>""#)
        #expect(OpenAIBatchResult.embedded(Array(#"{"a":1}"#.utf8)) == #"{"a":1}"#)
    }
}

@Suite("smallmind batch: OpenAI Batch on a local model")
struct OpenAIBatchLocalTests {
    /// The demo model's 64-character context cannot hold ChatML's markers: a compact template.
    static func handler() throws -> OpenAIRequestHandler {
        let template = try ChatTemplate(
            source: "{% for m in messages %}{{ m['role'][0] }}:{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}a:{% endif %}")
        let engine = try Engine(model: Model.demo(), options: EngineOptions(maxBatch: 4, threads: 1))
        return OpenAIRequestHandler(engine: engine, template: template, alias: "demo")
    }

    static let input = [
        #"{"custom_id":"c1","method":"POST","url":"/v1/completions","body":{"prompt":"The sky","max_tokens":5,"temperature":0.8,"seed":3}}"#,
        #"{"custom_id":"chat","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"Hi"}],"max_tokens":4}}"#,
        #"{"custom_id":"hot","method":"POST","url":"/v1/completions","body":{"prompt":"x","temperature":5}}"#,
        #"{"custom_id":"other","method":"POST","url":"/v1/completions","body":{"prompt":"x","model":"gpt-4o"}}"#,
        "{not json",
    ].joined(separator: "\n")

    @Test func linesAreAnsweredAsTheServerAnswersThem() async throws {
        let items = try BatchInput.parse(Self.input, defaults: GenerationParameters(), source: "in.jsonl")
        let handler = try Self.handler()
        let sink = MemorySink()
        let summary = try await BatchRun.run(items, concurrency: 3, sink: sink, execute: BatchExecution.local(handler: handler))
        #expect(summary.finished == 5 && summary.failed == 3)
        let lines = Dictionary(uniqueKeysWithValues: sink.lines.current.map { ($0.index, $0 as! OpenAIBatchResult) })

        // A completion: the same text as the engine gives the same request, in the server's body.
        let body = try #require(try JSONSerialization.jsonObject(with: Data(lines[0]!.response!.body)) as? [String: Any])
        let expected = try await handler.engine.generate(
            "The sky", GenerationParameters(maxTokens: 5, temperature: 0.8, topP: 1, seed: 3, parseSpecialTokens: true))
        #expect((body["choices"] as? [[String: Any]])?.first?["text"] as? String == expected.continuation)
        #expect(body["object"] as? String == "text_completion" && body["model"] as? String == "demo")
        #expect(lines[0]!.response?.requestID == body["id"] as? String)
        // A chat body goes through the chat template.
        let chat = try #require(try JSONSerialization.jsonObject(with: Data(lines[1]!.response!.body)) as? [String: Any])
        #expect(chat["object"] as? String == "chat.completion")
        let chatExpected = try await handler.engine.generate("u:Hi\na:", GenerationParameters(maxTokens: 4, topP: 1, parseSpecialTokens: true))
        let message = (chat["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any]
        #expect(message?["content"] as? String == chatExpected.continuation)
        // The server's validation: 400 naming the field, 404 for another model; a broken line is an error.
        #expect(lines[2]!.response?.statusCode == 400)
        #expect(String(decoding: lines[2]!.response!.body, as: UTF8.self).contains(#""param":"temperature""#))
        #expect(lines[3]!.response?.statusCode == 404)
        #expect(lines[4]!.response == nil && lines[4]!.error?.code == "invalid_batch_line")
    }

    @Test func resumingKeepsTheAnswersAndRunsTheRestAgainInInputOrder() async throws {
        let items = try BatchInput.parse(Self.input, defaults: GenerationParameters(), source: "in.jsonl")
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.jsonl").path
        // The file is closed (its lock released) at the end of the block, as when a process exits.
        do {
            let file = try BatchOutputFile(path: path, items: items, model: "demo")
            _ = try await BatchRun.run(items, concurrency: 3, sink: file, execute: BatchExecution.local(handler: try Self.handler()))
            try file.sortByIndex()
        }
        let first = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let ids = first.map { OpenAIBatchResult.summary(of: Data($0.utf8))?.customID }
        #expect(ids == ["c1", "chat", "hot", "other", nil])

        do {
            let reopened = try BatchOutputFile(path: path, items: items, model: "demo")
            #expect(Set(reopened.existing.keys) == [0, 1])
            #expect(reopened.retrying == [2, 3])
            #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init) == Array(first.prefix(2)))
        }

        // A file from another input is refused, not mixed.
        let otherItems = try BatchInput.parse(OpenAIBatchInputTests.line("zzz"), defaults: GenerationParameters(), source: "in.jsonl")
        let error = #expect(throws: CommandFailure.self) { _ = try BatchOutputFile(path: path, items: otherItems, model: "demo") }
        #expect(error?.description.contains("(custom_id \"c1\") is not a request of the input") == true, "\(String(describing: error))")
    }
}

@Suite("smallmind batch --server: retries and server choice")
struct RemoteBatchPolicyTests {
    @Test func backOffDoublesUpToItsLimitAndHonoursRetryAfter() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: 0.5, maxDelay: 10, maxRetryAfter: 120)
        #expect((1...7).map { policy.cooldown(afterFailures: $0, retryAfter: nil) } == [0.5, 1, 2, 4, 8, 10, 10])
        #expect(policy.cooldown(afterFailures: 1, retryAfter: 3) == 3)
        #expect(policy.cooldown(afterFailures: 5, retryAfter: 3) == 8)
        #expect(policy.cooldown(afterFailures: 1, retryAfter: 1e9) == 120)
        #expect(RetryPolicy.retryAfterSeconds("2") == 2)
        #expect(RetryPolicy.retryAfterSeconds(" 1.5 ") == 1.5)
        #expect(RetryPolicy.retryAfterSeconds("Wed, 21 Oct 2026 07:28:00 GMT") == nil)
        #expect(RetryPolicy.retryAfterSeconds("-1") == nil)
    }

    @Test(arguments: [(429, true), (500, true), (502, true), (503, true), (504, true), (200, false), (400, false), (401, false), (404, false), (413, false)])
    func whichAnswersAreTriedAgain(status: Int, retried: Bool) {
        #expect(RetryPolicy.isRetryable(status: status) == retried)
    }

    @Test func theLeastBusyServerWithASlotGetsTheNextRequest() {
        let pool = ServerPool(count: 2, perServer: 2, now: { 0 })
        #expect(pool.tryAcquire() == 0)
        #expect(pool.tryAcquire() == 1)
        #expect(pool.tryAcquire() == 0)
        #expect(pool.tryAcquire() == 1)
        #expect(pool.tryAcquire() == nil)  // every slot taken
        pool.release(1, .answered)
        #expect(pool.tryAcquire() == 1)
        #expect(pool.inFlight == [2, 2])
    }

    @Test func aFailedServerIsAvoidedForItsCooldownThenProbedOnce() {
        let clock = ManualClock()
        let pool = ServerPool(count: 2, perServer: 4, policy: RetryPolicy(baseDelay: 1, maxDelay: 8), now: clock.read)
        let a = pool.tryAcquire(), b = pool.tryAcquire()
        #expect((a, b) == (0, 1))
        pool.release(0, .failed(retryAfter: nil))  // server 0 is avoided for 1 s
        #expect([pool.tryAcquire(), pool.tryAcquire(), pool.tryAcquire()] == [1, 1, 1])
        #expect(pool.tryAcquire() == nil)  // server 1 is full, server 0 still avoided
        clock.advance(1)
        #expect(pool.tryAcquire() == 0)  // the one probe
        #expect(pool.tryAcquire() == nil)  // no second request while the probe is out
        pool.release(0, .failed(retryAfter: nil))  // second failure in a row: 2 s
        clock.advance(1.5)
        #expect(pool.tryAcquire() == nil)
        clock.advance(0.5)
        #expect(pool.tryAcquire() == 0)
        pool.release(0, .answered)  // back: every slot usable again
        #expect([pool.tryAcquire(), pool.tryAcquire()] == [0, 0])
    }

    @Test func anItemGoesToAnotherServerThanTheOnesItFailedOn() {
        let pool = ServerPool(count: 3, perServer: 4, now: { 0 })
        #expect(pool.tryAcquire(avoiding: [0]) == 1)
        #expect(pool.tryAcquire(avoiding: [0, 1]) == 2)
        // A server it failed on is used again only once it has failed on all of them.
        #expect(pool.tryAcquire(avoiding: [0, 1, 2]) == 0)
        for _ in 0..<6 { #expect(pool.tryAcquire(avoiding: [1]) != 1) }
        // Servers 0 and 2 are full for an item that avoids 1: it waits rather than going back.
        #expect(pool.inFlight == [4, 1, 4])
        #expect(pool.tryAcquire(avoiding: [1]) == nil)
    }

    @Test func ourItemsAreSentWithEverySettingExplicit() throws {
        var parameters = GenerationParameters(maxTokens: 7, temperature: 0.8, topK: 20, topP: 0.9, seed: UInt64.max, stop: ["\n", "\""])
        parameters.parseSpecialTokens = true
        let item = BatchItem(index: 0, prompt: "Say \"hi\"", parameters: parameters, line: 1)
        let body = String(decoding: RemoteCompletion.body(for: item), as: UTF8.self)
        #expect(body == #"{"prompt":"Say \"hi\"","max_tokens":7,"temperature":0.8,"top_k":20,"top_p":0.9,"seed":-1,"stop":["\n","\""]}"#)
    }

    @Test(arguments: [("stop", nil as String?, "eos"), ("stop", "\n", "stop"), ("length", nil, "length")])
    func finishReasonsComeBackAsALocalRunNamesThem(openAI: String, stopReason: String?, ours: String) {
        #expect(RemoteCompletion.finishReason(openAI: openAI, stopReason: stopReason) == ours)
    }

    @Test func anAnswerBecomesTheLineALocalRunWrites() throws {
        let item = BatchItem(index: 4, prompt: "Once", parameters: .greedy(maxTokens: 3), line: 5)
        let body = #"{"choices":[{"finish_reason":"length","index":0,"logprobs":null,"stop_reason":null,"text":" upon a"}],"id":"cmpl-x","model":"m.gguf","usage":{"completion_tokens":3,"prompt_tokens":2,"total_tokens":5}}"#
        let record = RemoteCompletion.record(item, .answered(status: 200, body: Array(body.utf8)), seconds: 0.5, model: "m.gguf")
        let completion = Completion(prompt: "Once", continuation: " upon a", promptTokens: [1, 2], tokens: [3, 4, 5], finishReason: .length,
            timings: GenerationTimings(promptSeconds: 0.5))
        #expect(record == BatchRecord(index: 4, prompt: "Once", completion: completion, model: "m.gguf", parameters: item.parameters))
        let refused = RemoteCompletion.record(item, .answered(status: 400, body: Array(#"{"error":{"message":"bad top_p"}}"#.utf8)), seconds: 0, model: "m")
        #expect(refused.error == "the server answered 400: bad top_p" && refused.text == nil)
        let gaveUp = RemoteCompletion.record(item, .gaveUp("no server answered"), seconds: 0, model: "m")
        #expect(gaveUp.error == "no server answered" && gaveUp.isFailure)
    }
}
