// Which operating-system thread is running the caller: the sample shows it next to each result so
// that a reader can see generations really ran on different threads. It must be read inside the
// work itself — a task may start on one thread and resume on another after any `await`.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The current operating-system thread.
public enum ThreadIdentity {
    /// The kernel's id of the calling thread (Linux: the TID that `top -H` and `gettid()` show;
    /// Darwin: `pthread_threadid_np`).
    public static var current: Int {
        #if os(Linux)
        // Glibc's `gettid()` is not visible to Swift; /proc/thread-self links to "PID/task/TID".
        var buffer = [CChar](repeating: 0, count: 64)
        let length = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        if length > 0 {
            let link = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let last = link.split(separator: "/").last, let tid = Int(last) { return tid }
        }
        return Int(bitPattern: UInt(pthread_self()))
        #elseif canImport(Darwin)
        var tid: UInt64 = 0
        pthread_threadid_np(nil, &tid)
        return Int(tid)
        #else
        return 0
        #endif
    }
}
