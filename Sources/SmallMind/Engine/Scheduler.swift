// The engine's scheduler: one thread that owns the KV cache, the scratch buffers and every active
// sequence. The only state shared with submitters is the incoming queue under `lock`.
//
// Memory is one pool of KV blocks (`KVBlockManager`). A request is admitted when a block table is
// free and the blocks for its prompt are available (beyond a reserve of one block per running
// sequence, so that admitting does not at once force a preemption). A decoding sequence takes a
// block each time it crosses a block boundary; when none is left, the youngest sequence is
// preempted: its blocks are released (kept in the prefix index, so its recomputation is often a
// prefix hit) and it waits, ahead of new requests, to recompute its prompt and the tokens it has
// fed, its sampler and random generator untouched. Batch invariance makes the recomputed keys
// and values the same bits, so it continues with exactly the tokens it would have produced.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SmallMindKernels
import Synchronization

final class Scheduler: @unchecked Sendable {
    // @unchecked: `cache`, `blocks`, `workspace`, `active`, `waiting`, `preempted` and `freeSlots` are touched only by the
    // scheduler thread; `shared` is a Mutex; `wake` is signalled under `wakeLock`.
    let model: Model
    let options: EngineOptions
    let slotCount: Int
    let contextLength: Int
    private let pool: ThreadPool
    private let cache: KVCache
    private let blocks: KVBlockManager
    private let workspace: Workspace

    private struct Shared {
        var incoming: [EngineRequest] = []
        /// Submitted and not yet holding a block table (preempted sequences included).
        var waitingCount = 0
        /// Holding a block table.
        var inFlight = 0
        var stopping = false
        var statistics = EngineStatistics()
        /// The pool's state after the last step or finish.
        var kvBlocksInUse = 0
        var kvBlocksCached = 0
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
    /// Sequences preempted for lack of blocks, oldest request first: admitted before `waiting`.
    private var preempted: [ActiveSequence] = []
    /// Block tables no sequence holds.
    private var freeSlots: [Int]

    init(model: Model, options: EngineOptions) {
        self.model = model
        self.options = options
        let configuration = model.configuration
        slotCount = options.maxBatch
        let blockCount = options.kvBlockCount(configuration), blockSize = options.blockSize(configuration)
        // A sequence alone may use the whole pool, no more.
        contextLength = min(options.resolvedContextLength(configuration), blockCount * blockSize)
        pool = ThreadPool(threads: options.threads)
        cache = KVCache(
            configuration: configuration, slots: slotCount, contextLength: options.resolvedContextLength(configuration),
            elementType: options.kvCacheType, blockSize: blockSize, blockCount: blockCount)
        blocks = KVBlockManager(cache: cache, sharing: options.reusesPrefixes, identity: configuration.cacheIdentity)
        workspace = Workspace(configuration: configuration, capacity: min(options.maxStepTokens, slotCount + options.prefillChunk))
        freeSlots = Array((0..<slotCount).reversed())
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

    var kvCacheBytes: Int { cache.byteCount }
    var kvBlockCount: Int { cache.blockCount }
    var kvBlockSize: Int { cache.blockSize }

    /// Sequences holding a slot and requests waiting for one, read together.
    var load: EngineLoad {
        shared.withLock {
            EngineLoad(activeSequences: $0.inFlight, queuedRequests: $0.waitingCount, kvBlocksInUse: $0.kvBlocksInUse, kvBlocksCached: $0.kvBlocksCached)
        }
    }

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
            let (arrivals, stopping) = takeIncoming(block: active.isEmpty && waiting.isEmpty && preempted.isEmpty)
            waiting += arrivals
            if stopping {
                for sequence in active { sequence.request.onFinish(.failure(EngineError.shutDown)) }
                for sequence in preempted { sequence.request.onFinish(.failure(EngineError.shutDown)) }
                for request in waiting { request.onFinish(.failure(EngineError.shutDown)) }
                active = []
                preempted = []
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
        i = 0
        while i < preempted.count {
            guard preempted[i].request.isCancelled else {
                i += 1
                continue
            }
            var sequence = preempted.remove(at: i)
            shared.withLock { $0.waitingCount -= 1 }
            if let tail = sequence.state.finish(.cancelled) { sequence.request.onToken(tail) }
            deliver(sequence, now: now)
        }
    }

    /// Gives block tables to preempted sequences, then to waiting requests, in order, while their
    /// blocks are available. Each reuses the longest prefix of its tokens that the pool holds.
    private func admit() {
        let now = ContinuousClock.now
        while let slot = freeSlots.last {
            if var sequence = preempted.first {
                // Recompute the tokens fed before the preemption; the pending token (sampled, not
                // yet fed) is kept, so only a sequence preempted during its prompt wants logits.
                let context = sequence.pending == nil ? sequence.request.promptTokens : sequence.held
                let limit = sequence.pending == nil ? context.count - 1 : context.count
                guard let reused = place(context, limit: limit, slot: slot) else { return }
                preempted.removeFirst()
                sequence.slot = slot
                sequence.context = context
                sequence.prefilled = reused
                sequence.held = Array(context[..<reused])
                shared.withLock { s in
                    s.waitingCount -= 1
                    s.inFlight += 1
                    s.statistics.reusedPromptTokens += reused
                }
                active.append(sequence)
                continue
            }
            guard let request = waiting.first else { return }
            let prompt = request.promptTokens
            guard !prefixIsBeingComputed(prompt), let reused = place(prompt, limit: prompt.count - 1, slot: slot) else { return }
            waiting.removeFirst()
            shared.withLock { s in
                s.waitingCount -= 1
                s.inFlight += 1
                s.statistics.reusedPromptTokens += reused
            }
            var state = SequenceState(promptTokens: prompt, parameters: request.parameters, tokenizer: model.tokenizer)
            state.cachedPromptTokenCount = reused
            let sequence = ActiveSequence(
                request: request, slot: slot, state: state, context: prompt, prefilled: reused,
                held: Array(prompt[..<reused]), admitted: now)
            active.append(sequence)
            if request.parameters.maxTokens == 0 { finish(at: active.count - 1, reason: .length, now: now) }
        }
    }

    /// Takes `slot` and the blocks for `context` (reusing what the pool holds of its first `limit`
    /// tokens) when they are available beyond one block of headroom per running sequence; returns
    /// the tokens reused, or nil (nothing taken) when they are not.
    private func place(_ context: [Int], limit: Int, slot: Int) -> Int? {
        // Alone, a sequence may take every block (its context fits the pool); beside others, it
        // leaves one block of headroom per running sequence.
        let reserve = active.isEmpty ? 0 : active.count
        var match = blocks.match(context, limit: max(limit, 0))
        if blocks.blocksNeeded(match, positions: context.count) + reserve > blocks.availableCount { match = blocks.withoutCopy(match) }
        guard blocks.blocksNeeded(match, positions: context.count) + reserve <= blocks.availableCount else { return nil }
        freeSlots.removeLast()
        blocks.assign(slot: slot, match: match, positions: context.count)
        return match.reusedTokens
    }

    /// Whether a sequence still in its prompt is computing full blocks of `prompt`'s prefix that
    /// the pool does not hold yet: then the request waits a step or two and shares them rather
    /// than computing them beside it (64 requests arriving together with one preamble compute
    /// it once).
    private func prefixIsBeingComputed(_ prompt: [Int]) -> Bool {
        guard blocks.sharing else { return false }
        let blockSize = cache.blockSize
        let held = blocks.match(prompt, limit: prompt.count - 1).shared.count
        for sequence in active where sequence.isPrefilling {
            let common = KVBlockManager.commonPrefixLength(sequence.context, prompt)
            if min(common, prompt.count - 1) / blockSize > held { return true }
        }
        return false
    }

    /// Gives every decoding sequence the block its next position needs, oldest request first;
    /// when the pool is dry, preempts the youngest sequence (possibly the one asking).
    private func reserveDecodeBlocks() {
        var i = 0
        while i < active.count {
            guard !active[i].isPrefilling, let token = active[i].pending,
                !blocks.grow(slot: active[i].slot, toHold: token.position)
            else {
                i += 1
                continue
            }
            let youngest = active.indices.max { active[$0].request.submitted < active[$1].request.submitted }!
            preempt(at: youngest)
            if youngest < i { i -= 1 }
        }
    }

    /// Frees `active[index]`'s blocks (full ones stay indexed) and queues it for recomputation.
    private func preempt(at index: Int) {
        var sequence = active.remove(at: index)
        blocks.releaseSlot(sequence.slot, held: sequence.held)
        freeSlots.append(sequence.slot)
        sequence.slot = -1
        let at = preempted.firstIndex { $0.request.submitted > sequence.request.submitted } ?? preempted.count
        preempted.insert(sequence, at: at)
        shared.withLock { s in
            s.waitingCount += 1
            s.inFlight -= 1
            s.statistics.preemptions += 1
        }
    }

    /// One forward pass over every active sequence: decode tokens first (one each), then prompt
    /// chunks in admission order while the step's token budget lasts.
    private func step() {
        // Reused from step to step (kept capacity): steady decoding allocates no buffers here.
        batch.removeAll(keepingCapacity: true)
        owners.removeAll(keepingCapacity: true)
        finished.removeAll(keepingCapacity: true)
        reserveDecodeBlocks()
        guard !active.isEmpty else { return }
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
            let prompt = active[i].context
            let start = active[i].prefilled
            let end = min(prompt.count, start + options.prefillChunk, start + budget)
            active[i].held += prompt[start..<end]
            // A sequence recomputed after preemption already has its next token (pending).
            let wantsLast = active[i].pending == nil
            for position in start..<end {
                let last = wantsLast && position == prompt.count - 1
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
        // Blocks the step filled join the prefix index (one hash per block, not per token).
        var held = 0
        for sequence in active {
            blocks.indexFullBlocks(slot: sequence.slot, held: sequence.held)
            held += sequence.held.count
        }
        let referenced = blocks.referencedCount, cached = blocks.cachedCount
        shared.withLock { s in
            s.kvBlocksInUse = referenced
            s.kvBlocksCached = cached
            s.statistics.steps += 1
            s.statistics.tokens += batch.count
            s.statistics.sequenceSteps += sequencesInStep
            s.statistics.peakKVBlocks = max(s.statistics.peakKVBlocks, referenced)
            s.statistics.heldPositionSteps += held
            s.statistics.allocatedPositionSteps += referenced * cache.blockSize
        }
        for (i, reason) in finished.sorted(by: { $0.0 > $1.0 }) { finish(at: i, reason: reason, now: now) }
    }

    /// Completes `active[index]`, delivers its result and frees its blocks (those holding whole
    /// blocks of tokens, and its last partial one, stay indexed for later requests).
    private func finish(at index: Int, reason: FinishReason, now: ContinuousClock.Instant) {
        var sequence = active.remove(at: index)
        if let tail = sequence.state.finish(reason) { sequence.request.onToken(tail) }
        blocks.releaseSlot(sequence.slot, held: sequence.held)
        freeSlots.append(sequence.slot)
        deliver(sequence, now: now)
    }

    /// Hands a finished sequence's completion to its caller.
    private func deliver(_ sequence: ActiveSequence, now: ContinuousClock.Instant) {
        let first = sequence.firstToken ?? now
        let timings = GenerationTimings(
            queueSeconds: (sequence.admitted - sequence.request.submitted).seconds,
            promptSeconds: (first - sequence.admitted).seconds,
            generationSeconds: (now - first).seconds)
        var completion = sequence.state.completion(prompt: sequence.request.prompt, timings: timings)
        completion.threadID = ThreadIdentity.current  // the scheduler thread computed every step
        let wasActive = sequence.slot >= 0
        let (referenced, cached) = (blocks.referencedCount, blocks.cachedCount)
        shared.withLock { s in
            if wasActive { s.inFlight -= 1 }
            s.kvBlocksInUse = referenced
            s.kvBlocksCached = cached
            s.statistics.completedRequests += 1
            s.statistics.generatedTokens += completion.completionTokenCount
        }
        sequence.request.onFinish(.success(completion))
    }
}
