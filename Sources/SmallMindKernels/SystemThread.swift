// An operating-system thread running a closure: the one place that spells pthread_create, for the
// thread pool's workers and the engine's scheduler. Glibc and Darwin import it differently:
//
//   pthread_t       Glibc: an integer            Darwin: a non-null pointer, written through a
//                                                pthread_t? (pthread_create takes pthread_t?*)
//   start routine   Glibc: (void *?) -> void *?  Darwin: (void *) -> void *? (non-optional argument)
//
// The handle differs by platform (`#if canImport(Darwin)`); the start routine is written once,
// reading its argument as an optional, which both signatures accept.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A started thread, joined at most once.
public struct SystemThread: @unchecked Sendable {
    // @unchecked: a thread handle, an integer or an opaque pointer the C library owns; it is only
    // compared (`isCurrent`) and joined.
    private let handle: pthread_t

    /// Starts a thread running `body`. A thread that cannot start (the process is out of threads or
    /// memory) is a precondition failure naming `purpose`: nothing here can run without it.
    public init(_ purpose: String, _ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        #if canImport(Darwin)
        var started: pthread_t?
        #else
        var started = pthread_t()
        #endif
        let status = pthread_create(&started, nil, { argument in
            let context: UnsafeMutableRawPointer? = argument
            Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
        precondition(status == 0, "cannot start \(purpose) (pthread_create returned \(status))")
        #if canImport(Darwin)
        handle = started!
        #else
        handle = started
        #endif
    }

    /// Waits for the thread's closure to return.
    public func join() {
        pthread_join(handle, nil)
    }

    /// Whether the caller runs on this thread.
    public var isCurrent: Bool { pthread_equal(pthread_self(), handle) != 0 }
}

private final class ThreadBody {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}
