import Dispatch
import Testing
@testable import SmallMind
@testable import SmallMindKernels

/// Batch invariance: a sequence's logits are bit-identical whatever shares its forward pass.
struct BatchInvarianceTests {
    static func models() throws -> [Model] {
        [Model.demo(), try Model.load(path: try TestModels.llama2cCheckpoint(seqLen: 64, seed: 3), tokenizerPath: try TestModels.tokenizerFile())]
    }

    /// Logits of every position of `tokens`, fed in chunks of `chunk` into slot `slot`, with the
    /// other slots' tokens (`companions`) in the same passes, keys and values stored as `elementType`.
    /// `splitsEverything`: through the path large models take — layer by layer, every product,
    /// attention and row-wise operation split over the pool — however small the model.
    static func logits(
        _ model: Model, tokens: [Int], chunk: Int, threads: Int, companions: Int, slot: Int,
        elementType: KVCache.ElementType = .f32, splitsEverything: Bool = false, blockSize: Int = KVCache.defaultBlockSize,
        arithmetic: ForwardArithmetic = .standard
    ) -> [[Float]] {
        logits(model.weights, tokens: tokens, chunk: chunk, threads: threads, companions: companions, slot: slot,
               elementType: elementType, splitsEverything: splitsEverything, blockSize: blockSize, arithmetic: arithmetic)
    }

    static func logits(
        _ weights: ModelWeights, tokens: [Int], chunk: Int, threads: Int, companions: Int, slot: Int,
        elementType: KVCache.ElementType = .f32, splitsEverything: Bool = false, blockSize: Int = KVCache.defaultBlockSize,
        arithmetic: ForwardArithmetic = .standard
    ) -> [[Float]] {
        let c = weights.configuration
        let cache = KVCache(configuration: c, slots: companions + 1, elementType: elementType, arithmetic: arithmetic, blockSize: blockSize)
        // Blocks handed out in a scrambled order, so tables are never the identity.
        var taken: [Int32] = []
        while let b = cache.takeFreeBlock() { taken.append(b) }
        for i in taken.indices.sorted(by: { ($0 * 37 + 11) % taken.count < ($1 * 37 + 11) % taken.count }) { cache.returnBlock(taken[i]) }
        let workspace = Workspace(configuration: c)
        workspace.splitsEverything = splitsEverything
        let pool = ThreadPool(threads: threads)
        var result: [[Float]] = []
        var start = 0
        var step = 0
        while start < tokens.count {
            let end = min(tokens.count, start + chunk)
            var batch: [BatchToken] = []
            // Companions: other sequences at other positions, before and after ours in the batch.
            for other in 0..<companions where other % 2 == 0 {
                batch.append(BatchToken(token: (other + step) % c.vocabularySize, position: step, slot: other >= slot ? other + 1 : other))
            }
            for position in start..<end {
                batch.append(BatchToken(token: tokens[position], position: position, slot: slot, wantsLogits: true))
            }
            for other in 0..<companions where other % 2 == 1 {
                batch.append(BatchToken(token: (3 * other + step) % c.vocabularySize, position: step, slot: other >= slot ? other + 1 : other))
            }
            let out = weights.forward(batch, cache: cache, workspace: workspace, pool: pool)
            let v = c.vocabularySize
            let ownRows = batch.enumerated().filter { $0.element.slot == slot }.map(\.offset)
            let rowOfBatch = Dictionary(uniqueKeysWithValues: batch.enumerated().map { ($0.offset, $0.offset) })
            for row in ownRows { result.append(Array(out[rowOfBatch[row]! * v..<(rowOfBatch[row]! + 1) * v])) }
            start = end
            step += 1
        }
        return result
    }

    @Test(arguments: [0, 1])
    func logitsAreBitIdenticalAloneAmong31OthersOnAnyThreadsAndChunks(modelIndex: Int) throws {
        let model = try Self.models()[modelIndex]
        let tokens = (0..<20).map { ($0 * 7 + 1) % model.configuration.vocabularySize }
        let alone = Self.logits(model, tokens: tokens, chunk: 1, threads: 1, companions: 0, slot: 0)
        #expect(alone.count == tokens.count)
        for (chunk, threads, companions, slot) in [(20, 1, 0, 0), (1, 2, 31, 5), (3, 2, 31, 31), (7, 1, 31, 0), (20, 2, 8, 4)] {
            let other = Self.logits(model, tokens: tokens, chunk: chunk, threads: threads, companions: companions, slot: slot)
            #expect(other == alone, "chunk \(chunk), threads \(threads), companions \(companions), slot \(slot)")
        }
        for (chunk, companions) in [(20, 0), (3, 31)] {
            let split = Self.logits(model, tokens: tokens, chunk: chunk, threads: 2, companions: companions, slot: 7 % (companions + 1), splitsEverything: true)
            #expect(split == alone, "layer by layer, everything split: chunk \(chunk), companions \(companions)")
        }
    }

    /// Quantized GGUF weights, multiplied in integers on activations quantized row by row: the
    /// same invariance, for each quantized format.
    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason),
          arguments: ["kq-q8_0.gguf", "kq-q4_0.gguf", "kq-q4_k_m.gguf", "kq-q6_k.gguf", "kq-q5_0.gguf", "kq-q4_1.gguf", "kq-q5_1.gguf", "kq-iq4_nl.gguf"])
    func quantizedLogitsAreBitIdenticalAloneAmongOthersOnAnyThreadsAndChunks(model: String) throws {
        let weights = try GGUFModel.load(path: SharedFiles.model(model))
        let tokens = (0..<12).map { ($0 * 7 + 1) % weights.configuration.vocabularySize }
        let alone = Self.logits(weights, tokens: tokens, chunk: 1, threads: 1, companions: 0, slot: 0)
        for (chunk, threads, companions, slot) in [(12, 1, 0, 0), (3, 2, 31, 31), (12, 2, 8, 4)] {
            let other = Self.logits(weights, tokens: tokens, chunk: chunk, threads: threads, companions: companions, slot: slot)
            #expect(other == alone, "\(model): chunk \(chunk), threads \(threads), companions \(companions), slot \(slot)")
        }
        let split = Self.logits(weights, tokens: tokens, chunk: 3, threads: 2, companions: 31, slot: 7, splitsEverything: true)
        #expect(split == alone, "\(model): layer by layer, everything split")
    }

    /// The same with an f16 cache: each key and value is rounded once when stored, then attention
    /// runs in float32 in the same fixed order, so a token's attention output — and its logits —
    /// are bit-identical in prefill or decode, alone or among 31 others, on 1 or 2 threads.
    @Test(arguments: [0, 1])
    func halfPrecisionCacheLogitsAreBitIdenticalAloneAmong31OthersOnAnyThreadsAndChunks(modelIndex: Int) throws {
        let model = try Self.models()[modelIndex]
        let tokens = (0..<20).map { ($0 * 7 + 1) % model.configuration.vocabularySize }
        let alone = Self.logits(model, tokens: tokens, chunk: 1, threads: 1, companions: 0, slot: 0, elementType: .f16)
        for (chunk, threads, companions, slot) in [(20, 1, 0, 0), (1, 2, 31, 5), (3, 2, 31, 31), (7, 1, 31, 0), (20, 2, 8, 4)] {
            let other = Self.logits(model, tokens: tokens, chunk: chunk, threads: threads, companions: companions, slot: slot, elementType: .f16)
            #expect(other == alone, "chunk \(chunk), threads \(threads), companions \(companions), slot \(slot)")
        }
        let split = Self.logits(model, tokens: tokens, chunk: 3, threads: 2, companions: 31, slot: 7, elementType: .f16, splitsEverything: true)
        #expect(split == alone, "layer by layer, everything split")
        // The cache really is f16 (the logits move), and only by its rounding.
        let exact = Self.logits(model, tokens: tokens, chunk: 20, threads: 1, companions: 0, slot: 0)
        #expect(exact != alone)
        let largest = zip(exact.joined(), alone.joined()).map { abs($0 - $1) }.max()!
        #expect(largest < 0.05, "f16 keys and values moved a logit by \(largest)")
    }
}

struct KVCacheTests {
    @Test func halfPrecisionHalvesTheBytes() {
        let c = Model.demo().configuration
        let full = KVCache(configuration: c, slots: 3, contextLength: 10)
        let half = KVCache(configuration: c, slots: 3, contextLength: 10, elementType: .f16)
        #expect(full.byteCount == 2 * half.byteCount)
        #expect(half.byteCount == 2 * c.layerCount * 3 * 10 * c.keyValueSize * 2)
        #expect(KVCache.bytesPerSlot(configuration: c, contextLength: 10, elementType: .f16) * 3 == half.byteCount)
        #expect(full.arithmetic == .standard && half.arithmetic == .standard)
        let llamaCpp = KVCache.llamaCppCompatible(configuration: c, contextLength: 10)
        #expect(llamaCpp.elementType == .f16 && llamaCpp.arithmetic == .llamaCpp)
    }

    @Test func storedHalvesAreTheRoundedValues() throws {
        let c = Model.demo().configuration
        let cache = KVCache(configuration: c, slots: 2, contextLength: 4, elementType: .f16)
        let key = (0..<c.keyValueSize).map { Float($0) * 0.001 + 1 / 3 }, value = key.map { -$0 * 7 }
        cache.assignBlocks(for: [BatchToken(token: 0, position: 2, slot: 1)])
        cache.store(key: key, value: value, layer: 1, slot: 1, position: 2)
        // Head after head, each at its own run of positions.
        for head in 0..<c.keyValueHeadCount {
            let at = cache.offset(layer: 1, slot: 1, head: head, position: 2), hs = c.headSize
            let keys = UnsafeBufferPointer(start: cache.keys.assumingMemoryBound(to: Float16.self) + at, count: hs)
            let values = UnsafeBufferPointer(start: cache.values.assumingMemoryBound(to: Float16.self) + at, count: hs)
            #expect(Array(keys) == key[head * hs..<(head + 1) * hs].map { Float16($0) })
            #expect(Array(values) == value[head * hs..<(head + 1) * hs].map { Float16($0) })
        }
    }
}

struct EngineTests {
    static let prompts = (0..<32).map { ["The future of", "Once upon a time", "In a world where", "Why do we"][$0 % 4] + " \($0)" }
    static func parameters(_ i: Int) -> GenerationParameters {
        GenerationParameters(maxTokens: 12 + i % 9, temperature: 0.8, topK: 20, seed: UInt64(i))
    }

    static func runAll(_ engine: Engine, order: [Int]) async throws -> [Int: Completion] {
        try await withThrowingTaskGroup(of: (Int, Completion).self) { group in
            for i in order {
                group.addTask { (i, try await engine.generate(prompts[i], parameters(i))) }
            }
            var results: [Int: Completion] = [:]
            for try await (i, completion) in group { results[i] = completion }
            return results
        }
    }

    @Test func thirtyTwoAtOnceEqualEachAloneInAnyOrderOnAnyThreadsAndChunks() async throws {
        let model = Model.demo()
        // The reference: each request alone, in a plain single-sequence context.
        let alone = try Self.prompts.indices.map { try model.generate(Self.prompts[$0], Self.parameters($0)) }
        let configurations: [(EngineOptions, [Int])] = [
            (EngineOptions(maxBatch: 32, threads: 2), Array(0..<32)),
            (EngineOptions(maxBatch: 32, prefillChunk: 1, threads: 1), Array((0..<32).reversed())),
            (EngineOptions(maxBatch: 7, prefillChunk: 5, maxStepTokens: 9, threads: 2), (0..<32).map { ($0 * 13) % 32 }),
        ]
        for (options, order) in configurations {
            let engine = try Engine(model: model, options: options)
            let results = try await Self.runAll(engine, order: order)
            for i in Self.prompts.indices {
                #expect(results[i]?.tokens == alone[i].tokens, "request \(i) with \(options)")
                #expect(results[i]?.text == alone[i].text)
                #expect(results[i]?.finishReason == alone[i].finishReason)
            }
            let stats = engine.statistics
            #expect(stats.completedRequests == 32)
            #expect(stats.averageBatchSize > 1, "requests were batched together")
        }
    }

    @Test func llamaWithGroupedQueryAttention() async throws {
        let model = try Model.load(path: try TestModels.llama2cCheckpoint(seqLen: 64, seed: 5), tokenizerPath: try TestModels.tokenizerFile())
        let prompts = ["abc", "hgf", "a", "bcdefgh", "eeee", "fa"]
        let alone = try prompts.indices.map { try model.generate(prompts[$0], GenerationParameters(maxTokens: 30, temperature: 1, seed: UInt64($0))) }
        let engine = try Engine(model: model, options: EngineOptions(maxBatch: 4, prefillChunk: 2, threads: 2))
        let batched = try await withThrowingTaskGroup(of: (Int, Completion).self) { group in
            for i in prompts.indices {
                group.addTask { (i, try await engine.generate(prompts[i], GenerationParameters(maxTokens: 30, temperature: 1, seed: UInt64(i)))) }
            }
            return try await group.reduce(into: [Int: Completion]()) { $0[$1.0] = $1.1 }
        }
        for i in prompts.indices { #expect(batched[i]?.tokens == alone[i].tokens, "prompt \(i)") }
    }

    @Test func streamDeliversTheSameTokens() async throws {
        let model = Model.demo()
        let engine = try Engine(model: model, options: EngineOptions(maxBatch: 4, threads: 2))
        var text = ""
        var tokens: [Int] = []
        for try await event in engine.stream("Once upon a time", Self.parameters(3)) {
            text += event.text
            tokens.append(event.token)
        }
        let reference = try model.generate("Once upon a time", Self.parameters(3))
        #expect(tokens == reference.tokens && text == reference.continuation)
    }

    @Test func impossibleRequestsFailAtOnce() async throws {
        let engine = try Engine(model: Model.demo(), options: EngineOptions(maxBatch: 2, threads: 1))
        // A prompt that alone does not fit is the one request that cannot run: the error names both counts.
        await #expect(throws: GenerationError.promptTooLong(tokens: 65, contextLength: 64)) {
            try await engine.generate(String(repeating: "a", count: 65), GenerationParameters(maxTokens: 1))
        }
        let short = try Engine(model: Model.demo(), options: EngineOptions(maxBatch: 1, contextLength: 32, threads: 1))
        await #expect(throws: GenerationError.promptTooLong(tokens: 33, contextLength: 32)) {
            try await short.generate(String(repeating: "a", count: 33), GenerationParameters(maxTokens: 0))
        }
        await #expect(throws: GenerationError.self) { try await engine.generate("bad \u{E9} char", .greedy(maxTokens: 3)) }
        await #expect(throws: GenerationError.self) { try await engine.generate("ok", GenerationParameters(topP: 7)) }
        #expect(throws: EngineError.self) { try Engine(model: Model.demo(), options: EngineOptions(maxBatch: 0)) }
        #expect(throws: EngineError.self) { try Engine(model: Model.demo(), options: EngineOptions(contextLength: 65)) }
        #expect(throws: EngineError.self) { try Engine(model: Model.demo(), options: EngineOptions(kvCacheBytes: 10)) }
    }

    /// The one rule for requests longer than the context, as `GenerationContext` applies it: the
    /// engine runs them until the context is full and reports `.length`, with the same tokens.
    @Test func requestsBeyondTheContextStopWhenItIsFullLikeAContext() async throws {
        let model = Model.demo()
        let engine = try Engine(model: model, options: EngineOptions(maxBatch: 2, threads: 1))
        for (prompt, maxTokens) in [(String(repeating: "abc ", count: 10), 50), (String(repeating: "x", count: 64), 5), ("Hi", 200)] {
            let parameters = GenerationParameters(maxTokens: maxTokens, temperature: 0.8, seed: 5)
            let batched = try await engine.generate(prompt, parameters)
            let alone = try model.generate(prompt, parameters)
            #expect(batched.finishReason == .length && batched.tokens == alone.tokens)
            // Every position is used, and the last token needs none of its own.
            #expect(batched.promptTokenCount + batched.completionTokenCount == 65)
            #expect(batched.completionTokenCount < maxTokens)
        }
    }

    @Test func kvBudgetBuysBlocksAndBoundsTheContext() async throws {
        let model = Model.demo()
        let perPosition = KVCache.bytesPerPosition(configuration: model.configuration)
        // Three blocks of 16 positions (and a few bytes that buy nothing): 48 positions in all.
        let engine = try Engine(model: model, options: EngineOptions(maxBatch: 16, kvCacheBytes: 48 * perPosition + 5, threads: 1))
        #expect(engine.slotCount == 16 && engine.kvBlockCount == 3 && engine.kvBlockSize == 16)
        #expect(engine.kvCacheBytes == 48 * perPosition && engine.contextLength == 48)
        // The same bytes hold twice the blocks in f16.
        let half = try Engine(model: model, options: EngineOptions(maxBatch: 16, kvCacheBytes: 48 * perPosition + 5, threads: 1, kvCacheType: .f16))
        #expect(half.kvBlockCount == 6 && half.contextLength == 64)
        #expect(throws: EngineError.self) {
            try Engine(model: model, options: EngineOptions(kvCacheBytes: 16 * perPosition / 2 - 1, kvCacheType: .f16))
        }
        // A prompt the context would hold but the budget cannot is an error naming the numbers.
        await #expect(throws: EngineError.promptExceedsKVBudget(tokens: 50, budgetTokens: 48, budgetBytes: 48 * perPosition)) {
            try await engine.generate(String(repeating: "a", count: 50), GenerationParameters(maxTokens: 1))
        }
        let text = EngineError.promptExceedsKVBudget(tokens: 50, budgetTokens: 48, budgetBytes: 48 * perPosition).description
        #expect(text.contains("50 tokens") && text.contains("48 positions") && text.contains("\(48 * perPosition) bytes"))
        // The default: every sequence at the full context (here far below a quarter of memory).
        let defaults = try Engine(model: model, options: EngineOptions(maxBatch: 4, threads: 1))
        #expect(defaults.kvCacheBytes == 4 * 64 * perPosition)
    }

    @Test func halfPrecisionCacheGivesTheSameTokensAtAnyBatchAndThreads() async throws {
        let model = Model.demo()
        let order = Array(0..<16)
        let sequential = try Engine(model: model, options: EngineOptions(maxBatch: 1, threads: 1, kvCacheType: .f16))
        let reference = try await Self.runAll(sequential, order: order)
        let batched = try Engine(model: model, options: EngineOptions(maxBatch: 16, prefillChunk: 3, threads: 2, kvCacheType: .f16))
        let results = try await Self.runAll(batched, order: order.reversed())
        for i in order { #expect(results[i]?.tokens == reference[i]?.tokens, "request \(i)") }
        #expect(batched.statistics.averageBatchSize > 1)
    }

    @Test func fullQueueIsAClearErrorNotAHang() async throws {
        let engine = try Engine(model: Model.demo(), options: EngineOptions(maxBatch: 1, queueLimit: 1, threads: 1))
        let long = GenerationParameters(maxTokens: 50, temperature: 0.8, seed: 1)
        let first = engine.stream("a", long)
        let second = engine.stream("b", long)
        let third = engine.stream("c", long)
        await #expect(throws: EngineError.queueFull(limit: 1)) { for try await _ in third {} }
        var count = 0
        for try await _ in first { count += 1 }
        for try await _ in second { count += 1 }
        #expect(count == 100)
    }

    @Test func cancellingOneRequestLeavesTheOthersUntouched() async throws {
        let model = Model.demo()
        let engine = try Engine(model: model, options: EngineOptions(maxBatch: 8, threads: 2))
        let reference = try (0..<4).map { try model.generate(Self.prompts[$0], Self.parameters($0)) }
        // The victim's third token holds the scheduler until the test has cancelled it, so the
        // cancellation lands at a known step.
        let (started, signal) = AsyncStream<Void>.makeStream()
        let proceed = DispatchSemaphore(value: 0)
        let victim = Task {
            try await engine.generate("The story of", GenerationParameters(maxTokens: 45, temperature: 0.8, seed: 99)) { event in
                if event.index == 2 {
                    signal.yield()
                    proceed.wait()
                }
            }
        }
        for await _ in started { break }
        let others = Task { try await Self.runAll(engine, order: [0, 1, 2, 3]) }
        victim.cancel()
        proceed.signal()
        let cancelled = try await victim.value
        let results = try await others.value
        #expect(cancelled.finishReason == .cancelled)
        #expect(cancelled.completionTokenCount == 3)
        for i in 0..<4 { #expect(results[i]?.tokens == reference[i].tokens) }
    }

    @Test func droppingAStreamCancelsItsRequestEvenWhileQueued() async throws {
        let engine = try Engine(model: Model.demo(), options: EngineOptions(maxBatch: 1, threads: 1))
        let proceed = DispatchSemaphore(value: 0)
        let (started, signal) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await engine.generate("Why do we", Self.parameters(1)) { event in
                if event.index == 0 {
                    signal.yield()
                    proceed.wait()
                }
            }
        }
        for await _ in started { break }
        // The only slot is busy: this request waits in the queue, and is dropped there.
        do {
            let queued = engine.stream("Imagine if", GenerationParameters(maxTokens: 45, temperature: 0.8, seed: 4))
            _ = queued
        }
        proceed.signal()
        let first = try await holder.value
        #expect(first.finishReason == .length)
        // The slot comes back for the next request, which runs to completion.
        let next = try await engine.generate("Once upon", Self.parameters(2))
        #expect(next.finishReason == .length)
        let stats = engine.statistics
        #expect(stats.generatedTokens == first.completionTokenCount + next.completionTokenCount)
    }

    @Test func shutdownFailsWhatIsLeft() async throws {
        let engine = try Engine(model: Model.demo(), options: EngineOptions(maxBatch: 1, threads: 1))
        engine.shutdown()
        await #expect(throws: EngineError.shutDown) { try await engine.generate("abc", .greedy(maxTokens: 3)) }
    }
}
