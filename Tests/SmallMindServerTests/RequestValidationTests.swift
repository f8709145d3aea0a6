// What the server refuses, and how: OpenAI's error JSON with the right status, naming the field.
// Nothing a client sends may crash the process.
import Foundation
import Hummingbird
import HummingbirdTesting
import SmallMind
import Testing

@testable import SmallMindServer

struct RequestValidationTests {
    /// Each body, the status it must get and the `param` the error must name.
    static let refusals: [(body: String, status: Int, param: String?)] = [
        (#"{"messages":"hi"}"#, 400, "messages"),
        (#"{"messages":[{"role":"user","content":"hi"}],"temperature":"hot"}"#, 400, "temperature"),
        (#"{"messages":[{"role":"user","content":"hi"}],"temperature":2.5}"#, 400, "temperature"),
        (#"{"messages":[{"role":"user","content":"hi"}],"top_p":0}"#, 400, "top_p"),
        (#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}"#, 400, "max_tokens"),
        (#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":1.5}"#, 400, "max_tokens"),
        (#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":1e400}"#, 400, "max_tokens"),
        (#"{"messages":[{"role":"user","content":"hi"}],"seed":123456789012345678901234567890}"#, 400, "seed"),
        (#"{"messages":[{"role":"user","content":"hi"}],"n":2}"#, 400, "n"),
        (#"{"messages":[{"role":"user","content":"hi"}],"presence_penalty":0.5}"#, 400, "presence_penalty"),
        (#"{"messages":[{"role":"user","content":"hi"}],"frequency_penalty":-1}"#, 400, "frequency_penalty"),
        (#"{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}"#, 400, "tools"),
        (#"{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}"#, 400, "response_format"),
        (#"{"messages":[{"role":"user","content":"hi"}],"stop":[1,2]}"#, 400, "stop"),
        (#"{"messages":[{"role":"user","content":"hi"}],"stop":""}"#, 400, "stop"),
        (#"{"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":21}"#, 400, "top_logprobs"),
        (#"{"messages":[{"role":"user","content":"hi"}],"stream":"yes"}"#, 400, "stream"),
        (#"{"messages":[]}"#, 400, "messages"),
        (#"{"messages":[{"role":"wizard","content":"hi"}]}"#, 400, "messages"),
        (#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}"#, 400, "messages"),
        (#"{}"#, 400, "messages"),
        (#"{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}"#, 404, "model"),
        (#"{"messages":[{"role":"user","content":"hi"}"#, 400, nil),
        (#"not json at all"#, 400, nil),
        (#"[1,2,3]"#, 400, nil),
    ]

    @Test func badChatRequestsGetOpenAIErrorsNamingTheField() async throws {
        let server = try TestServer.make()
        try await server.makeApplication().test(.ahc(.http)) { client in
            for refusal in Self.refusals {
                let response = try await client.post("/v1/chat/completions", json: refusal.body)
                #expect(Int(response.status.code) == refusal.status, "\(refusal.body) → \(response.text)")
                let error = response.error
                #expect(error["message"] is String && error["type"] is String, "\(response.text)")
                #expect(error.keys.contains("param") && error.keys.contains("code"), "\(response.text)")
                if let param = refusal.param { #expect(error["param"] as? String == param, "\(refusal.body) → \(response.text)") }
            }
            // Unknown fields are ignored; null means absent.
            let fine = try await client.post(
                "/v1/chat/completions", json: #"{"messages":[{"role":"user","content":"hi"}],"max_tokens":2,"whatever":[1,{"a":null}],"temperature":null}"#)
            #expect(fine.status == .ok, "\(fine.text)")
        }
    }

    @Test func badCompletionRequests() async throws {
        let server = try TestServer.make()
        try await server.makeApplication().test(.ahc(.http)) { client in
            for (body, param) in [
                (#"{"prompt":["a","b"]}"#, "prompt"), (#"{"prompt":"a","logprobs":6}"#, "logprobs"), (#"{"prompt":"a","echo":true}"#, "echo"),
                (#"{"prompt":"a","best_of":3}"#, "best_of"), (#"{"prompt":"a","suffix":"z"}"#, "suffix"),
            ] {
                let response = try await client.post("/v1/completions", json: body)
                #expect(response.status == .badRequest, "\(body) → \(response.text)")
                #expect(response.error["param"] as? String == param, "\(body) → \(response.text)")
            }
            // The demo model's alphabet has no 'é': a prompt that does not tokenize is 400, not 500.
            let untokenizable = try await client.post("/v1/completions", json: #"{"prompt":"café"}"#)
            #expect(untokenizable.status == .badRequest, "\(untokenizable.text)")
        }
    }

    @Test func hostileBodiesAre400NotACrash() async throws {
        let server = try TestServer.make()
        try await server.makeApplication().test(.ahc(.http)) { client in
            let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
            let deepObject = #"{"messages":[{"role":"user","content":"hi"}],"x":"# + deep + "}"
            let invalidUTF8 = ByteBuffer(bytes: Array(#"{"prompt":""#.utf8) + [0xFF, 0xFE, 0xC0] + Array(#""}"#.utf8))
            for body in [ByteBuffer(string: deep), ByteBuffer(string: deepObject), invalidUTF8, ByteBuffer(string: "")] {
                let response = try await client.post("/v1/completions", bytes: body)
                #expect(response.status == .badRequest, "\(response.text.prefix(200))")
                #expect(response.error["type"] as? String == "invalid_request_error")
            }
            // Still serving.
            #expect(try await client.get("/health").status == .ok)
        }
    }

    @Test func oversizedBodyIs413() async throws {
        let server = try TestServer.make(maxBodyBytes: 4096)
        try await server.makeApplication().test(.ahc(.http)) { client in
            let big = #"{"prompt":""# + String(repeating: "a", count: 5000) + #""}"#
            let response = try await client.post("/v1/completions", json: big)
            #expect(response.status == .contentTooLarge)
            #expect(response.error["code"] as? String == "request_too_large")
        }
    }

    @Test func unknownPathIs404InOpenAIShape() async throws {
        let server = try TestServer.make()
        try await server.makeApplication().test(.ahc(.http)) { client in
            let response = try await client.post("/v1/embeddings", json: "{}")
            #expect(response.status == .notFound)
            #expect(response.error["message"] as? String != nil)
        }
    }

    @Test func promptLongerThanTheContextIs400NamingBothCounts() async throws {
        let server = try TestServer.make(contextLength: 32)
        try await server.makeApplication().test(.ahc(.http)) { client in
            let long = String(repeating: "a", count: 40)
            for stream in [false, true] {
                let response = try await client.post("/v1/completions", json: #"{"prompt":"\#(long)","stream":\#(stream)}"#)
                #expect(response.status == .badRequest, "\(response.text)")
                let message = response.error["message"] as? String ?? ""
                #expect(message.contains("40") && message.contains("32"), "\(message)")
                #expect(response.error["code"] as? String == "context_length_exceeded")
            }
            // Prompt + max_tokens beyond the context: clamped, finish_reason "length".
            let clamped = try await client.post("/v1/completions", json: #"{"prompt":"\#(String(repeating: "a", count: 30))","max_tokens":100}"#)
            #expect(clamped.status == .ok, "\(clamped.text)")
            let choice = (clamped.json["choices"] as? [[String: Any]])?.first
            #expect(choice?["finish_reason"] as? String == "length")
            #expect((clamped.json["usage"] as? [String: Any])?["completion_tokens"] as? Int ?? 100 < 100)
        }
    }
}
