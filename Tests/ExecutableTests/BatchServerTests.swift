// `smallmind batch --server`: the same job through two or three `smallmind serve` processes on
// loopback gives the lines a local run gives; a server killed mid-job loses nothing; an OpenAI
// Batch file gives the same answers locally and through servers. On stories260K (tiny and real).
import Foundation
import Testing

@Suite(
    "smallmind batch through servers", .serialized,
    .enabled(if: BuildProducts.executable("smallmind") != nil && SharedFiles.available, SharedFiles.skipReason))
struct BatchServerTests {
    let smallmind = BuildProducts.executable("smallmind") ?? ""
    static let model = "stories260K.gguf"

    /// `count` servers of the test model.
    func servers(_ count: Int, _ extra: [String] = []) async throws -> [ServeProcess] {
        var started: [ServeProcess] = []
        for _ in 0..<count { started.append(try await ServeProcess(["--model", SharedFiles.model(Self.model), "--max-batch", "4", "--threads", "1"] + extra)) }
        return started
    }

    static func lines(_ folder: URL, _ name: String = "out.jsonl") -> [String] {
        ((try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    static func objects(_ lines: [String]) throws -> [[String: Any]] {
        try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    /// A line of our own format without its timing, for comparing runs.
    static func withoutTiming(_ line: String) throws -> String {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        object["seconds"] = nil
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// An OpenAI Batch output line without what differs from run to run: the line's id, the
    /// response's request id, the body's id and creation time, and the count of prompt tokens
    /// found cached (it depends on what the KV slots held before: scheduling, not the result).
    static func withoutIdentity(_ line: String) throws -> String {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        object["id"] = nil
        if var response = object["response"] as? [String: Any] {
            response["request_id"] = nil
            if var body = response["body"] as? [String: Any] {
                body["id"] = nil
                body["created"] = nil
                if var usage = body["usage"] as? [String: Any] {
                    usage["prompt_tokens_details"] = nil
                    body["usage"] = usage
                }
                response["body"] = body
            }
            object["response"] = response
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test func sixtyItemsThroughThreeServersGiveTheLocalRunsLines() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Some items set their own settings, stop strings included, so that every finish reason shows.
        var input = (0..<60).map { "Once upon a time, number \($0)" }
        input[7] = #"{"prompt": "Lily went", "stop": ["."], "temperature": 0.5, "top_k": 5}"#
        input[8] = #"{"prompt": "The dog", "max_tokens": 3, "top_p": 0.5, "seed": 99}"#
        input[9] = #"{"prompt": "Tom said", "temperature": 0}"#
        let asJSONLines = input.enumerated().map { $0.element.hasPrefix("{") ? $0.element : #"{"prompt": "\#($0.element)"}"# }
        try (asJSONLines.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("in.jsonl"), atomically: true, encoding: .utf8)
        let common = ["batch", "--input", "in.jsonl", "--max-tokens", "40", "--temperature", "0.9", "--top-k", "40", "--seed", "5"]

        let local = try await run(smallmind, common + ["--output", "local.jsonl", "--model", SharedFiles.model(Self.model)], directory: folder)
        #expect(local.status == 0, "\(local.stderr)")
        let servers = try await servers(3)
        let remote = try await run(
            smallmind, common + ["--output", "remote.jsonl", "--concurrency", "3"] + servers.flatMap { ["--server", $0.baseURL] }, directory: folder)
        var served: [Int] = []
        for server in servers {
            let metrics = try await httpRequest(server.baseURL + "/metrics")
            served.append(metrics.body.split(separator: "\n").filter { $0.hasPrefix("smallmind_http_requests_total{endpoint=\"/v1/completions\",status=\"200\"}") }
                .compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }.reduce(0, +))
            _ = await server.stop()
        }
        #expect(remote.status == 0, "\(remote.stderr)")
        let localLines = Self.lines(folder, "local.jsonl"), remoteLines = Self.lines(folder, "remote.jsonl")
        #expect(localLines.count == 60 && remoteLines.count == 60)
        #expect(try localLines.map(Self.withoutTiming) == remoteLines.map(Self.withoutTiming))
        let reasons = Set(try Self.objects(localLines).compactMap { $0["finish_reason"] as? String })
        #expect(reasons.isSuperset(of: ["length", "stop"]), "\(reasons)")
        // Every server took part.
        #expect(served.count == 3 && served.allSatisfy { $0 > 0 } && served.reduce(0, +) == 60, "\(served)")
        // The progress bar and summary are the local run's.
        #expect(remote.stderr.contains("60/60") && remote.stderr.contains("60 items in "), "\(remote.stderr)")
    }

    @Test func aServerKilledMidJobLosesNothing() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let count = 80
        let requests = (0..<count).map { i in
            #"{"custom_id":"req-\#(i)","method":"POST","url":"/v1/completions","body":{"prompt":"Once upon a time \#(i)","max_tokens":96,"temperature":0.8,"seed":\#(i)}}"#
        }
        try (requests.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("in.jsonl"), atomically: true, encoding: .utf8)
        let servers = try await servers(2)
        let batch = try RunningProcess(
            smallmind, ["batch", "--input", "in.jsonl", "--output", "out.jsonl", "--concurrency", "2", "--quiet"]
                + servers.flatMap { ["--server", $0.baseURL] }, stdin: "", directory: folder)
        // SIGKILL: no chance to finish what it has in flight.
        let victim = servers[0].process
        #expect(await batch.wait(until: { Self.lines(folder).count >= count / 4 }, timeout: 300))
        victim.signal(SIGKILL)
        let killedAt = Self.lines(folder).count
        let output = await batch.finish(timeout: 600)
        _ = await victim.finish()
        _ = await servers[1].stop()
        #expect(killedAt < count, "the job finished before the server was killed; nothing was tested")
        #expect(output.status == 0, "\(output.stderr)")
        let lines = try Self.objects(Self.lines(folder))
        #expect(lines.compactMap { $0["custom_id"] as? String } == (0..<count).map { "req-\($0)" })
        #expect(lines.allSatisfy { $0["error"] is NSNull && ($0["response"] as? [String: Any])?["status_code"] as? Int == 200 })
    }

    @Test func anOpenAIBatchFileGivesTheSameAnswersLocallyAndThroughServers() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let requests = [
            #"{"custom_id":"chat-1","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"system","content":"Tell a story."},{"role":"user","content":"A cat"}],"max_tokens":24,"temperature":0.7,"seed":11}}"#,
            #"{"custom_id":"text-1","method":"POST","url":"/v1/completions","body":{"prompt":"Once upon a time","max_tokens":20,"stop":["."],"logprobs":2}}"#,
            #"{"custom_id":"text-2","method":"POST","url":"/v1/completions","body":{"prompt":"The sun","max_tokens":12,"temperature":1,"top_p":0.9,"seed":4}}"#,
            #"{"custom_id":"too-hot","method":"POST","url":"/v1/completions","body":{"prompt":"x","temperature":9}}"#,
            #"{"custom_id":"broken","method":"GET","url":"/v1/completions","body":{}}"#,
        ]
        try (requests.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("in.jsonl"), atomically: true, encoding: .utf8)

        let local = try await run(smallmind, ["batch", "--input", "in.jsonl", "--output", "local.jsonl", "--model", SharedFiles.model(Self.model)], directory: folder)
        let servers = try await servers(2, ["--api-key", "k3y"])
        let remote = try await run(
            smallmind, ["batch", "--input", "in.jsonl", "--output", "remote.jsonl", "--api-key", "k3y"] + servers.flatMap { ["--server", $0.baseURL] },
            directory: folder)
        // Without the key the servers refuse before anything runs.
        let unauthorised = try await run(smallmind, ["batch", "--input", "in.jsonl", "--server", servers[0].baseURL], directory: folder)
        for server in servers { _ = await server.stop() }

        // Two lines failed (400 and a broken line): status 1, and the message says how to retry.
        for output in [local, remote] {
            #expect(output.status == 1, "\(output.stderr)")
            #expect(output.stderr.contains("2 of 5 items failed; their lines carry an error or a response other than 200"), "\(output.stderr)")
        }
        let localLines = Self.lines(folder, "local.jsonl"), remoteLines = Self.lines(folder, "remote.jsonl")
        #expect(localLines.count == 5)
        #expect(try localLines.map(Self.withoutIdentity) == remoteLines.map(Self.withoutIdentity))
        let objects = try Self.objects(localLines)
        #expect(objects.map { $0["custom_id"] as? String } == ["chat-1", "text-1", "text-2", "too-hot", "broken"])
        let statuses = objects.map { ($0["response"] as? [String: Any])?["status_code"] as? Int }
        #expect(statuses == [200, 200, 200, 400, nil])
        let chat = try #require(((objects[0]["response"] as? [String: Any])?["body"] as? [String: Any]))
        #expect(chat["object"] as? String == "chat.completion" && chat["model"] as? String == Self.model)
        #expect((objects[4]["error"] as? [String: Any])?["code"] as? String == "invalid_batch_line")
        #expect(unauthorised.status == 1 && unauthorised.stderr.contains("refused the API key (401)"), "\(unauthorised.stderr)")

        // A rerun keeps the answers and runs only the two failed lines again.
        let rerun = try await run(smallmind, ["batch", "--input", "in.jsonl", "--output", "local.jsonl", "--model", SharedFiles.model(Self.model)], directory: folder)
        #expect(rerun.stderr.contains("Resuming: 3 of 5 items already in local.jsonl; 2 to go (2 failed before and run again)."), "\(rerun.stderr)")
        #expect(Array(Self.lines(folder, "local.jsonl").prefix(3)) == Array(localLines.prefix(3)))

        // Duplicate custom_ids: refused before anything runs, locally and with servers alike.
        try (requests[1] + "\n" + requests[1] + "\n").write(to: folder.appendingPathComponent("dup.jsonl"), atomically: true, encoding: .utf8)
        let duplicate = try await run(smallmind, ["batch", "--input", "dup.jsonl", "--server", "http://127.0.0.1:9"], directory: folder)
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr == "error: dup.jsonl line 2: custom_id \"text-1\" is already used on line 1; every request needs its own (results are matched to requests by custom_id)\n")
    }

    @Test(arguments: [
        (["--server", "http://127.0.0.1:9", "--model", "m.gguf"], "--model does not go with --server"),
        (["--server", "http://127.0.0.1:9", "--threads", "2"], "--threads does not go with --server"),
        (["--server", "127.0.0.1:9"], "--server must be an http:// or https:// URL, got '127.0.0.1:9'"),
        (["--api-key", "x"], "--api-key goes with --server"),
    ])
    func serverFlagsThatDoNotFitAreOneLine(arguments: [String], message: String) async throws {
        let out = try await run(smallmind, ["batch", "--input", "in.txt"] + arguments)
        #expect(out.status == 64)
        #expect(out.stderr.hasPrefix("error: ") && out.stderr.contains(message), "\(out.stderr)")
    }

    @Test func noServerAnsweringIsOneClearLine() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try "Once\n".write(to: folder.appendingPathComponent("in.txt"), atomically: true, encoding: .utf8)
        let out = try await run(smallmind, ["batch", "--input", "in.txt", "--server", "http://127.0.0.1:9"], directory: folder)
        #expect(out.status == 1)
        #expect(out.stderr.hasPrefix("error: no server answered: http://127.0.0.1:9: "), "\(out.stderr)")
    }

    /// The real Qwen model: every turn of the golden conversations as one chat line (the history
    /// up to it), answered locally and by a server as llama.cpp's llama-server answered it.
    @Test(.enabled(if: RealModels.runsHere(RealModels.qwen), RealModels.cannotRunReason(RealModels.qwen)))
    func qwenChatLinesGiveLlamaServersRepliesLocallyAndThroughAServer() async throws {
        struct Golden: Decodable {
            struct Reply: Decodable { var content: String; var prompt_tokens: Int }
            struct Conversation: Decodable { var system: String?; var user_turns: [String]; var max_tokens: Int; var replies: [Reply] }
            var conversations: [Conversation]
        }
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: SharedFiles.path("golden/chat-real.json"))))
        var requests: [String] = [], expected: [(content: String, promptTokens: Int)] = []
        for (c, conversation) in golden.conversations.enumerated() {
            var messages: [[String: String]] = conversation.system.map { [["role": "system", "content": $0]] } ?? []
            for (turn, user) in conversation.user_turns.enumerated() {
                messages.append(["role": "user", "content": user])
                let body: [String: Any] = ["messages": messages, "max_tokens": conversation.max_tokens, "temperature": 0]
                let line: [String: Any] = ["custom_id": "c\(c)-t\(turn)", "method": "POST", "url": "/v1/chat/completions", "body": body]
                requests.append(String(decoding: try JSONSerialization.data(withJSONObject: line), as: UTF8.self))
                expected.append((conversation.replies[turn].content, conversation.replies[turn].prompt_tokens))
                messages.append(["role": "assistant", "content": conversation.replies[turn].content])
            }
        }
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try (requests.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("in.jsonl"), atomically: true, encoding: .utf8)
        let model = RealModels.path(RealModels.qwen)
        let local = try await run(smallmind, ["batch", "--input", "in.jsonl", "--output", "local.jsonl", "--model", model, "--concurrency", "2"], directory: folder)
        let server = try await ServeProcess(["--model", model, "--max-batch", "2", "--ctx-size", "1024"])
        let remote = try await run(smallmind, ["batch", "--input", "in.jsonl", "--output", "remote.jsonl", "--server", server.baseURL], directory: folder)
        _ = await server.stop()
        #expect(local.status == 0 && remote.status == 0, "\(local.stderr)\n\(remote.stderr)")
        let localLines = Self.lines(folder, "local.jsonl")
        for (a, b) in zip(try localLines.map(Self.withoutIdentity), try Self.lines(folder, "remote.jsonl").map(Self.withoutIdentity)) {
            #expect(a == b)
        }
        let bodies = try Self.objects(localLines).map { try #require(($0["response"] as? [String: Any])?["body"] as? [String: Any]) }
        #expect(bodies.count == expected.count)
        for (body, expected) in zip(bodies, expected) {
            let message = ((body["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
            #expect(message == expected.content)
            #expect((body["usage"] as? [String: Any])?["prompt_tokens"] as? Int == expected.promptTokens)
        }
    }
}
