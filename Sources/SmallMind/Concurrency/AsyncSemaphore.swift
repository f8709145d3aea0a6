// A counting semaphore whose waiters suspend instead of blocking a thread. Swift's cooperative
// pool has one thread per core (two here): a borrower that blocked a thread while waiting for a
// model context would take a core away from the generation it is waiting for, and with more
// waiters than threads nothing could run at all. Waiters are served first come, first served.

/// A counting semaphore for async code: `wait()` suspends (never blocks) until a permit is free.
final class AsyncSemaphore: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var permits: Int
        var waiters: [Waiter] = []   // FIFO; short, so removing from the front is cheap enough
        var nextID: UInt64 = 0
    }

    private let state: Locked<State>

    init(permits: Int) {
        precondition(permits >= 0, "a semaphore needs 0 or more permits")
        state = Locked(State(permits: permits))
    }

    /// Takes a permit, suspending until one is free. Throws `CancellationError` if the task is
    /// cancelled before it gets one (it then holds no permit).
    func wait() async throws {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { s in
                    // Checked under the lock: a cancellation handler that ran before we got here
                    // found no waiter to remove, so this is where such a cancellation is seen.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if s.permits > 0 {
                        s.permits -= 1
                        return .success(())
                    }
                    s.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let removed = state.withLock { s -> Waiter? in
                guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiters.remove(at: i)
            }
            removed?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Returns a permit, handing it straight to the longest waiter if there is one.
    func signal() {
        let next = state.withLock { s -> Waiter? in
            if s.waiters.isEmpty {
                s.permits += 1
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.continuation.resume()
    }

    /// Permits free right now (for tests and diagnostics).
    var availablePermits: Int { state.withLock { $0.permits } }
    /// Tasks suspended in `wait()` right now.
    var waiterCount: Int { state.withLock { $0.waiters.count } }
}
