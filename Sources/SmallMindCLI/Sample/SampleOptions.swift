import SmallMind
import SmallMindKernels

/// The sample's settings from its command line. Unset values mean "the scenario's default" (and,
/// in the interactive menu, "ask").
public struct SampleOptions: Sendable {
    /// Run this scenario (1, 2 or 3) and exit, instead of showing the menu.
    public var scenario: Int?
    /// Tokens per generation (defaults: 30, 25 and 20 in scenarios 1, 2 and 3).
    public var maxTokens: Int?
    /// Generations at once in scenarios 1 and 2 (defaults: all four prompts; 3), at most
    /// `maximumConcurrency`.
    public var concurrency: Int?
    /// The most generations at once in scenarios 1 and 2: scenario 2's twelve prompts. More would
    /// find nothing to run, and each would still reserve a KV cache (with a real model, ~100 MB each).
    public static let maximumConcurrency = 12
    /// Scenario 3's concurrency levels.
    public var levels: [Int] = [1, 2, 4, 8]
    /// Scenario 3's timed passes per level.
    public var repetitions: Int = 10
    /// Scenario 3's strategies (the first is the speed-up baseline).
    public var strategies: [GenerationStrategy] = GenerationStrategy.allCases
    /// Scenario 3's results as JSON on standard output (everything else goes to standard error).
    public var json = false
    /// Kernel threads of the batched strategy's engine; nil = all cores.
    public var threads: Int?

    /// The thread count to use.
    var threadCount: Int { threads ?? ThreadPool.processorCount }

    public init() {}
}

/// The sample's fixed inputs, from the C# original.
public enum SamplePrompts {
    /// Scenario 1's prompts.
    public static let basic = ["The future of AI", "Once upon a time", "In the year 2050", "The quick brown fox"]
    /// Scenarios 2 and 3 draw their prompts from these in turn.
    public static let batch = [
        "The future of", "In a world where", "Scientists discover", "Breaking news:", "Once upon a time",
        "The secret to", "How to build", "Why do we", "The story of", "Imagine if",
    ]

    /// `count` prompts drawn from `batch` in turn.
    public static func batch(count: Int) -> [String] { (0..<count).map { batch[$0 % batch.count] } }
}
