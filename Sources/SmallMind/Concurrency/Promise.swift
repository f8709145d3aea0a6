/// A value that arrives later, fulfilled once (later fulfilments are ignored) and awaited by any
/// number of tasks.
final class Promise<Value: Sendable>: Sendable {
    private struct State {
        var result: Result<Value, any Error>?
        var waiters: [CheckedContinuation<Value, any Error>] = []
    }

    private let state = Locked(State())

    /// Sets the result and wakes every waiter; returns false if a result was already set.
    @discardableResult
    func fulfil(_ result: Result<Value, any Error>) -> Bool {
        let waiters = state.withLock { s -> [CheckedContinuation<Value, any Error>]? in
            guard s.result == nil else { return nil }
            s.result = result
            defer { s.waiters = [] }
            return s.waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(with: result) }
        return true
    }

    /// The result, once there is one.
    var value: Value {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let ready = state.withLock { s -> Result<Value, any Error>? in
                    if let result = s.result { return result }
                    s.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        }
    }

    var isFulfilled: Bool { state.withLock { $0.result != nil } }
}
