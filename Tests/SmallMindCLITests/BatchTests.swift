import Foundation
import Testing
import SmallMind
@testable import SmallMindCLI

/// A fresh temporary directory for one test.
func temporaryDirectory() throws -> URL {
    let url = testScratchFolder.appendingPathComponent("smallmind-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// One folder per test process for the files tests write, removed when the process exits (the
/// tests' files left /tmp growing by dozens per run before).
let testScratchFolder: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("smallmind-cli-tests-\(getpid())-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: testScratchFolder) }
    return url
}()


/// Records written to memory.
final class MemorySink: BatchRecordSink {
    let records = Locked<[BatchRecord]>([])
    let lines = Locked<[any BatchOutputLine]>([])
    func write(_ line: any BatchOutputLine) throws {
        lines.withLock { $0.append(line) }
        if let record = line as? BatchRecord { records.withLock { $0.append(record) } }
    }
}

@Suite("smallmind batch: input")
struct BatchInputTests {
    let defaults = GenerationParameters(maxTokens: 10, temperature: 0.5, seed: 100)

    @Test func textLinesAreItemsAndBlankLinesAreSkipped() throws {
        let items = try BatchInput.parse("first\n\n  \nsecond\r\nthird", defaults: defaults, source: "in.txt")
        #expect(items.map(\.prompt) == ["first", "second", "third"])
        #expect(items.map(\.index) == [0, 1, 2])
        #expect(items.map(\.line) == [1, 4, 5])
        #expect(items.map(\.parameters.seed) == [100, 101, 102])
        #expect(items.allSatisfy { $0.parameters.maxTokens == 10 })
    }

    @Test func jsonLinesCarryPerItemParameters() throws {
        let text = """
            {"prompt": "a", "max_tokens": 3, "temperature": 0, "top_k": 5, "top_p": 0.5, "seed": 9, "stop": "x"}
            {"prompt": "b", "stop": ["y", "z"]}
            """
        let items = try BatchInput.parse(text, defaults: defaults, source: "in.jsonl")
        #expect(items[0].parameters == GenerationParameters(maxTokens: 3, temperature: 0, topK: 5, topP: 0.5, seed: 9, stop: ["x"]))
        #expect(items[1].prompt == "b")
        #expect(items[1].parameters.stop == ["y", "z"])
        #expect(items[1].parameters.seed == 101)
    }

    @Test(arguments: [
        (#"{"prompt": "a", "max_token": 3}"#, "in.jsonl line 1: unknown key \"max_token\""),
        (#"{"max_tokens": 3}"#, "\"prompt\" must be present and a string"),
        (#"{"prompt": "a", "max_tokens": 2.5}"#, "\"max_tokens\" must be a whole number"),
        (#"{"prompt": "a", "temperature": true}"#, "\"temperature\" must be a number"),
        (#"{"prompt": "a", "seed": -1}"#, "\"seed\" must be 0 or more"),
        (#"{"prompt": "a", "stop": 3}"#, "\"stop\" must be a string or an array of strings"),
        (#"{"prompt": "a"} trailing"#, "not a JSON object"),
    ])
    func badJsonLinesAreOneClearError(line: String, message: String) {
        do {
            _ = try BatchInput.parse(line, format: .jsonl, defaults: defaults, source: "in.jsonl")
            Issue.record("no error for \(line)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test func aMissingFileIsOneClearError() {
        let error = #expect(throws: CommandFailure.self) { try BatchInput.load(path: "/no/such/input.txt", defaults: defaults) }
        #expect(error?.description.hasPrefix("/no/such/input.txt: cannot read the input: ") == true)
    }
}

@Suite("smallmind batch: output and resume")
struct BatchOutputTests {
    static let items = (0..<6).map { BatchItem(index: $0, prompt: "The story of \($0)", parameters: .greedy(maxTokens: 4), line: $0 + 1) }

    /// A finished result for `item`, as a run on the demo model writes it.
    static func result(_ item: BatchItem, model: String = "demo") -> BatchRecord {
        let completion = Completion(
            prompt: item.prompt, continuation: "abcd", promptTokens: [1, 2], tokens: [3, 4, 5, 6], finishReason: .length,
            timings: GenerationTimings(promptSeconds: 0.25))
        return BatchRecord(index: item.index, prompt: item.prompt, completion: completion, model: model, parameters: item.parameters)
    }

    static func failure(_ item: BatchItem, prompt: String? = nil) -> BatchRecord {
        BatchRecord(index: item.index, prompt: prompt ?? item.prompt, error: GenerationError.promptTooLong(tokens: 80, contextLength: 64), model: "demo", parameters: item.parameters)
    }

    static func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test func recordsAreOneOrderedJsonLineWithTheirSettings() throws {
        let parameters = GenerationParameters(maxTokens: 50, temperature: 0.8, topK: 20, seed: 7, stop: ["\n\n"])
        let record = BatchRecord(
            index: 3, prompt: "a \"b\"", error: GenerationError.promptTooLong(tokens: 80, contextLength: 64), model: "demo", parameters: parameters)
        #expect(record.jsonLine.hasPrefix(#"{"index":3,"prompt":"a \"b\"","error":"the prompt is 80 tokens"#))
        #expect(record.jsonLine.hasSuffix(#","model":"demo","parameters":{"max_tokens":50,"temperature":0.8,"top_k":20,"top_p":0.9,"seed":7,"stop":["\n\n"],"parse_special":true}}"# + "\n"))
        // The recorded settings read back exactly (floats in their shortest exact form).
        let decoded = try JSONDecoder().decode(BatchRecord.self, from: Data(record.jsonLine.utf8))
        #expect(decoded == record)
        for temperature: Float in [0.7, 1e-5, 1.0 / 3, 2] {
            let recorded = RecordedParameters(GenerationParameters(temperature: temperature, topP: 0.95, seed: .max))
            let line = BatchRecord(index: 0, prompt: "p", error: CancellationError(), model: "m", parameters: GenerationParameters(temperature: temperature, topP: 0.95, seed: .max)).jsonLine
            #expect(try JSONDecoder().decode(BatchRecord.self, from: Data(line.utf8)).parameters == recorded)
        }
    }

    @Test func reopeningReadsWhatIsDoneAndCutsATornLine() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.jsonl").path
        do {
            let file = try BatchOutputFile(path: path, items: Self.items, model: "demo")
            #expect(file.existing.isEmpty)
            try file.write(Self.result(Self.items[2]))
        }
        // A kill in the middle of the next line.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"index":4,"prompt":"The sto"#.utf8))
        try handle.close()

        let reopened = try BatchOutputFile(path: path, items: Self.items, model: "demo")
        #expect(Array(reopened.existing.keys) == [2])
        #expect(try String(contentsOfFile: path, encoding: .utf8) == Self.result(Self.items[2]).jsonLine)  // the torn tail is gone
        try reopened.write(Self.result(Self.items[4]))
        #expect(try Self.lines(path).count == 2)
    }

    @Test func anOutputFromAnotherInputIsRefused() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.jsonl").path
        var other = Self.items[1]
        other.prompt = "something else"
        try Self.result(other).jsonLine.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: CommandFailure.self) { try BatchOutputFile(path: path, items: Self.items, model: "demo") }
        try "not json\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: CommandFailure.self) { try BatchOutputFile(path: path, items: Self.items, model: "demo") }
        // --restart discards whatever is there.
        let restarted = try BatchOutputFile(path: path, items: Self.items, model: "demo", restart: true)
        #expect(restarted.existing.isEmpty)
        #expect(try String(contentsOfFile: path, encoding: .utf8).isEmpty)
    }

    /// An error line holds no result: it is removed and its item runs again — also when the
    /// input's prompt for it has changed since (the user fixed it). Results are kept as they were.
    @Test func errorLinesAreRetriedAndReplaced() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.jsonl").path
        let kept = [Self.result(Self.items[0]), Self.result(Self.items[3])]
        let text = kept[0].jsonLine + Self.failure(Self.items[1]).jsonLine + Self.failure(Self.items[2], prompt: "the old, broken prompt").jsonLine
            + kept[1].jsonLine + Self.failure(Self.items[3]).jsonLine
        try text.write(toFile: path, atomically: true, encoding: .utf8)

        let file = try BatchOutputFile(path: path, items: Self.items, model: "demo")
        #expect(Set(file.existing.keys) == [0, 3])
        #expect(file.retrying == [1, 2])   // 3 has a result: its error line is just dropped
        #expect(try Self.lines(path) == kept.map { String($0.jsonLine.dropLast()) })
        for i in [1, 2, 4, 5] { try file.write(Self.result(Self.items[i])) }
        try file.sortByIndex()
        let records = try Self.lines(path).map { try JSONDecoder().decode(BatchRecord.self, from: Data($0.utf8)) }
        #expect(records.map(\.index) == Array(0..<6))
        #expect(records.allSatisfy { $0.error == nil })
    }

    @Test func resultsMadeWithOtherSettingsAreRefusedUnlessRestarted() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.jsonl").path
        try (Self.result(Self.items[0]).jsonLine + Self.result(Self.items[1]).jsonLine).write(toFile: path, atomically: true, encoding: .utf8)
        let before = try String(contentsOfFile: path, encoding: .utf8)

        func refusal(_ items: [BatchItem], model: String = "demo") -> String {
            do {
                _ = try BatchOutputFile(path: path, items: items, model: model)
                return "no error"
            } catch { return "\(error)" }
        }
        let moreTokens = Self.items.map { item in var item = item; item.parameters.maxTokens = 5; return item }
        let message = refusal(moreTokens)
        #expect(message.contains("line 1 (index 0) holds a result made with other settings: it was made with max_tokens 4 (now 5)"), "\(message)")
        #expect(message.contains("--restart"))
        let warmer = Self.items.map { item in var item = item; item.parameters.temperature = 0.7; item.parameters.seed = 9; return item }
        #expect(refusal(warmer).contains("temperature 0.0 (now 0.7), seed 0 (now 9)"))
        #expect(refusal(Self.items, model: "stories260K.bin").contains("model demo (now stories260K.bin)"))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == before)  // refusing changed nothing

        // A line from before settings were recorded cannot be checked: refused too.
        try #"{"index":0,"prompt":"The story of 0","text":"x","finish_reason":"length"}"#.appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(refusal(Self.items).contains("it records no settings"))

        let restarted = try BatchOutputFile(path: path, items: moreTokens, model: "demo", restart: true)
        #expect(restarted.existing.isEmpty)
    }

    /// Two writers of one output file: the second is refused at once, for as long as the first
    /// has the file open — also after it replaced the file's contents (a lock belongs to a file,
    /// and the replacement is a new file).
    @Test func aSecondWriterIsRefusedWhileTheFirstHoldsTheFile() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.jsonl").path
        try (Self.result(Self.items[0]).jsonLine + Self.failure(Self.items[1]).jsonLine).write(toFile: path, atomically: true, encoding: .utf8)
        func secondWriter() -> String {
            do {
                _ = try BatchOutputFile(path: path, items: Self.items, model: "demo")
                return "opened"
            } catch { return "\(error)" }
        }
        var first: BatchOutputFile? = try BatchOutputFile(path: path, items: Self.items, model: "demo")   // rewrites: drops the error line
        #expect(secondWriter().contains("is in use by another smallmind batch"))
        try first?.write(Self.result(Self.items[5]))
        try first?.sortByIndex()
        #expect(secondWriter().contains("is in use by another smallmind batch"))
        first = nil
        #expect(secondWriter() == "opened")
        #expect(try Self.lines(path).count == 2)
        // No temporary files are left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.jsonl"])
    }

    /// Cancel a run part-way, tear its last line, resume: every index exactly once, and the text
    /// of each item equals an uninterrupted run's. The progress reported counts only saved items.
    @Test func anInterruptedRunResumesWithoutLossOrDuplicates() async throws {
        let model = Model.demo()
        let items = try BatchInput.parse(
            SamplePrompts.batch(count: 24).joined(separator: "\n"),
            defaults: GenerationParameters(maxTokens: 12, temperature: 0.8, topK: 20), source: "test")
        let generator = ParallelGenerator(model: model, concurrency: 2)

        let reference = MemorySink()
        _ = try await BatchRun.run(items, generator: generator, concurrency: 2, model: "demo", sink: reference)
        let expected = Dictionary(uniqueKeysWithValues: reference.records.current.map { ($0.index, $0.text) })
        #expect(expected.count == items.count)

        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.jsonl").path
        let (partial, lastSaved) = try await Self.runUntilCancelled(items, generator: generator, path: path)
        #expect(partial.cancelled > 0)
        #expect(partial.finished + partial.cancelled == items.count)
        // The progress bar's final state: what was saved, not what was cancelled.
        #expect(lastSaved == partial.finished)
        #expect(try Self.lines(path).count == partial.finished)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"index":"#.utf8))
        try handle.close()

        let second = try BatchOutputFile(path: path, items: items, model: "demo")
        #expect(second.existing.count == partial.finished)
        let rest = try await BatchRun.run(items, skipping: Set(second.existing.keys), generator: generator, concurrency: 2, model: "demo", sink: second)
        #expect(rest.skipped == partial.finished)
        #expect(rest.finished == items.count - partial.finished)
        try second.sortByIndex()

        let records = try Self.lines(path).map { try JSONDecoder().decode(BatchRecord.self, from: Data($0.utf8)) }
        #expect(records.map(\.index) == Array(0..<items.count))
        #expect(records.allSatisfy { $0.text == expected[$0.index] && $0.error == nil })
    }

    /// Runs `items` into a new output file at `path` and cancels the run after 8 items; returns
    /// the summary and the last progress count. The file is closed (its lock released) on return,
    /// as when the process running it exits.
    static func runUntilCancelled(_ items: [BatchItem], generator: any TextGenerator, path: String) async throws -> (BatchSummary, Int) {
        let file = try BatchOutputFile(path: path, items: items, model: "demo")
        let written = Locked(0), lastSaved = Locked(0)
        let slow = SlowAfter(generator: generator, count: 8)
        let task = Task {
            try await BatchRun.run(items, generator: slow, concurrency: 2, model: "demo", sink: file) { saved, _ in
                written.withLock { $0 += 1 }
                lastSaved.withLock { $0 = max($0, saved) }
            }
        }
        while written.current < 8 { try await Task.sleep(for: .milliseconds(2)) }
        task.cancel()
        return (try await task.value, lastSaved.current)
    }

    @Test func failedItemsAreWrittenWithTheirError() async throws {
        let items = try BatchInput.parse("The story of\ncaf\u{E9} is unknown\nWhy do we", defaults: .greedy(maxTokens: 3), source: "test")
        let sink = MemorySink()
        let summary = try await BatchRun.run(
            items, generator: ParallelGenerator(model: Model.demo(), concurrency: 2), concurrency: 2, model: "demo", sink: sink)
        #expect(summary.failed == 1)
        #expect(summary.finished == 3)
        let failed = try #require(sink.records.current.first { $0.index == 1 })
        #expect(failed.error?.contains("unknown character '\u{E9}'") == true)
        #expect(failed.text == nil && failed.model == "demo" && failed.parameters == RecordedParameters(items[1].parameters))
    }

    /// The one context rule, in a batch: a prompt longer than the context fails with both counts;
    /// a request that outgrows it stops when it is full, and the summary counts those.
    @Test func requestsBeyondTheContextStopAndArecounted() async throws {
        let text = [String(repeating: "x", count: 65), String(repeating: "abc ", count: 10), "It's short"].joined(separator: "\n")
        let items = try BatchInput.parse(text, defaults: GenerationParameters(maxTokens: 50, temperature: 0.8), source: "test")
        for strategy in GenerationStrategy.allCases {
            let sink = MemorySink()
            let summary = try await BatchRun.run(
                items, generator: strategy.makeGenerator(model: Model.demo(), concurrency: 2, threads: 1), concurrency: 2, model: "demo", sink: sink)
            #expect(summary.failed == 1 && summary.stoppedByContext == 1, "\(strategy)")
            let records = Dictionary(uniqueKeysWithValues: sink.records.current.map { ($0.index, $0) })
            #expect(records[0]?.error == "the prompt is 65 tokens but the context holds 64; shorten the prompt", "\(strategy)")
            #expect(records[1]?.finishReason == "length" && records[1]?.completionTokens == 25, "\(strategy)")
            #expect(records[2]?.finishReason == "length" && records[2]?.completionTokens == 50, "\(strategy)")
        }
    }
}

@Suite("smallmind batch: reading the input")
struct BatchInputLoadingTests {
    @Test func anEmptyInputIsOneClearError() throws {
        for text in ["", "\n  \n\n"] {
            let error = #expect(throws: CommandFailure.self) {
                try BatchInput.load(path: "-", defaults: .init(), standardInput: { Data(text.utf8) })
            }
            #expect(error?.description == "standard input: no prompts: the input is empty or holds only blank lines")
        }
    }

    @Test func dashReadsStandardInput() throws {
        let items = try BatchInput.load(path: "-", defaults: .init(), standardInput: { Data("one\ntwo\n".utf8) })
        #expect(items.map(\.prompt) == ["one", "two"])
    }
}

/// Passes the first `count` generations straight through, then makes each one slow, so a test can
/// cancel while later items are still running.
struct SlowAfter: TextGenerator {
    let generator: any TextGenerator
    let count: Int
    private let started = Locked(0)

    init(generator: any TextGenerator, count: Int) {
        self.generator = generator
        self.count = count
    }

    func generate(_ prompt: String, _ parameters: GenerationParameters) async throws -> Completion {
        let n = started.withLock { $0 += 1; return $0 }
        if n > count { try await Task.sleep(for: .seconds(30)) }
        return try await generator.generate(prompt, parameters)
    }
}
