// The interactive sample: banner, model summary, a menu of three scenarios, and the rules a person
// at a keyboard expects — a bad answer is asked again, end of input (Ctrl-D, or the end of a piped
// script) exits with status 0, Ctrl-C during a scenario cancels it and returns to the menu. The
// executable only parses flags and wires this to the real console; tests drive it with scripts.
import SmallMind

/// The MultiThreadedGeneration sample, independent of the terminal.
public struct SampleApp: Sendable {
    public var options: SampleOptions
    public let console: any Console
    /// Turns Ctrl-C into cancellation of the running scenario; nil in tests.
    public let interrupts: InterruptHandler?
    let loadModel: @Sendable () throws -> Model

    public init(
        options: SampleOptions, console: any Console, interrupts: InterruptHandler? = nil,
        loadModel: @escaping @Sendable () throws -> Model
    ) {
        self.options = options
        self.console = console
        self.interrupts = interrupts
        self.loadModel = loadModel
    }

    /// How a scenario ended.
    enum Outcome {
        case completed, interrupted, failed
        /// A setting does not fit (status 64, a usage error).
        case unusable
        /// Input ended at one of the scenario's questions: nothing ran; back to the menu.
        case abandoned
    }

    static let menu = [
        ("1", "Basic Concurrent Generation"), ("2", "Batch Processing with Progress"), ("3", "Performance Benchmark"), ("0", "Exit"),
    ]

    /// Runs the sample and returns the process's exit status.
    public func run() async -> Int32 {
        let rule = String(repeating: "=", count: 50)
        say("\(rule)\nSmallMind Multi-Threaded Generation Sample\n\(rule)\n\nInitializing model...\n")
        let model: Model
        do {
            model = try loadModel()
        } catch {
            console.writeError("error: \(error)\n")
            return 1
        }
        for (name, value) in ModelLocator.summary(model) { say("  \(name): \(value)\n") }
        if model.name == "demo" { say(Self.demoModelNote) }

        if let scenario = options.scenario {
            switch await run(scenario: scenario, model: model) {
            case .completed, .abandoned: return 0
            case .interrupted: return 130
            case .failed: return 1
            case .unusable: return 64
            }
        }
        while true {
            say("\nSelect a scenario:\n" + Self.menu.map { "\($0.0). \($0.1)\n" }.joined())
            guard let choice = Ask.choice("Choice: ", from: ["1", "2", "3", "0"], on: console), choice != "0" else {
                say("Goodbye.\n")
                return 0
            }
            // Whatever the scenario's end, even input ending at one of its questions, the menu comes back
            // (and exits if input has ended for good).
            _ = await run(scenario: Int(choice)!, model: model)
        }
    }

    /// What the banner says under the built-in model's summary: why its text is noise, and how to
    /// get real text.
    static let demoModelNote = """

          The built-in demo model is untrained (seeded random weights): its text is noise, on purpose.
          It shows the concurrency, fast and the same on every machine. For real text, pass
          --model FILE.gguf — the README's "A real model" fetches two small ones
          (bash ../shared/tools/fetch_real_models.sh), then for example:
            MultiThreadedGeneration --model ~/.cache/smallmind/models/gemma-3-270m-q4_k_m.gguf

        """

    /// Asks what the scenario needs, then runs it where Ctrl-C can cancel it.
    func run(scenario: Int, model: Model) async -> Outcome {
        if let maxTokens = options.maxTokens {
            let room = Self.tokenRoom(model: model, prompts: scenario == 1 ? SamplePrompts.basic : SamplePrompts.batch)
            if maxTokens > room {
                console.writeError("error: --max-tokens \(maxTokens) does not fit: the model's context is \(model.configuration.contextLength) tokens and the longest prompt of scenario \(scenario) leaves room for \(room)\n")
                return .unusable
            }
        }
        let work: @Sendable () async -> Outcome
        switch scenario {
        case 1:
            work = { await basicConcurrentGeneration(model: model) }
        case 2:
            guard let settings = batchSettings(model: model) else {
                say("(no answer: back to the menu)\n")
                return .abandoned
            }
            work = { await batchProcessing(model: model, maxTokens: settings.maxTokens, concurrency: settings.concurrency) }
        default:
            work = { await performanceBenchmark(model: model) }
        }
        let (outcome, interrupted) = await interruptible(work)
        if interrupted { say("Scenario cancelled (Ctrl-C).\n") }
        return interrupted ? .interrupted : outcome
    }

    private func interruptible(_ work: @escaping @Sendable () async -> Outcome) async -> (Outcome, Bool) {
        if let interrupts { return await interrupts.run(work) }
        let outcome = await work()
        return (outcome, Task.isCancelled)
    }

    /// Scenario 2's questions, unless the command line answered them. Nil at end of input. The
    /// concurrency is at most `SampleOptions.maximumConcurrency`, which the question states.
    func batchSettings(model: Model) -> (maxTokens: Int, concurrency: Int)? {
        // A script that named a scenario is not asked anything.
        let ask = options.scenario == nil
        var maxTokens = options.maxTokens ?? 25, concurrency = options.concurrency ?? 3
        if ask && options.maxTokens == nil {
            // Every prompt plus its tokens must fit the model's context (64 for the demo model).
            let room = Self.tokenRoom(model: model, prompts: SamplePrompts.batch)
            guard let answer = Ask.integer("Enter max tokens per generation", default: min(25, room), range: 1...max(1, room), on: console) else { return nil }
            maxTokens = answer
        }
        if ask && options.concurrency == nil {
            guard let answer = Ask.integer("Enter concurrency level", default: 3, range: 1...SampleOptions.maximumConcurrency, on: console) else {
                return nil
            }
            concurrency = answer
        }
        return (maxTokens, concurrency)
    }

    /// The most tokens every one of `prompts` can generate within the model's context.
    static func tokenRoom(model: Model, prompts: [String]) -> Int {
        let longest = prompts.compactMap { try? model.tokenize($0).count }.max() ?? 0
        return model.configuration.contextLength - longest
    }

    /// Text for people: results go to standard output, except in JSON mode where standard output
    /// carries only the JSON.
    func say(_ text: String) {
        if options.json { console.writeError(text) } else { console.write(text) }
    }
}
