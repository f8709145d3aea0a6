// Scenario 3's measurements: the same prompts at several concurrency levels and strategies, one
// warm-up, then the median of several timed passes per level (taken round-robin, see below). The "identical" column is measured,
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
    /// Median wall-clock seconds of one pass over all prompts (of the passes that ran, after Ctrl-C).
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
    /// Measures `plan`. `makeGenerator` gives a generator of a strategy for up to that many callers
    /// at once (called once per strategy, and once for the warm-up); `status`
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
        // One generator per strategy, sized for the highest level: the batch processor is what
        // limits a pass to its level (a pool of 8 contexts serving 2 callers creates only 2).
        let highest = plan.levels.max()!
        let generators = Dictionary(uniqueKeysWithValues: plan.strategies.map { ($0, makeGenerator($0, highest)) })
        // The repetitions go round-robin over the (strategy, level) pairs: a burst of background
        // load then lands on one pass of several rows instead of on all passes of one row, which
        // would skew the comparison.
        let cells = plan.strategies.flatMap { strategy in plan.levels.map { (strategy: strategy, level: $0) } }
        var times = [[Double]](repeating: [], count: cells.count)
        var identical = [Bool](repeating: true, count: cells.count)
        var tokenCounts = [Int](repeating: 0, count: cells.count)
        do {
            status("warm-up: \(baselineStrategy), one at a time (the reference outputs)")
            let reference = try await pass(plan, generator: makeGenerator(baselineStrategy, 1), concurrency: 1).tokens
            for repetition in 1...plan.repetitions {
                status("pass \(repetition) of \(plan.repetitions) over \(cells.count) strategy/level pairs")
                for (i, cell) in cells.enumerated() {
                    let result = try await pass(plan, generator: generators[cell.strategy]!, concurrency: cell.level)
                    times[i].append(result.seconds)
                    identical[i] = identical[i] && result.tokens == reference
                    tokenCounts[i] = result.tokens.reduce(0) { $0 + $1.count }
                }
            }
        } catch is CancellationError {
            outcome.cancelled = true
        }
        // After a Ctrl-C, the rows are the medians of the passes that finished.
        guard let baseline = times[0].isEmpty ? nil : median(times[0]) else { return outcome }
        for (i, cell) in cells.enumerated() where !times[i].isEmpty {
            let seconds = median(times[i])
            outcome.rows.append(BenchmarkRow(
                strategy: cell.strategy.rawValue, concurrency: cell.level, seconds: seconds,
                itemsPerSecond: Double(plan.prompts.count) / seconds, tokensPerSecond: Double(tokenCounts[i]) / seconds,
                speedup: baseline / seconds, identical: identical[i]))
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
