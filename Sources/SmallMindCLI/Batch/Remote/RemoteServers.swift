// The servers a remote batch sends its requests to (`smallmind batch --server URL …`): running
// `smallmind serve` instances, or a proxy such as nginx in front of them. Each request goes to
// the least busy usable server (ServerPool); a request that gets no usable answer — the
// connection refused or cut (a server killed mid-generation), 429, 5xx — is tried again on
// another server, up to RetryPolicy's limit. Requests are seeded and the engine's results do not
// depend on what else runs, so a request tried again gives the same answer.
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SmallMind

/// An HTTP client for a batch's servers.
public final class RemoteServers: Sendable {
    /// The servers' base URLs, without a trailing slash.
    public let urls: [String]
    public let pool: ServerPool
    private let apiKey: String?
    private let client: HTTPClient

    /// How one request ended after its retries.
    public enum Outcome: Sendable, Equatable {
        /// A server's answer: 2xx, or a final error status (4xx but 429).
        case answered(status: Int, body: [UInt8])
        /// No usable answer after every try; says why.
        case gaveUp(String)
    }

    public init(urls: [String], apiKey: String?, perServer: Int, policy: RetryPolicy = RetryPolicy()) {
        self.urls = urls.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.apiKey = apiKey
        pool = ServerPool(count: urls.count, perServer: perServer, policy: policy)
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5)))
        // Every slot needs its own connection (generation responses end theirs).
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, perServer))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the connections; call once, when done.
    public func shutdown() async { try? await client.shutdown() }

    /// POSTs `body` (JSON) to `path`, retrying on other servers as the file comment says. Throws
    /// only `CancellationError`.
    public func post(_ path: String, body: [UInt8]) async throws -> Outcome {
        var avoiding: Set<Int> = []
        var lastProblem = ""
        for _ in 0..<pool.policy.maxAttempts {
            let server = try await pool.acquire(avoiding: avoiding)
            let attempt: Attempt
            do {
                attempt = try await send(path, body: body, to: server)
            } catch {
                pool.release(server, .abandoned)
                throw CancellationError()
            }
            switch attempt {
            case let .answered(status, body, _) where !RetryPolicy.isRetryable(status: status):
                pool.release(server, .answered)
                return .answered(status: status, body: body)
            case let .answered(status, body, retryAfter):
                pool.release(server, .failed(retryAfter: retryAfter))
                lastProblem = "\(urls[server]) answered \(status): \(String(decoding: body.prefix(200), as: UTF8.self))"
            case let .failed(problem):
                pool.release(server, .failed(retryAfter: nil))
                lastProblem = "\(urls[server]): \(problem)"
            }
            avoiding.insert(server)
        }
        return .gaveUp("no server answered after \(pool.policy.maxAttempts) attempts; the last: \(lastProblem)")
    }

    /// The model id the servers serve (GET /v1/models), from the first that answers; several
    /// servers naming different models are refused, since a batch's results must come from one.
    public func modelName() async throws -> String {
        var names: [String: String] = [:], problems: [String] = []
        for (server, url) in urls.enumerated() {
            switch try await send("/v1/models", body: nil, to: server) {
            case .answered(status: 200, body: let body, retryAfter: _):
                let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
                guard let id = ((object?["data"] as? [[String: Any]])?.first?["id"]) as? String else {
                    throw CommandFailure(message: "\(url)/v1/models does not list a model; is it a smallmind serve (or a proxy in front of one)?")
                }
                names[url] = id
            case let .answered(status, body, _):
                let text = String(decoding: body.prefix(300), as: UTF8.self)
                if status == 401 {
                    throw CommandFailure(message: "\(url) refused the API key (401): pass the server's key with --api-key or SMALLMIND_API_KEY")
                }
                problems.append("\(url)/v1/models answered \(status): \(text)")
            case let .failed(problem):
                problems.append("\(url): \(problem)")
            }
        }
        let distinct = Set(names.values)
        guard distinct.count <= 1 else {
            throw CommandFailure(message: "the servers serve different models ("
                + names.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "); a batch needs one model")
        }
        guard let name = distinct.first else {
            throw CommandFailure(message: "no server answered: " + problems.joined(separator: "; "))
        }
        return name
    }

    enum Attempt {
        case answered(status: Int, body: [UInt8], retryAfter: Double?)
        case failed(String)
    }

    /// One request to one server. Throws only `CancellationError`.
    private func send(_ path: String, body: [UInt8]?, to server: Int) async throws -> Attempt {
        var request = HTTPClientRequest(url: urls[server] + path)
        request.method = body == nil ? .GET : .POST
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        do {
            // No deadline on the whole request: a long generation is not a failure. A server that
            // dies ends its connections, which fails the request at once.
            let response = try await client.execute(request, timeout: .hours(24))
            let bytes = try await response.body.collect(upTo: 256 << 20)
            return .answered(
                status: Int(response.status.code), body: Array(bytes.readableBytesView),
                retryAfter: RetryPolicy.retryAfterSeconds(response.headers.first(name: "Retry-After")))
        } catch {
            if Task.isCancelled { throw CancellationError() }
            return .failed("\(error)")
        }
    }
}
