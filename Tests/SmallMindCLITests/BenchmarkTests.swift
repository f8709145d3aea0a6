import Testing
import SmallMind
import SmallMindKernels
@testable import SmallMindCLI

/// A generator whose tokens depend on how many run at once — a broken runtime — to show that the
/// "identical" column is measured.
final class ConcurrencyLeakingGenerator: TextGenerator {
    private let inFlight = Locked(0)
    func generate(_ prompt: String, _ parameters: GenerationParameters) async throws -> Completion {
        let company = inFlight.withLock { $0 += 1; return $0 - 1 }
        defer { inFlight.withLock { $0 -= 1 } }
        try await Task.sleep(for: .milliseconds(20))   // long enough for the others to start
        return Completion(prompt: prompt, continuation: "", promptTokens: [], tokens: [company > 0 ? 1 : 0],
                          finishReason: .length, timings: GenerationTimings())
    }
}

@Suite("Benchmark")
struct BenchmarkTests {
    static func plan(levels: [Int], strategies: [GenerationStrategy] = [.locked, .parallel]) -> BenchmarkPlan {
        BenchmarkPlan(
            prompts: SamplePrompts.batch(count: 6), parameters: { GenerationParameters(maxTokens: 3, temperature: 0.8, topK: 20, seed: UInt64($0)) },
            levels: levels, repetitions: 2, strategies: strategies)
    }

    @Test func measuresEveryStrategyAndLevelAgainstOneBaseline() async throws {
        let model = Model.demo()
        let outcome = try await Benchmark.run(Self.plan(levels: [1, 2, 4])) { $0.makeGenerator(model: model, concurrency: $1) }
        #expect(outcome.rows.map { "\($0.strategy)@\($0.concurrency)" } == ["locked@1", "locked@2", "locked@4", "parallel@1", "parallel@2", "parallel@4"])
        #expect(outcome.rows.allSatisfy { $0.identical })
        #expect(outcome.rows[0].speedup == 1)
        #expect(outcome.baseline == "locked at concurrency 1")
        #expect(outcome.rows.allSatisfy { $0.tokensPerSecond > 0 && abs($0.itemsPerSecond * $0.seconds - 6) < 1e-9 })
        #expect(!outcome.cancelled)
    }

    @Test func identicalIsMeasuredNotAssumed() async throws {
        let outcome = try await Benchmark.run(Self.plan(levels: [1, 2], strategies: [.parallel])) { _, _ in ConcurrencyLeakingGenerator() }
        #expect(outcome.rows.map(\.identical) == [true, false])
    }

    @Test func generationErrorsAreThrown() async {
        struct Failing: TextGenerator {
            func generate(_ prompt: String, _ parameters: GenerationParameters) async throws -> Completion {
                throw GenerationError.promptTooLong(tokens: 99, contextLength: 64)
            }
        }
        await #expect(throws: GenerationError.self) { try await Benchmark.run(Self.plan(levels: [1])) { _, _ in Failing() } }
    }

    @Test func theMedianIsTheMiddle() {
        #expect(Benchmark.median([3, 1, 2]) == 2)
        #expect(Benchmark.median([4, 1, 3, 2]) == 2.5)
    }

    @Test func tableHasTheSampleColumns() {
        let row = BenchmarkRow(strategy: "parallel", concurrency: 2, seconds: 0.05, itemsPerSecond: 400, tokensPerSecond: 8000, speedup: 1.9, identical: true)
        let text = BenchmarkReport.table([row])
        #expect(text.hasPrefix("Strategy | Concurrency | Time (ms) | Throughput (items/s) | Tokens/s | Speedup | Identical\n"))
        #expect(text.contains("parallel |           2 |      50.0 |                400.0 |     8000 |   1.90x | yes"))
    }
}

struct BatchedBenchmarkTests {
    @Test(arguments: KVCache.ElementType.allCases)
    func sweepRunsWithEitherCacheType(kvCacheType: KVCache.ElementType) {
        let row = BatchedBenchmark.run(
            model: Model.demo(), batch: 2, promptTokens: 4, generatedTokens: 3, pool: ThreadPool(threads: 1), repetitions: 1,
            kvCacheType: kvCacheType)
        #expect(row.b == 2 && row.pp == 4 && row.tg == 3)
        #expect(row.s_pp > 0 && row.s_tg > 0 && row.t >= row.t_pp)
    }
}

struct MatmulBenchmarkTests {
    /// Every weight format runs through the path the forward pass takes and reports the shape it
    /// measured with a positive, finite rate.
    @Test(arguments: WeightFormat.allCases)
    func everyFormatRuns(type: WeightFormat) {
        let result = MatmulBenchmark.run(rows: 3, outDim: 20, inDim: 512, pool: ThreadPool(threads: 2), repetitions: 1, type: type)
        #expect(result.type == type.displayName && result.rows == 3 && result.outDim == 20 && result.inDim == 512)
        #expect(result.seconds > 0 && result.gflops.isFinite && result.gflops > 0)
    }
}
