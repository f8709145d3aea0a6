// Authentication, backpressure (429) and cancellation by a client that hangs up.
import Foundation
import Hummingbird
import HummingbirdTesting
import SmallMind
import Testing

@testable import SmallMindServer

struct AccessAndLoadTests {
    @Test func apiKeyGuardsEverythingButHealthAndMetrics() async throws {
        let server = try TestServer.make(apiKey: "sekrit")
        try await server.makeApplication().test(.ahc(.http)) { client in
            let chat = #"{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}"#
            for headers: [String: String] in [[:], ["Authorization": "Bearer wrong"], ["Authorization": "Bearer sekri"], ["Authorization": "sekrit"]] {
                let response = try await client.post("/v1/chat/completions", json: chat, headers: headers)
                #expect(response.status == .unauthorized)
                #expect(response.error["code"] as? String == "invalid_api_key")
            }
            for path in ["/v1/models"] {
                #expect(try await client.get(path).status == .unauthorized)
            }
            #expect(try await client.post("/tokenize", json: #"{"content":"a"}"#).status == .unauthorized)
            #expect(try await client.get("/health").status == .ok)
            #expect(try await client.get("/metrics").status == .ok)
            let allowed = try await client.post("/v1/chat/completions", json: chat, headers: ["Authorization": "Bearer sekrit"])
            #expect(allowed.status == .ok)
            #expect(try await client.get("/v1/models", headers: ["Authorization": "Bearer sekrit"]).status == .ok)
        }
    }

    @Test func constantTimeComparisonIsStillAComparison() {
        typealias M = BearerKeyMiddleware<BasicRequestContext>
        #expect(M.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!M.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!M.constantTimeEqual(Array("ab".utf8), Array("abc".utf8)))
        #expect(!M.constantTimeEqual([], Array("a".utf8)))
        #expect(M.constantTimeEqual([], []))
    }

    @Test(.enabled(if: SlowModel.available, SlowModel.skipReason))
    func beyondTheQueueIs429WithRetryAfter() async throws {
        // One slot, no queue: while the engine generates for someone else, a request is refused.
        let server = try TestServer.make(model: try SlowModel.load(), maxBatch: 1, queueLimit: 0, contextLength: 2048)
        let engine = server.state.engine
        // Submitted here and now (`stream` submits before it returns), not from a task that the
        // suite's busy threads could start late; the generation is long enough to outlast the test.
        let busy = engine.stream("Count to 1000:", GenerationParameters(maxTokens: 2000, temperature: 0))
        #expect(await eventually(within: 600) { engine.load.activeSequences == 1 })
        try await server.makeApplication().test(.ahc(.http)) { client in
            for stream in [false, true] {
                let response = try await client.post("/v1/completions", json: #"{"prompt":"hi","stream":\#(stream)}"#)
                #expect(response.status == .tooManyRequests, "\(response.text)")
                #expect(response.header("Retry-After") == "1")
                #expect(response.error["type"] as? String == "rate_limit_error")
            }
        }
        withExtendedLifetime(busy) {}  // dropping the stream cancels the generation
    }

    @Test(.enabled(if: SlowModel.available, SlowModel.skipReason))
    func clientsThatHangUpMidStreamFreeTheirSlots() async throws {
        let server = try TestServer.make(model: try SlowModel.load(), maxBatch: 3, contextLength: 2048)
        let engine = server.state.engine
        let port = Port()
        try await server.makeApplication(onListening: { await port.set($0) }).test(.ahc(.http)) { client in
            let listening = await port.value
            var connections: [RawConnection] = []
            for _ in 0..<2 {
                let connection = try RawConnection(port: listening)
                connection.send(post: "/v1/completions", json: #"{"prompt":"Count to 1000:","max_tokens":1500,"temperature":0,"stream":true}"#)
                _ = await connection.read(until: "\"text\":\"")  // a token has arrived
                connections.append(connection)
            }
            #expect(engine.load.activeSequences == 2)
            let generatedBefore = engine.statistics.generatedTokens
            for connection in connections { connection.close() }
            // Both sequences leave the engine (a bound on waiting, not a timing: each leaves at its next step).
            #expect(await eventually(within: 600) { engine.load.activeSequences == 0 })
            #expect(engine.statistics.generatedTokens - generatedBefore < 2 * 1400)
            let after = try await client.post("/v1/completions", json: #"{"prompt":"Hello","max_tokens":3}"#)
            #expect(after.status == .ok)
            let metrics = try await client.get("/metrics")
            #expect(metrics.text.contains("smallmind_active_sequences 0"))
        }
    }

    @Test(.enabled(if: SlowModel.available, SlowModel.skipReason))
    func aNonStreamingClientThatHangsUpIsCancelledToo() async throws {
        let server = try TestServer.make(model: try SlowModel.load(), maxBatch: 1, contextLength: 2048)
        let engine = server.state.engine
        let port = Port()
        try await server.makeApplication(onListening: { await port.set($0) }).test(.ahc(.http)) { client in
            let connection = try RawConnection(port: await port.value)
            connection.send(post: "/v1/completions", json: #"{"prompt":"Count to 1000:","max_tokens":1500,"temperature":0}"#)
            #expect(await eventually(within: 600) { engine.statistics.steps > 2 })
            connection.close()
            #expect(await eventually(within: 600) { engine.load.activeSequences == 0 })
            #expect(engine.statistics.generatedTokens < 1400)
        }
    }
}

/// The port a live test server bound.
actor Port {
    private var port: Int?
    func set(_ value: Int) { port = value }
    var value: Int {
        get async {
            while port == nil { try? await Task.sleep(for: .milliseconds(10)) }
            return port!
        }
    }
}
