// Which server takes the next request of a remote batch. Each server has a bounded number of
// requests in flight; the least busy usable server gets the next one. A server that failed is
// avoided for its cooldown (RetryPolicy), then receives a single probe request: only when that
// answers do the others follow, so a dead server costs one request per cooldown rather than a
// slot's worth. An item that failed on a server goes elsewhere while any other server exists.
import Foundation
import SmallMind

/// Slots and health of a batch's servers.
public final class ServerPool: Sendable {
    struct Server: Equatable {
        var inFlight = 0
        /// Failures in a row (0: healthy).
        var failures = 0
        /// Until when (seconds on `now`'s clock) the server is avoided.
        var avoidedUntil = 0.0
        /// Whether the one request allowed while it is unhealthy is out.
        var probing = false
    }

    /// How a request to a server ended, for its health.
    public enum Outcome: Sendable, Equatable {
        /// The server answered (with a result or a final error such as 400).
        case answered
        /// No usable answer: refused connection, reset, 5xx, 429.
        case failed(retryAfter: Double?)
        /// The caller gave up (cancellation): says nothing about the server.
        case abandoned
    }

    public let count: Int
    public let perServer: Int
    public let policy: RetryPolicy
    private let now: @Sendable () -> Double
    private let servers: Locked<[Server]>

    /// `count` servers taking up to `perServer` requests each. `now` is a clock in seconds (tests
    /// move it by hand).
    public init(count: Int, perServer: Int, policy: RetryPolicy = RetryPolicy(), now: @escaping @Sendable () -> Double = ServerPool.uptime) {
        precondition(count >= 1 && perServer >= 1)
        self.count = count
        self.perServer = perServer
        self.policy = policy
        self.now = now
        servers = Locked(Array(repeating: Server(), count: count))
    }

    public static let uptime: @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }

    /// Takes a slot on the least busy usable server, not one of `avoiding` unless every server is
    /// in it; nil when no such server has a slot now.
    public func tryAcquire(avoiding: Set<Int> = []) -> Int? {
        let time = now()
        return servers.withLock { servers -> Int? in
            let allowed = servers.indices.filter { !avoiding.contains($0) }
            let candidates = (allowed.isEmpty ? Array(servers.indices) : allowed).filter { i in
                let s = servers[i]
                return s.inFlight < perServer && (s.failures == 0 || (time >= s.avoidedUntil && !s.probing))
            }
            guard let chosen = candidates.min(by: { (servers[$0].inFlight, $0) < (servers[$1].inFlight, $1) }) else { return nil }
            if servers[chosen].failures > 0 { servers[chosen].probing = true }
            servers[chosen].inFlight += 1
            return chosen
        }
    }

    /// Waits for a slot (see `tryAcquire`). Throws `CancellationError` when the task is cancelled.
    /// Waiting happens only while servers are full or avoided; a short poll keeps this simple.
    public func acquire(avoiding: Set<Int> = []) async throws -> Int {
        while true {
            try Task.checkCancellation()
            if let server = tryAcquire(avoiding: avoiding) { return server }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Gives the slot back, with what the request said about the server's health.
    public func release(_ server: Int, _ outcome: Outcome) {
        let time = now()
        servers.withLock { servers in
            servers[server].inFlight -= 1
            switch outcome {
            case .answered:
                servers[server].failures = 0
                servers[server].probing = false
            case .failed(let retryAfter):
                servers[server].failures += 1
                servers[server].probing = false
                let until = time + policy.cooldown(afterFailures: servers[server].failures, retryAfter: retryAfter)
                servers[server].avoidedUntil = max(servers[server].avoidedUntil, until)
            case .abandoned:
                servers[server].probing = false
            }
        }
    }

    /// Requests in flight per server, for tests and messages.
    public var inFlight: [Int] { servers.withLock { $0.map(\.inFlight) } }
}
