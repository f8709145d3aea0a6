import Foundation
import Testing
import SmallMind
@testable import SmallMindCLI

@Suite("The sample, driven through a scripted console")
struct SampleAppTests {
    static func app(_ input: [String], options: SampleOptions = SampleOptions()) -> (SampleApp, ScriptedConsole) {
        let console = ScriptedConsole(input)
        return (SampleApp(options: options, console: console) { Model.demo() }, console)
    }

    @Test func bannerSummaryAndMenu() async {
        let (app, console) = Self.app(["0"])
        #expect(await app.run() == 0)
        let out = console.output
        #expect(out.hasPrefix(String(repeating: "=", count: 50) + "\nSmallMind Multi-Threaded Generation Sample\n" + String(repeating: "=", count: 50)))
        for text in ["Initializing model...", "Layers: 2", "Embedding size: 128", "Heads: 4", "Vocabulary: 96", "Context: 64",
                     "1. Basic Concurrent Generation", "2. Batch Processing with Progress", "3. Performance Benchmark", "0. Exit", "Choice: "] {
            #expect(out.contains(text), "missing \(text)")
        }
        // The demo model's text is noise: the banner says so, and how to get real text.
        for text in ["The built-in demo model is untrained", "its text is noise", "--model FILE.gguf", "A real model", "fetch_real_models.sh"] {
            #expect(out.contains(text), "missing \(text)")
        }
    }

    @Test func aRealModelsBannerHasNoDemoNote() async {
        let console = ScriptedConsole(["0"])
        let app = SampleApp(options: SampleOptions(), console: console) {
            try Model(weights: DemoModel.weights(), tokenizer: CharacterTokenizer(), name: "other.gguf")
        }
        #expect(await app.run() == 0)
        #expect(!console.output.contains("untrained"))
    }

    @Test func invalidChoicesReAskAndEndOfInputExitsCleanly() async {
        let (app, console) = Self.app(["x", "9", "0"])
        #expect(await app.run() == 0)
        #expect(console.output.occurrences(of: "Invalid choice") == 2)
        let (silent, _) = Self.app([])
        #expect(await silent.run() == 0)
    }

    @Test func scenarioOneShowsFourResultsWithWorkers() async {
        let (app, console) = Self.app(["1", "0"])
        #expect(await app.run() == 0)
        let out = console.output
        for (i, prompt) in SamplePrompts.basic.enumerated() { #expect(out.contains("[\(i + 1)] \(prompt)\n")) }
        #expect(out.occurrences(of: " thread ") == 4)
        #expect(out.contains("Total time: "))
    }

    @Test func scenarioTwoAsksReAsksAndListsTwelveResultsInOrder() async throws {
        let (app, console) = Self.app(["2", "lots", "", "0", "2", "0"])
        #expect(await app.run() == 0)
        let out = console.output
        #expect(out.contains("'lots' is not a whole number"))
        #expect(out.contains("0 is out of range"))
        #expect(out.contains("12 prompts, 2 at a time (max 25 tokens"))
        var position = out.startIndex
        for (i, prompt) in SamplePrompts.batch(count: 12).enumerated() {
            let range = try #require(out.range(of: "[\(i + 1)] \(prompt) -> \(prompt)", range: position..<out.endIndex))
            position = range.upperBound
        }
        #expect(out.contains("Processed 12 items in "))
        #expect(out.contains("Throughput: "))
        #expect(console.errors.contains("12/12 (100%)"))   // the progress bar, on standard error
    }

    /// End of input at a scenario's question goes back to the menu (which, input having ended,
    /// then says goodbye); nothing runs.
    @Test func endOfInputDuringAQuestionReturnsToTheMenu() async {
        let (app, console) = Self.app(["2", "10"])
        #expect(await app.run() == 0)
        let out = console.output
        #expect(!out.contains("Processed"))
        #expect(out.contains("(no answer: back to the menu)"))
        #expect(out.occurrences(of: "Select a scenario:") == 2)
        #expect(out.hasSuffix("Goodbye.\n"))
    }

    /// At a terminal, input goes on after Ctrl-D: the menu asks again and the next scenario runs.
    @Test func afterEndOfInputAtAQuestionTheMenuCarriesOn() async {
        let console = ScriptedConsole(["2", nil, "2", "4", "2", "0"])
        let app = SampleApp(options: SampleOptions(), console: console) { Model.demo() }
        #expect(await app.run() == 0)
        #expect(console.output.contains("(no answer: back to the menu)"))
        #expect(console.output.contains("12 prompts, 2 at a time (max 4 tokens"))
    }

    @Test func scenarioTwoConcurrencyIsBoundedAndTheBoundIsStated() async {
        let (app, console) = Self.app(["2", "", "13", "12", "0"])
        #expect(await app.run() == 0)
        #expect(console.output.contains("Enter concurrency level, 1 to 12 (default 3): "))
        #expect(console.output.contains("13 is out of range; enter a number from 1 to 12"))
        #expect(console.output.contains("12 prompts, 12 at a time"))
        #expect(SampleOptions.maximumConcurrency == 12)
    }

    @Test func scenarioThreeReportsEveryLevelIdentical() async {
        var options = SampleOptions()
        options.scenario = 3
        options.levels = [1, 2, 3]
        options.repetitions = 1
        options.maxTokens = 4
        let (app, console) = Self.app([], options: options)
        #expect(await app.run() == 0)
        let rows = console.output.split(separator: "\n").filter { $0.hasPrefix("locked ") || $0.hasPrefix("parallel ") }
        #expect(rows.count == 6)
        #expect(rows.allSatisfy { $0.hasSuffix("| yes") })
        #expect(console.output.contains("Strategy | Concurrency | Time (ms) | Throughput (items/s) | Tokens/s | Speedup | Identical"))
    }

    @Test func scenarioThreeAsJSON() async throws {
        var options = SampleOptions()
        options.scenario = 3
        options.levels = [1, 2]
        options.repetitions = 1
        options.maxTokens = 3
        options.strategies = [.parallel]
        options.json = true
        let (app, console) = Self.app([], options: options)
        #expect(await app.run() == 0)
        // Standard output holds only the JSON; the banner went to standard error.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(console.output.utf8)) as? [String: Any])
        let results = try #require(object["results"] as? [[String: Any]])
        #expect(results.map { $0["concurrency"] as? Int } == [1, 2])
        for row in results {
            for key in ["strategy", "concurrency", "seconds", "items_per_second", "tokens_per_second", "speedup", "identical"] {
                #expect(row[key] != nil, "missing \(key)")
            }
            #expect(row["identical"] as? Bool == true)
        }
        #expect(console.errors.contains("SmallMind Multi-Threaded Generation Sample"))
    }

    @Test func cancellingAScenarioReportsWhatFinished() async {
        var options = SampleOptions()
        options.scenario = 3
        options.repetitions = 1000
        let (app, console) = Self.app([], options: options)
        let task = Task { await app.run() }
        try? await Task.sleep(for: .milliseconds(300))
        task.cancel()
        #expect(await task.value == 130)
        #expect(console.output.contains("Scenario cancelled"))
    }

    @Test func aModelThatFailsToLoadIsOneErrorLine() async {
        let console = ScriptedConsole(["0"])
        let app = SampleApp(options: SampleOptions(), console: console) {
            throw LoadingError.cannotOpen(file: "/nowhere.bin", reason: "No such file or directory")
        }
        #expect(await app.run() == 1)
        #expect(console.errors == "error: /nowhere.bin: cannot open: No such file or directory\n")
    }
}

/// ../shared beside the package root, where the reference models live (absent in a plain clone).
enum SharedFiles {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
    static func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path(relative)) }
}

@Suite("The sample on a real model")
struct SampleRealModelTests {
    @Test(.enabled(if: SharedFiles.exists("models/stories260K.bin") && SharedFiles.exists("models/tok512.bin"),
                   "needs ../shared/models/stories260K.bin and tok512.bin beside the package (absent: skipped)"))
    func scenarioOneRunsOnStories260K() async throws {
        var options = SampleOptions()
        options.scenario = 1
        options.maxTokens = 12
        let console = ScriptedConsole([])
        let app = SampleApp(options: options, console: console) {
            try Model.load(path: SharedFiles.path("models/stories260K.bin"), tokenizerPath: SharedFiles.path("models/tok512.bin"))
        }
        #expect(await app.run() == 0)
        #expect(console.output.contains("Vocabulary: 512"))
        #expect(console.output.occurrences(of: " thread ") == 4)
        #expect(console.output.contains("Once upon a time"))
    }
}
