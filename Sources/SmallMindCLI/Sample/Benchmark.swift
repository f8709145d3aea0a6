// Scenario 3's measurements: the same prompts at several concurrency levels and strategies, one
// warm-up, then the median of several timed passes per level. The "identical" column is measured,
// not assumed: every pass's generated token ids are compared with the warm-up's sequential
// (concurrency 1) run. The speed-up is honest wall-clock time against one named baseline.
import SmallMind

/// What to measure.
public struct BenchmarkPlan: Sendable {
    public var prompts: [String]
    /// Parameters of the prompt at each index (the seed usually is the index).
    public var parameters: @Sendable (Int) -> GenerationParameters
    /// Concurrency levels, measured in this order.
    public var levels: [Int]
    /// Timed passes per level; the median is reported.
    public var repetitions: Int
    public var strategies: [GenerationStrategy]

    public init(
        prompts: [String], parameters: @escaping @Sendable (Int) -> GenerationParameters, levels: [Int], repetitions: Int,
        strategies: [GenerationStrategy]
    ) {
        self.prompts = prompts
        self.parameters = parameters
        self.levels = levels
        self.repetitions = repetitions
        self.strategies = strategies
    }
}

/// One strategy at one concurrency level.
public struct BenchmarkRow: Sendable, Equatable {
    public var strategy: String
    public var concurrency: Int
    /// Median wall-clock seconds of one pass over all prompts.
    public var seconds: Double
    public var itemsPerSecond: Double
    /// Generated tokens (prompt tokens excluded) per second.
    public var tokensPerSecond: Double
    /// The baseline's median time divided by this row's.
    public var speedup: Double
    /// Whether every output of every pass equals the sequential reference, token for token.
    public var identical: Bool
}

/// The rows measured, and whether Ctrl-C cut the run short (the rows are then those finished).
public struct BenchmarkOutcome: Sendable {
    public var rows: [BenchmarkRow]
    public var cancelled: Bool
    /// Which row the speed-ups are measured against, e.g. "locked at concurrency 1".
    public var baseline: String
}

/// Runs benchmark plans.
public enum Benchmark {
    /// Measures `plan`. `makeGenerator` gives a fresh generator for a strategy and level; `status`
    /// hears what is being measured. Throws the first generation error (cancellation is reported
    /// in the outcome instead).
    public static func run(
        _ plan: BenchmarkPlan,
        makeGenerator: @Sendable (GenerationStrategy, Int) -> any TextGenerator,
        status: @Sendable (String) -> Void = { _ in }
    ) async throws -> BenchmarkOutcome {
        precondition(!plan.levels.isEmpty && !plan.strategies.isEmpty && plan.repetitions >= 1, "an empty benchmark plan")
        let baselineStrategy = plan.strategies[0], baselineLevel = plan.levels[0]
        var outcome = BenchmarkOutcome(rows: [], cancelled: false, baseline: "\(baselineStrategy) at concurrency \(baselineLevel)")
        do {
            status("warm-up: \(baselineStrategy), one at a time (the reference outputs)")
            let reference = try await pass(plan, generator: makeGenerator(baselineStrategy, 1), concurrency: 1).tokens
            var baselineSeconds: Double?
            for strategy in plan.strategies {
                for level in plan.levels {
                    status("\(strategy) at concurrency \(level): \(plan.repetitions) pass\(plan.repetitions == 1 ? "" : "es")")
                    let generator = makeGenerator(strategy, level)
                    var times: [Double] = [], identical = true, tokenCount = 0
                    for _ in 0..<plan.repetitions {
                        let result = try await pass(plan, generator: generator, concurrency: level)
                        times.append(result.seconds)
                        identical = identical && result.tokens == reference
                        tokenCount = result.tokens.reduce(0) { $0 + $1.count }
                    }
                    let seconds = median(times)
                    let baseline = baselineSeconds ?? seconds
                    baselineSeconds = baseline
                    outcome.rows.append(BenchmarkRow(
                        strategy: strategy.rawValue, concurrency: level, seconds: seconds,
                        itemsPerSecond: Double(plan.prompts.count) / seconds, tokensPerSecond: Double(tokenCount) / seconds,
                        speedup: baseline / seconds, identical: identical))
                }
            }
        } catch is CancellationError {
            outcome.cancelled = true
        }
        return outcome
    }

    /// One timed pass over every prompt: seconds and each prompt's generated tokens.
    static func pass(
        _ plan: BenchmarkPlan, generator: any TextGenerator, concurrency: Int
    ) async throws -> (seconds: Double, tokens: [[Int]]) {
        let parameters = plan.parameters
        let processor = BatchProcessor<String, Completion>(maxConcurrency: concurrency) { prompt, index in
            try await generator.generate(prompt, parameters(index))
        }
        let clock = ContinuousClock()
        let start = clock.now
        let results = await processor.process(plan.prompts)
        let seconds = (clock.now - start).seconds
        // Cancellation first: a Ctrl-C shows up as some items cancelled and others fine.
        if results.contains(where: \.isCancellation) { throw CancellationError() }
        return (seconds, try results.map { try $0.get().tokens })
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
