// The MultiThreadedGeneration sample's entry point: flags in, the real console and Ctrl-C wired to
// `SampleApp` (in SmallMindCLI, where it is tested). Nothing else lives here.
import ArgumentParser
import Foundation
import SmallMind
import SmallMindCLI

@main
struct SampleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "MultiThreadedGeneration",
        abstract: "SmallMind's multi-threaded generation sample: concurrent generation, batch processing, benchmark.",
        discussion: """
            Without --scenario, shows a menu on standard input. Ctrl-C cancels a running scenario; \
            Ctrl-C or end of input at the menu exits; end of input at a scenario's question returns \
            to the menu.

            Without --model, the built-in demo model: untrained, so its text is noise (fast, and \
            the same everywhere). For real text, --model FILE.gguf (the README's "A real model").
            """,
        version: SmallMindVersion.current)

    @Option(help: "A GGUF file or a llama2.c checkpoint to use instead of the built-in demo model.")
    var model: String?

    @Option(help: "The llama2.c tokenizer.bin that goes with a llama2.c --model (GGUF files carry their own).")
    var tokenizer: String?

    @Option(parsing: .unconditional, help: "Run one scenario (1, 2 or 3) and exit.")
    var scenario: Int?

    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Tokens per generation (scenario defaults: 30, 25, 20).")
    var maxTokens: Int?

    @Option(parsing: .unconditional, help: "Generations at once in scenarios 1 and 2, 1 to \(SampleOptions.maximumConcurrency) (defaults: 4, 3).")
    var concurrency: Int?

    @Option(help: "Scenario 3's concurrency levels, comma-separated.")
    var levels: String = "1,2,4,8"

    @Option(parsing: .unconditional, help: "Scenario 3's timed passes per level (the median is shown).")
    var repetitions: Int = 10

    @Option(help: "Scenario 3's strategies: locked, parallel, batched or all (comma-separated; the first is the baseline).")
    var strategy: String = "all"

    @Flag(help: "Scenario 3's results as JSON on standard output (needs --scenario 3).")
    var json = false

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if let scenario, !(1...3).contains(scenario) { throw ValidationError("--scenario must be 1, 2 or 3, got \(scenario)") }
        if let maxTokens, !(1...10_000).contains(maxTokens) { throw ValidationError("--max-tokens must be from 1 to 10000, got \(maxTokens)") }
        let most = SampleOptions.maximumConcurrency
        if let concurrency, !(1...most).contains(concurrency) { throw ValidationError("--concurrency must be from 1 to \(most), got \(concurrency)") }
        guard (1...1000).contains(repetitions) else { throw ValidationError("--repetitions must be from 1 to 1000, got \(repetitions)") }
        if json && scenario != 3 { throw ValidationError("--json reports scenario 3; add --scenario 3") }
        if tokenizer != nil && model == nil { throw ValidationError("--tokenizer goes with --model") }
        do {
            _ = try CommandLineValues.levels(levels)
            _ = try CommandLineValues.strategies(strategy)
        } catch {
            throw ValidationError("\(error)")  // a usage error: status 64
        }
    }

    func run() async throws {
        var options = SampleOptions()
        options.scenario = scenario
        options.maxTokens = maxTokens
        options.concurrency = concurrency
        options.levels = try CommandLineValues.levels(levels)
        options.repetitions = repetitions
        options.strategies = try CommandLineValues.strategies(strategy)
        options.json = json
        options.threads = threadOptions.threads

        // Ctrl-C with no scenario running: leave quietly (status 0 at the menu, 130 in a script).
        let idleStatus: Int32 = scenario == nil ? 0 : 130
        let interrupts = InterruptHandler {
            StandardStreams.out("\n")
            Foundation.exit(idleStatus)
        }
        interrupts.install()
        let (model, tokenizer) = (self.model, self.tokenizer)
        let app = SampleApp(options: options, console: StandardConsole(), interrupts: interrupts) {
            try ModelLocator.load(model: model, tokenizer: tokenizer)
        }
        let status = await app.run()
        if status != 0 { throw ExitCode(status) }
    }

    static func main() async {
        await CommandMain.run(Self.self)
    }
}
