// Builds a server around the demo model and talks to it: Hummingbird's live test client for
// ordinary requests, and a raw socket for what that client cannot do (hang up mid-stream, send
// requests side by side).
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOHTTP1
import Logging
import SmallMind
import Testing

@testable import SmallMindServer

enum TestServer {
    static let model: Model = Model.demo()
    /// The demo model's context is 64 characters: ChatML's markers alone would fill it, so the
    /// tests render chats with a compact template — "u:Hi\na:".
    static let template: ChatTemplate = try! ChatTemplate(
        source: "{% for m in messages %}{{ m['role'][0] }}:{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}a:{% endif %}")

    static func make(
        model: Model = model, apiKey: String? = nil, maxBatch: Int = 4, queueLimit: Int = 16, contextLength: Int? = nil,
        maxBodyBytes: Int = 1 << 20
    ) throws -> OpenAIServer {
        let engine = try Engine(
            model: model, options: EngineOptions(maxBatch: maxBatch, contextLength: contextLength, queueLimit: queueLimit, threads: 1))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return OpenAIServer(
            engine: engine, template: template,
            configuration: ServerConfiguration(port: 0, apiKey: apiKey, alias: "demo", maxBodyBytes: maxBodyBytes), logger: logger)
    }
}

/// The real Qwen model (../shared/tools/fetch_real_models.sh puts it there), for the tests that
/// need a generation to last long enough to hang up in the middle of it: the demo model writes its
/// whole 64-token context in milliseconds. Absent: those tests skip.
enum SlowModel {
    static let path: String = {
        let directory = ProcessInfo.processInfo.environment["SMALLMIND_MODELS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/smallmind/models").path
        return (directory as NSString).appendingPathComponent("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    }()
    static var available: Bool { FileManager.default.fileExists(atPath: path) }
    static let skipReason: Comment = "needs the real Qwen 2.5 Coder 0.5B model (../shared/tools/fetch_real_models.sh); skipped"
    static func load() throws -> Model { try Model.load(path: path, tokenizerPath: nil) }
}

/// A response as the tests read it.
struct Reply: Sendable {
    var status: HTTPResponse.Status
    /// Header names lowercased.
    var headers: [String: String]
    var text: String

    var json: [String: Any] { parse(text) }
    /// OpenAI's error object.
    var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
    func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The `data:` payloads of an SSE body, in order (comments, which clients skip, left out).
    var events: [String] {
        text.components(separatedBy: "\n\n").filter { !$0.isEmpty && !$0.hasPrefix(":") }.map { event in
            event.hasPrefix("data: ") ? String(event.dropFirst(6)) : "<not data: \(event)>"
        }
    }
}

// Requests go through AsyncHTTPClient with a deadline of minutes rather than the testing client's
// own 15 s: the whole suite runs its tests side by side on two cores, and a request's answer can
// wait that long for a thread. The deadline bounds a hang; it measures nothing.
extension TestClientProtocol {
    func post(_ uri: String, json: String, headers: [String: String] = [:]) async throws -> Reply {
        try await send(uri, method: .POST, body: ByteBuffer(string: json), headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a })
    }

    func post(_ uri: String, bytes: ByteBuffer) async throws -> Reply {
        try await send(uri, method: .POST, body: bytes, headers: ["Content-Type": "application/json"])
    }

    func get(_ uri: String, headers: [String: String] = [:]) async throws -> Reply {
        try await send(uri, method: .GET, body: nil, headers: headers)
    }

    private func send(_ uri: String, method: NIOHTTP1.HTTPMethod, body: ByteBuffer?, headers: [String: String]) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port!)\(uri)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await HTTPClient.shared.execute(request, timeout: .minutes(5))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        var fields: [String: String] = [:]
        for (name, value) in response.headers { fields[name.lowercased()] = value }
        return Reply(status: HTTPResponse.Status(code: Int(response.status.code)), headers: fields, text: String(buffer: bytes))
    }
}

func parse(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
}

/// A bare HTTP/1.1 connection on loopback, for hanging up mid-response.
final class RawConnection {
    let socket: Int32

    init(port: Int) throws {
        #if canImport(Darwin)
        socket = Foundation.socket(AF_INET, SOCK_STREAM, 0)
        #else
        socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    func send(post path: String, json: String) {
        let request = "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)"
        #if canImport(Darwin)
        let flags: Int32 = 0
        #else
        let flags = Int32(MSG_NOSIGNAL)  // a closed peer is an error return, not SIGPIPE
        #endif
        _ = request.withCString { Foundation.send(socket, $0, strlen($0), flags) }
    }

    /// Reads until `needle` has arrived (or the peer closes, or ten minutes pass); returns
    /// everything read. The socket does not block: a blocked read would hold one of the few
    /// threads that the in-process server needs to answer it.
    func read(until needle: String) async -> String {
        _ = fcntl(socket, F_SETFL, fcntl(socket, F_GETFL) | O_NONBLOCK)
        var received = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + .seconds(600)
        while !String(decoding: received, as: UTF8.self).contains(needle), ContinuousClock.now < deadline {
            let n = recv(socket, &chunk, chunk.count, 0)
            if n > 0 {
                received += chunk[0..<n]
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try? await Task.sleep(for: .milliseconds(10))
            } else {
                break
            }
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() { _ = Foundation.close(socket) }
}

/// Polls `condition` every 20 ms for at most `seconds` (a bound on waiting, not a timed assertion).
func eventually(within seconds: Double, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}
