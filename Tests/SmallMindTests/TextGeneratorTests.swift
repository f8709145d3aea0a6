import Testing
@testable import SmallMind

@Suite("TextGenerator strategies")
struct TextGeneratorTests {
    static let prompts = ["The future of", "Once upon a time", "Breaking news:", "Why do we", "Imagine if", "How to build"]
    static func parameters(_ i: Int) -> GenerationParameters {
        GenerationParameters(maxTokens: 12, temperature: 0.8, topK: 20, topP: 1, seed: UInt64(i))
    }

    /// Same seed ⇒ same tokens, whatever the strategy and however many run beside it.
    @Test(arguments: [GenerationStrategy.locked, .parallel], [1, 3, 8])
    func outputsMatchSequentialGeneration(strategy: GenerationStrategy, concurrency: Int) async throws {
        let model = Model.demo()
        let expected = try Self.prompts.indices.map { try model.generate(Self.prompts[$0], Self.parameters($0)).tokens }
        let generator = strategy.makeGenerator(model: model, concurrency: concurrency)
        let results = await BatchProcessor<String, Completion>(maxConcurrency: concurrency) { prompt, i in
            try await generator.generate(prompt, Self.parameters(i))
        }.process(Self.prompts)
        #expect(try results.map { try $0.get().tokens } == expected)
    }

    @Test func theThreadIsRecordedInsideTheWork() async throws {
        let generator = ParallelGenerator(model: Model.demo(), concurrency: 2)
        let completion = try await generator.generate("The future of", .greedy(maxTokens: 2))
        #expect(completion.threadID != nil)
        #expect(completion.threadID! > 0)
    }

    @Test func theLockedGeneratorRunsOneAtATime() async throws {
        // Concurrency 4 through the lock: every generation still gets the single context.
        let generator = LockedGenerator(model: Model.demo())
        let results = await BatchProcessor<String, Completion>(maxConcurrency: 4) { prompt, i in
            try await generator.generate(prompt, Self.parameters(i))
        }.process(Self.prompts)
        #expect(results.allSatisfy { (try? $0.get()) != nil })
    }

    @Test func aCancelledGenerationThrowsCancellation() async throws {
        let generator = ParallelGenerator(model: Model.demo(), concurrency: 1)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await generator.generate("The future of", .greedy(maxTokens: 50))
        }
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func generationErrorsPassThrough() async throws {
        let generator = ParallelGenerator(model: Model.demo(), concurrency: 1)
        // The demo alphabet is printable ASCII and newline: no "é".
        await #expect(throws: GenerationError.self) { try await generator.generate("caf\u{E9}", .greedy(maxTokens: 5)) }
    }
}
