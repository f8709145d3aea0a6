import Testing
@testable import SmallMind

/// The engine over a paged KV cache: preemption when the pool runs dry and prefix sharing across
/// requests, each giving exactly the tokens and log-probabilities of the request run alone.
struct PagedEngineTests {
    static func model() throws -> Model {
        try Model.load(path: try TestModels.llama2cCheckpoint(seqLen: 200, seed: 11), tokenizerPath: try TestModels.tokenizerFile())
    }

    /// Sampled (the random generator's state must survive a preemption), with the five most
    /// likely tokens' log-probabilities at every step (the test model's whole vocabulary is 12).
    static func parameters(_ i: Int, maxTokens: Int = 24) -> GenerationParameters {
        GenerationParameters(maxTokens: maxTokens, temperature: 0.9, seed: UInt64(100 + i), topLogProbabilities: 5)
    }

    static func runAll(_ engine: Engine, _ prompts: [String], maxTokens: Int = 24) async throws -> [Completion] {
        try await withThrowingTaskGroup(of: (Int, Completion).self) { group in
            for (i, prompt) in prompts.enumerated() {
                group.addTask { (i, try await engine.generate(prompt, parameters(i, maxTokens: maxTokens))) }
            }
            var results = [Completion?](repeating: nil, count: prompts.count)
            for try await (i, completion) in group { results[i] = completion }
            return results.map { $0! }
        }
    }

    /// Each request alone, nothing shared, the whole context available.
    static func alone(_ model: Model, _ prompts: [String], maxTokens: Int = 24) async throws -> [Completion] {
        let engine = try Engine(model: model, options: EngineOptions(maxBatch: 1, threads: 1, reusesPrefixes: false))
        var results: [Completion] = []
        for (i, prompt) in prompts.enumerated() { results.append(try await engine.generate(prompt, parameters(i, maxTokens: maxTokens))) }
        return results
    }

    @Test(arguments: [true, false])
    func preemptedSequencesProduceExactlyTheTokensTheyWouldHaveProduced(sharing: Bool) async throws {
        let model = Model.demo()  // no end-of-sequence token: every request runs its 24 tokens
        let prompts = (0..<8).map { String(repeating: ["abc", "hgf", "eda", "bbh"][$0 % 4], count: 2 + $0 % 3) + "g" }
        let reference = try await Self.alone(model, prompts)
        // Ten blocks of four positions for eight sequences that each grow past thirty: the pool
        // runs dry mid-generation again and again.
        let perPosition = KVCache.bytesPerPosition(configuration: model.configuration)
        for (threads, chunk) in [(1, 256), (2, 3)] {
            let engine = try Engine(model: model, options: EngineOptions(
                maxBatch: 8, kvCacheBytes: 40 * perPosition, prefillChunk: chunk, threads: threads, reusesPrefixes: sharing, kvBlockSize: 4))
            #expect(engine.kvBlockCount == 10)
            let results = try await Self.runAll(engine, prompts)
            for i in prompts.indices {
                #expect(results[i].tokens == reference[i].tokens, "request \(i), \(threads) threads, chunk \(chunk)")
                #expect(results[i].logProbabilities == reference[i].logProbabilities, "request \(i)")
                #expect(results[i].finishReason == reference[i].finishReason)
            }
            #expect(engine.statistics.preemptions > 0, "the budget was meant to force preemptions")
            #expect(engine.statistics.peakKVBlocks <= 10)
        }
    }

    /// A sequence alone in a pool smaller than the context stops when the pool is full, as at the
    /// end of the context, with the same tokens up to there.
    @Test func aLoneSequenceStopsWhereTheBudgetEnds() async throws {
        let model = Model.demo()
        let perPosition = KVCache.bytesPerPosition(configuration: model.configuration)
        let engine = try Engine(model: model, options: EngineOptions(maxBatch: 2, kvCacheBytes: 32 * perPosition, threads: 1))
        #expect(engine.contextLength == 32)
        let prompt = "abcabcabcd"  // ten tokens
        let budgeted = try await engine.generate(prompt, Self.parameters(0, maxTokens: 100))
        let free = try await Self.alone(model, [prompt], maxTokens: 100)[0]
        #expect(budgeted.finishReason == .length)
        #expect(budgeted.promptTokenCount == 10 && budgeted.promptTokenCount + budgeted.completionTokenCount == 33)
        #expect(Array(free.tokens.prefix(budgeted.tokens.count)) == budgeted.tokens)
    }

    /// Requests sharing a preamble, all at once: the preamble's blocks are computed once and
    /// shared (the later requests wait a step for them rather than computing them beside the
    /// first), and every result equals the request run alone without sharing.
    @Test func requestsSharingAPreambleComputeItOnceWithTheSameBits() async throws {
        let model = try Self.model()
        let preamble = String(repeating: "abcdefgh", count: 5)  // 40 tokens: ten blocks of four
        let prompts = (0..<8).map { preamble + String(repeating: "hgf", count: 1 + $0 % 3) + ["a", "b", "c", "d"][$0 % 4] }
        let reference = try await Self.alone(model, prompts, maxTokens: 6)
        let engine = try Engine(model: model, options: EngineOptions(maxBatch: 8, prefillChunk: 16, threads: 2, kvBlockSize: 4))
        let results = try await Self.runAll(engine, prompts, maxTokens: 6)
        for i in prompts.indices {
            #expect(results[i].tokens == reference[i].tokens, "request \(i)")
            #expect(results[i].logProbabilities == reference[i].logProbabilities, "request \(i)")
        }
        let hits = results.map(\.cachedPromptTokenCount)
        #expect(hits.filter { $0 >= 40 }.count == 7, "cached prompt tokens: \(hits)")
        #expect(engine.statistics.reusedPromptTokens == hits.reduce(0, +))
        // A miss gives the same bits as a hit: the same request with another first letter.
        let other = "h" + String(prompts[3].dropFirst())
        let miss = try await engine.generate(other, Self.parameters(0, maxTokens: 6))
        let missAlone = try await Self.alone(model, [other], maxTokens: 6)[0]
        #expect(miss.cachedPromptTokenCount < 4)  // at most a BOS token, copied
        #expect(miss.tokens == missAlone.tokens && miss.logProbabilities == missAlone.logProbabilities)
    }

    /// A pool whose every block is cached by an earlier request, and a request sharing part of
    /// it: it is admitted (taking the shared blocks, evicting the rest), never left waiting.
    @Test(.timeLimit(.minutes(1)))
    func aPoolFullOfCachedBlocksStillAdmitsARequestSharingSomeOfThem() async throws {
        let model = Model.demo()  // 64 positions: four blocks of 16 for one sequence
        let engine = try Engine(model: model, options: EngineOptions(maxBatch: 1, threads: 1))
        #expect(engine.kvBlockCount == 4)
        let first = String(repeating: "The quick brown fox ", count: 2) + "ok"
        _ = try await engine.generate(first, GenerationParameters(maxTokens: 40, seed: 1))
        for second in [String(first.prefix(37)) + "jumps over", String(first.prefix(20)) + "x", first] {
            let completion = try await engine.generate(second, GenerationParameters(maxTokens: 40, seed: 2))
            let alone = try model.generate(second, GenerationParameters(maxTokens: 40, seed: 2))
            #expect(completion.tokens == alone.tokens)
            #expect(completion.cachedPromptTokenCount > 0)
        }
    }
}
