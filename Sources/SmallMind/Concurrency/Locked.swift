// A value behind a lock, for the little shared bookkeeping the concurrency patterns need (counts,
// idle contexts, waiting continuations). Critical sections are a few instructions and never await,
// so a plain mutex is cheaper and simpler than an actor hop.
import Foundation

/// A value that is only read or written while holding its lock. Shared with the CLI layer, which
/// needs the same small bookkeeping (progress state, signal handling).
public final class Locked<Value>: @unchecked Sendable {
    // @unchecked: every access to `value` goes through `withLock`.
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    @discardableResult
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    /// A copy of the value as it is now.
    public var current: Value { withLock { $0 } }
}
