// Many independent items through one async operation, a bounded number at a time. This is the
// C# sample's ProcessBatchAsync done so that results can be trusted: the output array is indexed
// like the input, every item gets exactly one `Result`, and a failure or cancellation of one item
// never shifts or drops another (the C# version skipped failed items, so prompts and results
// drifted out of step).

/// What one finished item reports to the progress callback.
public struct BatchProgress<Output: Sendable>: Sendable {
    /// Index (in the input) of the item that just finished.
    public var index: Int
    /// That item's outcome.
    public var result: Result<Output, any Error>
    /// Items finished so far, this one included (successes, failures and cancellations).
    public var completed: Int
    /// Of `completed`, how many threw an error other than cancellation.
    public var failed: Int
    /// Of `completed`, how many were cancelled while running.
    public var cancelled: Int
    /// Items in the batch.
    public var total: Int
}

/// Runs an async operation over a batch of inputs with at most `maxConcurrency` items in flight.
///
/// - Results come back in input order, one `Result` per input.
/// - Cancelling the task that called `process` stops starting new items; items already running
///   see the cancellation (a generation stops at its next token) and items never started are
///   reported as `.failure(CancellationError())`.
public struct BatchProcessor<Input: Sendable, Output: Sendable>: Sendable {
    /// The work for one item, given the item and its index in the batch.
    public typealias Operation = @Sendable (_ input: Input, _ index: Int) async throws -> Output

    /// Most items running at once.
    public let maxConcurrency: Int
    private let operation: Operation

    /// - Parameter maxConcurrency: most items in flight at once; at least 1.
    public init(maxConcurrency: Int, operation: @escaping Operation) {
        precondition(maxConcurrency >= 1, "maxConcurrency must be at least 1")
        self.maxConcurrency = maxConcurrency
        self.operation = operation
    }

    /// Processes `inputs` and returns one result per input, in input order.
    ///
    /// - Parameter onProgress: called once per item that ran, as it finishes (in completion
    ///   order). Calls come one at a time from the task running `process`, so the callback needs no
    ///   locking of its own; keep it quick, the next item starts after it returns.
    public func process(
        _ inputs: [Input], onProgress: (@Sendable (BatchProgress<Output>) -> Void)? = nil
    ) async -> [Result<Output, any Error>] {
        var results = [Result<Output, any Error>?](repeating: nil, count: inputs.count)
        let operation = self.operation
        await withTaskGroup(of: (Int, Result<Output, any Error>).self) { group in
            var next = 0
            func startNext() {
                let index = next, input = inputs[index]
                next += 1
                group.addTask {
                    do { return (index, .success(try await operation(input, index))) } catch { return (index, .failure(error)) }
                }
            }
            while next < min(maxConcurrency, inputs.count) && !Task.isCancelled { startNext() }

            var completed = 0, failed = 0, cancelled = 0
            while let (index, result) = await group.next() {
                results[index] = result
                completed += 1
                if case .failure(let error) = result {
                    if error is CancellationError { cancelled += 1 } else { failed += 1 }
                }
                onProgress?(BatchProgress(
                    index: index, result: result, completed: completed, failed: failed, cancelled: cancelled,
                    total: inputs.count))
                // One out, one in: this is what bounds the number in flight.
                if next < inputs.count && !Task.isCancelled { startNext() }
            }
        }
        return results.map { $0 ?? .failure(CancellationError()) }
    }
}

extension Result {
    /// Whether this is a failure caused by cancellation (the item was stopped or never started).
    public var isCancellation: Bool {
        if case .failure(let error) = self { return error is CancellationError }
        return false
    }
}
