// How a batch spread over servers copes with failures: which answers are worth another try, how
// many tries an item gets, and how long a server that failed is left alone. Deterministic — no
// jitter: the batch is the only client that matters here, and a fixed schedule is testable.
import Foundation

/// Retry and back-off rules for remote batch requests.
public struct RetryPolicy: Sendable, Equatable {
    /// Tries per item (the first included) before its line records the failure.
    public var maxAttempts: Int
    /// How long a server is avoided after its first failure in a row; doubled for each further one.
    public var baseDelay: Double
    /// The longest a server is avoided (a server's Retry-After may ask for longer, up to `maxRetryAfter`).
    public var maxDelay: Double
    /// The most of a server's Retry-After honoured, so a wild header cannot stall the batch.
    public var maxRetryAfter: Double

    public init(maxAttempts: Int = 5, baseDelay: Double = 0.5, maxDelay: Double = 10, maxRetryAfter: Double = 120) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// Seconds to avoid a server after its `failures`-th failure in a row (1, 2, …): exponential
    /// back-off, and at least what its Retry-After asked.
    public func cooldown(afterFailures failures: Int, retryAfter: Double?) -> Double {
        let backoff = min(maxDelay, baseDelay * pow(2, Double(max(0, failures - 1))))
        return max(backoff, min(retryAfter ?? 0, maxRetryAfter))
    }

    /// Whether an answer with `status` should be tried again elsewhere: 429 (busy) and 5xx (the
    /// server, or the proxy before it, failed). Any other status is the request's own answer —
    /// a 400 says the request is wrong, and would be wrong on every server.
    public static func isRetryable(status: Int) -> Bool { status == 429 || (500...599).contains(status) }

    /// A Retry-After header's seconds (its delta-seconds form; an HTTP date is not honoured).
    public static func retryAfterSeconds(_ header: String?) -> Double? {
        guard let header, let seconds = Double(header.trimmingCharacters(in: .whitespaces)), seconds.isFinite, seconds >= 0 else { return nil }
        return seconds
    }
}
