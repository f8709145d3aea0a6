// The producer/consumer pattern from the C# README, done properly: producers submit requests into
// a bounded queue (a full queue makes `submit` wait — backpressure, not an ever-growing backlog),
// N workers take requests in order and run them through a `TextGenerator`, and each request
// completes on its own ticket. Shutdown is orderly: `.drain` finishes everything already accepted,
// `.cancel` cancels what is queued and what is running; either way, every accepted request gets
// exactly one outcome, and `shutdown` returns once the workers have stopped.

/// Why the queue refused a request.
public enum InferenceQueueError: Error, Equatable, CustomStringConvertible {
    /// `submit` was called (or was waiting for room) after `shutdown` began.
    case shutDown

    public var description: String {
        switch self {
        case .shutDown: return "the inference queue is shut down and accepts no more requests"
        }
    }
}

/// A bounded request queue served by a fixed number of workers.
public final class InferenceQueue: Sendable {
    /// What `shutdown` does with requests that were accepted but have not finished.
    public enum ShutdownMode: Sendable {
        /// Run every queued request to completion.
        case drain
        /// Fail queued requests and stop running ones with `CancellationError`.
        case cancel
    }

    /// Requests served at once.
    public let workerCount: Int
    /// Requests that may wait in the queue (beyond those running) before `submit` waits.
    public let capacity: Int

    private let core: Core
    private let workers: [Task<Void, Never>]

    /// - Parameters:
    ///   - workers: requests run at once (at least 1); give the generator room for as many.
    ///   - capacity: requests waiting beyond those running (at least 1) before producers wait.
    public init(generator: any TextGenerator, workers: Int, capacity: Int) {
        precondition(workers >= 1 && capacity >= 1, "an inference queue needs at least one worker and one slot")
        workerCount = workers
        self.capacity = capacity
        let core = Core(capacity: capacity)
        self.core = core
        // Workers hold the core, not the queue, so a queue dropped without `shutdown` still ends
        // them (see deinit) instead of leaking them forever.
        self.workers = (0..<workers).map { _ in
            Task {
                while let job = await core.nextJob() {
                    await job.run(generator)
                    core.finished(job)
                }
            }
        }
    }

    deinit { core.beginShutdown(.drain) }

    /// Queues a request, waiting while the queue is full. Returns its ticket once accepted.
    /// Throws `InferenceQueueError.shutDown` after shutdown began, or `CancellationError` if the
    /// calling task is cancelled while waiting for room (the request is then not queued).
    public func submit(_ prompt: String, _ parameters: GenerationParameters = .init()) async throws -> InferenceTicket {
        let job = Job(prompt: prompt, parameters: parameters)
        try await core.enqueue(job)
        return InferenceTicket(job: job, core: core)
    }

    /// Submits a request and waits for its completion. Cancelling the calling task cancels the
    /// request, wherever it is.
    public func generate(_ prompt: String, _ parameters: GenerationParameters = .init()) async throws -> Completion {
        let ticket = try await submit(prompt, parameters)
        return try await withTaskCancellationHandler {
            try await ticket.completion
        } onCancel: {
            ticket.cancel()
        }
    }

    /// Stops accepting requests (waiting producers get `InferenceQueueError.shutDown`), deals with
    /// the accepted ones as `mode` says, and returns when every worker has stopped. Safe to call
    /// more than once.
    public func shutdown(_ mode: ShutdownMode = .drain) async {
        core.beginShutdown(mode)
        for worker in workers { await worker.value }
    }

    /// Requests accepted and waiting for a worker.
    public var queuedCount: Int { core.queuedCount }
    /// Requests being generated right now.
    public var runningCount: Int { core.runningCount }
    /// Producers waiting in `submit` for room in the queue.
    public var waitingProducerCount: Int { core.waitingProducerCount }
}

/// One accepted request: await its completion or cancel it.
public struct InferenceTicket: Sendable {
    fileprivate let job: InferenceQueue.Job
    fileprivate let core: InferenceQueue.Core

    /// The request's prompt.
    public var prompt: String { job.prompt }

    /// The completion, once the request has finished. Throws the generation's error, or
    /// `CancellationError` if the request was cancelled.
    public var completion: Completion {
        get async throws { try await job.promise.value }
    }

    /// Cancels the request: taken out of the queue if still waiting, stopped at its next token if
    /// running, nothing if already finished.
    public func cancel() {
        core.remove(job)
        job.cancel()
    }
}

extension InferenceQueue {
    /// One request and its lifecycle: queued → running → finished (or cancelled from either).
    final class Job: Sendable {
        private enum Phase {
            case queued
            case running(Task<Completion, any Error>)
            case finished
        }

        let prompt: String
        let parameters: GenerationParameters
        let promise = Promise<Completion>()
        private let phase = Locked(Phase.queued)

        init(prompt: String, parameters: GenerationParameters) {
            self.prompt = prompt
            self.parameters = parameters
        }

        /// Runs the request (unless it was cancelled first) and fulfils its promise.
        func run(_ generator: any TextGenerator) async {
            let (prompt, parameters) = (self.prompt, self.parameters)
            let task = phase.withLock { p -> Task<Completion, any Error>? in
                guard case .queued = p else { return nil }
                // A task of its own, so that cancelling this request leaves the worker running.
                let task = Task { try await generator.generate(prompt, parameters) }
                p = .running(task)
                return task
            }
            guard let task else { return }
            let result = await task.result
            phase.withLock { $0 = .finished }
            promise.fulfil(result)
        }

        func cancel() {
            let running = phase.withLock { p -> Task<Completion, any Error>? in
                switch p {
                case .queued:
                    p = .finished
                    return nil
                case .running(let task):
                    return task
                case .finished:
                    return nil
                }
            }
            if let running { running.cancel() } else { promise.fulfil(.failure(CancellationError())) }
        }
    }

    /// The shared state of queue and workers.
    final class Core: Sendable {
        private struct Producer {
            let id: UInt64
            let job: Job
            let continuation: CheckedContinuation<Void, any Error>
        }

        private struct State {
            var queue: [Job] = []                                   // FIFO, at most `capacity`
            var producers: [Producer] = []                          // waiting for room, FIFO
            var idleWorkers: [CheckedContinuation<Job?, Never>] = []
            var running: [ObjectIdentifier: Job] = [:]
            var isShutDown = false
            var nextID: UInt64 = 0
        }

        private let capacity: Int
        private let state = Locked(State())

        init(capacity: Int) { self.capacity = capacity }

        var queuedCount: Int { state.withLock { $0.queue.count } }
        var runningCount: Int { state.withLock { $0.running.count } }
        var waitingProducerCount: Int { state.withLock { $0.producers.count } }

        func enqueue(_ job: Job) async throws {
            let id = state.withLock { s -> UInt64 in
                s.nextID += 1
                return s.nextID
            }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    var worker: CheckedContinuation<Job?, Never>?
                    let outcome = state.withLock { s -> Result<Void, any Error>? in
                        if Task.isCancelled { return .failure(CancellationError()) }
                        if s.isShutDown { return .failure(InferenceQueueError.shutDown) }
                        if !s.idleWorkers.isEmpty {
                            worker = s.idleWorkers.removeFirst()
                            s.running[ObjectIdentifier(job)] = job
                        } else if s.queue.count < capacity {
                            s.queue.append(job)
                        } else {
                            s.producers.append(Producer(id: id, job: job, continuation: continuation))
                            return nil
                        }
                        return .success(())
                    }
                    worker?.resume(returning: job)
                    if let outcome { continuation.resume(with: outcome) }
                }
            } onCancel: {
                let producer = state.withLock { s -> Producer? in
                    guard let i = s.producers.firstIndex(where: { $0.id == id }) else { return nil }
                    return s.producers.remove(at: i)
                }
                producer?.continuation.resume(throwing: CancellationError())
            }
        }

        /// The next request for a worker, waiting while there is none; nil once shut down and empty.
        func nextJob() async -> Job? {
            await withCheckedContinuation { (continuation: CheckedContinuation<Job?, Never>) in
                var admitted: Producer?
                let job = state.withLock { s -> Job?? in
                    if !s.queue.isEmpty {
                        let job = s.queue.removeFirst()
                        s.running[ObjectIdentifier(job)] = job
                        // Room freed: the longest-waiting producer's request goes in.
                        if !s.producers.isEmpty {
                            admitted = s.producers.removeFirst()
                            s.queue.append(admitted!.job)
                        }
                        return .some(job)
                    }
                    if s.isShutDown { return .some(nil) }
                    s.idleWorkers.append(continuation)
                    return .none
                }
                admitted?.continuation.resume()
                if let job { continuation.resume(returning: job) }
            }
        }

        func finished(_ job: Job) {
            state.withLock { _ = $0.running.removeValue(forKey: ObjectIdentifier(job)) }
        }

        /// Takes `job` out of the queue if it is still waiting there.
        func remove(_ job: Job) {
            let admitted = state.withLock { s -> Producer? in
                guard let i = s.queue.firstIndex(where: { $0 === job }) else { return nil }
                s.queue.remove(at: i)
                guard !s.producers.isEmpty else { return nil }
                let producer = s.producers.removeFirst()
                s.queue.append(producer.job)
                return producer
            }
            admitted?.continuation.resume()
        }

        func beginShutdown(_ mode: ShutdownMode) {
            let (producers, idle, toCancel) = state.withLock { s -> ([Producer], [CheckedContinuation<Job?, Never>], [Job]) in
                s.isShutDown = true
                let producers = s.producers, idle = s.idleWorkers
                s.producers = []
                s.idleWorkers = []
                var toCancel: [Job] = []
                if mode == .cancel {
                    toCancel = s.queue + Array(s.running.values)
                    s.queue = []
                }
                return (producers, idle, toCancel)
            }
            for producer in producers { producer.continuation.resume(throwing: InferenceQueueError.shutDown) }
            for worker in idle { worker.resume(returning: nil) }
            for job in toCancel { job.cancel() }
        }
    }
}
