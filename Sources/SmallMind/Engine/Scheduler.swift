// The engine's scheduler: one thread that owns the KV cache, the scratch buffers and every active
// sequence. The only state shared with submitters is the incoming queue under `lock`.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SmallMindKernels
import Synchronization

final class Scheduler: @unchecked Sendable {
    // @unchecked: `cache`, `workspace`, `active`, `waiting` and `slots` are touched only by the
    // scheduler thread; `shared` is a Mutex; `wake` is signalled under `wakeLock`.
    let model: Model
    let options: EngineOptions
    let slotCount: Int
    let contextLength: Int
    private let pool: ThreadPool
    private let cache: KVCache
    private let workspace: Workspace

    private struct Shared {
        var incoming: [EngineRequest] = []
        /// Submitted and not yet holding a slot.
        var waitingCount = 0
        /// Holding a slot.
        var inFlight = 0
        var stopping = false
        var statistics = EngineStatistics()
    }
    private let shared = Mutex(Shared())
    private let wakeLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var thread: SystemThread?
    private let stopped = Atomic<Bool>(false)

    private var waiting: [EngineRequest] = []
    private var active: [ActiveSequence] = []
    /// One step's tokens, the index in `active` of each token that wants logits, and the
    /// sequences that finished: kept between steps to reuse their storage.
    private var batch: [BatchToken] = []
    private var owners: [Int] = []
    private var finished: [(Int, FinishReason)] = []
    /// The free slots and the prompt prefixes their caches still hold.
    private var slots: PrefixCache

    init(model: Model, options: EngineOptions) {
        self.model = model
        self.options = options
        let configuration = model.configuration
        slotCount = options.slotCount(for: configuration)
        contextLength = options.resolvedContextLength(configuration)
        pool = ThreadPool(threads: options.threads)
        cache = KVCache(configuration: configuration, slots: slotCount, contextLength: contextLength, elementType: options.kvCacheType)
        workspace = Workspace(configuration: configuration, capacity: min(options.maxStepTokens, slotCount + options.prefillChunk))
        slots = PrefixCache(slots: slotCount, enabled: options.reusesPrefixes)
        pthread_mutex_init(wakeLock, nil)
        pthread_cond_init(wake, nil)
        // The thread holds the scheduler until its loop returns.
        thread = SystemThread("the engine's scheduler thread") { [self] in loop() }
    }

    deinit {
        pthread_mutex_destroy(wakeLock)
        pthread_cond_destroy(wake)
        wakeLock.deallocate()
        wake.deallocate()
    }

    var statistics: EngineStatistics { shared.withLock { $0.statistics } }

    /// Sequences holding a slot and requests waiting for one, read together.
    var load: EngineLoad { shared.withLock { EngineLoad(activeSequences: $0.inFlight, queuedRequests: $0.waitingCount) } }

    /// Queues a request, or finishes it at once with an error when the queue is full or stopping.
    func submit(_ request: EngineRequest) {
        let refusal: EngineError? = shared.withLock { s in
            if s.stopping { return .shutDown }
            // Full when, even after every free slot is taken, more than `queueLimit` would wait.
            if s.waitingCount + s.inFlight >= slotCount + options.queueLimit { return .queueFull(limit: options.queueLimit) }
            s.incoming.append(request)
            s.waitingCount += 1
            return nil
        }
        if let refusal {
            request.onFinish(.failure(refusal))
            return
        }
        signal()
    }

    /// Stops the thread; unfinished requests end with `EngineError.shutDown`. Idempotent.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shared.withLock { $0.stopping = true }
        signal()
        if let thread, !thread.isCurrent { thread.join() }
    }

    private func signal() {
        pthread_mutex_lock(wakeLock)
        pthread_cond_signal(wake)
        pthread_mutex_unlock(wakeLock)
    }

    // MARK: - The scheduler thread

    private func loop() {
        while true {
            let (arrivals, stopping) = takeIncoming(block: active.isEmpty && waiting.isEmpty)
            waiting += arrivals
            if stopping {
                for sequence in active { sequence.request.onFinish(.failure(EngineError.shutDown)) }
                for request in waiting { request.onFinish(.failure(EngineError.shutDown)) }
                active = []
                waiting = []
                pool.shutdown()
                return
            }
            dropCancelled()
            admit()
            if !active.isEmpty { step() }
        }
    }

    /// Moves submitted requests to the scheduler's side; waits for one when idle.
    private func takeIncoming(block: Bool) -> ([EngineRequest], Bool) {
        if block {
            pthread_mutex_lock(wakeLock)
            while shared.withLock({ $0.incoming.isEmpty && !$0.stopping }) { pthread_cond_wait(wake, wakeLock) }
            pthread_mutex_unlock(wakeLock)
        }
        return shared.withLock { s in
            defer { s.incoming.removeAll(keepingCapacity: true) }
            return (s.incoming, s.stopping)
        }
    }

    private func dropCancelled() {
        let now = ContinuousClock.now
        waiting.removeAll { request in
            guard request.isCancelled else { return false }
            shared.withLock { $0.waitingCount -= 1 }
            let state = SequenceState(promptTokens: request.promptTokens, parameters: request.parameters, tokenizer: model.tokenizer)
            var finished = state
            _ = finished.finish(.cancelled)
            request.onFinish(.success(finished.completion(
                prompt: request.prompt, timings: GenerationTimings(queueSeconds: (now - request.submitted).seconds))))
            return true
        }
        var i = 0
        while i < active.count {
            if active[i].request.isCancelled { finish(at: i, reason: .cancelled, now: now) } else { i += 1 }
        }
    }

    /// Gives free slots to waiting requests, first come first served; a request whose prompt starts
    /// with the tokens a free slot still holds takes that slot and starts its prefill after them.
    private func admit() {
        let now = ContinuousClock.now
        while !waiting.isEmpty, let (slot, reused) = slots.take(for: waiting[0].promptTokens) {
            let request = waiting.removeFirst()
            shared.withLock { s in
                s.waitingCount -= 1
                s.inFlight += 1
                s.statistics.reusedPromptTokens += reused
            }
            var state = SequenceState(promptTokens: request.promptTokens, parameters: request.parameters, tokenizer: model.tokenizer)
            state.cachedPromptTokenCount = reused
            let sequence = ActiveSequence(
                request: request, slot: slot, state: state, prefilled: reused,
                held: Array(request.promptTokens[..<reused]), admitted: now)
            if request.parameters.maxTokens == 0 {
                active.append(sequence)
                finish(at: active.count - 1, reason: .length, now: now)
                continue
            }
            active.append(sequence)
        }
    }

    /// One forward pass over every active sequence: decode tokens first (one each), then prompt
    /// chunks in admission order while the step's token budget lasts.
    private func step() {
        // Reused from step to step (kept capacity): steady decoding allocates no buffers here.
        batch.removeAll(keepingCapacity: true)
        owners.removeAll(keepingCapacity: true)
        finished.removeAll(keepingCapacity: true)
        var budget = options.maxStepTokens
        var sequencesInStep = 0
        for i in active.indices where !active[i].isPrefilling {
            guard var token = active[i].pending else { continue }
            token.slot = active[i].slot
            batch.append(token)
            active[i].held.append(token.token)
            owners.append(i)
            budget -= 1
            sequencesInStep += 1
        }
        for i in active.indices where active[i].isPrefilling && budget > 0 {
            let prompt = active[i].request.promptTokens
            let start = active[i].prefilled
            let end = min(prompt.count, start + options.prefillChunk, start + budget)
            active[i].held += prompt[start..<end]
            for position in start..<end {
                let last = position == prompt.count - 1
                batch.append(BatchToken(token: prompt[position], position: position, slot: active[i].slot, wantsLogits: last))
                if last { owners.append(i) }
            }
            active[i].prefilled = end
            budget -= end - start
            if end > start { sequencesInStep += 1 }
        }
        let logits = model.weights.forward(batch, cache: cache, workspace: workspace, pool: pool)
        let vocabulary = model.configuration.vocabularySize
        let now = ContinuousClock.now

        for (row, i) in owners.enumerated() {
            let rowLogits = UnsafeBufferPointer(rebasing: logits[row * vocabulary..<(row + 1) * vocabulary])
            if active[i].firstToken == nil { active[i].firstToken = now }
            let (event, feed) = active[i].state.advance(logits: rowLogits, contextLength: contextLength)
            if let event { active[i].request.onToken(event) }
            active[i].pending = feed
            if let reason = active[i].state.finishReason { finished.append((i, reason)) }
        }
        shared.withLock { s in
            s.statistics.steps += 1
            s.statistics.tokens += batch.count
            s.statistics.sequenceSteps += sequencesInStep
        }
        for (i, reason) in finished.sorted(by: { $0.0 > $1.0 }) { finish(at: i, reason: reason, now: now) }
    }

    /// Completes `active[index]`, delivers its result and frees its slot.
    private func finish(at index: Int, reason: FinishReason, now: ContinuousClock.Instant) {
        var sequence = active.remove(at: index)
        if let tail = sequence.state.finish(reason) { sequence.request.onToken(tail) }
        let first = sequence.firstToken ?? now
        let timings = GenerationTimings(
            queueSeconds: (sequence.admitted - sequence.request.submitted).seconds,
            promptSeconds: (first - sequence.admitted).seconds,
            generationSeconds: (now - first).seconds)
        var completion = sequence.state.completion(prompt: sequence.request.prompt, timings: timings)
        completion.threadID = ThreadIdentity.current  // the scheduler thread computed every step
        slots.release(slot: sequence.slot, holding: sequence.held)
        shared.withLock { s in
            s.inFlight -= 1
            s.statistics.completedRequests += 1
            s.statistics.generatedTokens += completion.completionTokenCount
        }
        sequence.request.onFinish(.success(completion))
    }
}
