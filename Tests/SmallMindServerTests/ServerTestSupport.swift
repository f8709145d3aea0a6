// Builds a server around the demo model and talks to it: Hummingbird's live test client for
// ordinary requests, and a raw socket for what that client cannot do (hang up mid-stream, send
// requests side by side).
import Foundation
import Hummingbird
import HummingbirdTesting
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

extension TestClientProtocol {
    func post(_ uri: String, json: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = "application/json"
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: json))
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
    /// OpenAI's error object.
    var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }

    /// The `data:` payloads of an SSE body, in order.
    var events: [String] {
        text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { event in
            event.hasPrefix("data: ") ? String(event.dropFirst(6)) : "<not data: \(event)>"
        }
    }
}

func parse(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
}

/// A bare HTTP/1.1 connection on loopback, for hanging up mid-response.
final class RawConnection {
    let socket: Int32

    init(port: Int) throws {
        socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
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
        _ = request.withCString { Foundation.send(socket, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until `needle` has arrived (or the peer closes); returns everything read.
    func read(until needle: String) -> String {
        var received = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: received, as: UTF8.self).contains(needle) {
            let n = recv(socket, &chunk, chunk.count, 0)
            if n <= 0 { break }
            received += chunk[0..<n]
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
