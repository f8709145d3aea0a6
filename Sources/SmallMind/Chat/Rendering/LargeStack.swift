#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Runs parsing and rendering on a thread of their own with a 16 MiB stack, and waits for it.
///
/// Templates are recursive programs (nested blocks, expressions, macros calling macros) and
/// come from model files. The engine bounds every recursion (JinjaParser.maximumNesting,
/// JinjaRenderer.Limits), but the stack those bounds need depends on the build (a debug frame is
/// several times a release one) and the caller's stack can be as small as 512 KiB (macOS
/// secondary threads, Swift concurrency's pool there). A stack of known size makes the bounds a
/// guarantee: the deepest template they allow needs a few MiB in a debug build. Starting a thread
/// costs some tens of microseconds; if one cannot be started, the work runs on the caller's.
enum LargeStack {
    static let size = 16 << 20

    static func run<T>(_ body: () throws(ChatTemplateError) -> T) throws(ChatTemplateError) -> T {
        var result: Result<T, ChatTemplateError>?
        withoutActuallyEscaping(body) { body in
            let job = LargeStackJob { result = Result { () throws(ChatTemplateError) -> T in try body() } }
            if !job.runOnLargeStack() { job.work() }
        }
        guard let result else { preconditionFailure("the large-stack job did not run") }
        return try result.get()
    }
}

/// The work handed to the thread. `@unchecked Sendable`: the starting thread touches the job
/// (and what its closure captured) only before `pthread_create` and after `pthread_join`, which
/// order those accesses with the worker's.
private final class LargeStackJob: @unchecked Sendable {
    let work: () -> Void

    init(_ work: @escaping () -> Void) { self.work = work }

    /// False when no thread could be started (the caller then runs the work itself).
    func runOnLargeStack() -> Bool {
        var attributes = pthread_attr_t()
        guard pthread_attr_init(&attributes) == 0 else { return false }
        defer { pthread_attr_destroy(&attributes) }
        guard pthread_attr_setstacksize(&attributes, LargeStack.size) == 0 else { return false }
        let context = Unmanaged.passUnretained(self).toOpaque()
        return withExtendedLifetime(self) {
            #if canImport(Darwin)
            var thread: pthread_t?
            let status = pthread_create(&thread, &attributes, { raw in
                Unmanaged<LargeStackJob>.fromOpaque(raw).takeUnretainedValue().work()
                return nil
            }, context)
            guard status == 0, let thread else { return false }
            pthread_join(thread, nil)
            #else
            var thread = pthread_t()
            let status = pthread_create(&thread, &attributes, { raw in
                if let raw { Unmanaged<LargeStackJob>.fromOpaque(raw).takeUnretainedValue().work() }
                return nil
            }, context)
            guard status == 0 else { return false }
            pthread_join(thread, nil)
            #endif
            return true
        }
    }
}
