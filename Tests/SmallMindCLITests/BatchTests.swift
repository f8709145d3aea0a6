import Foundation
import Testing
import SmallMind
@testable import SmallMindCLI

/// A fresh temporary directory for one test.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("smallmind-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Records written to memory.
final class MemorySink: BatchRecordSink {
    let records = Locked<[BatchRecord]>([])
    func write(_ record: BatchRecord) throws { records.withLock { $0.append(record) } }
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
        #expect(throws: CommandFailure.self) { try BatchInput.load(path: "/no/such/input.txt", defaults: defaults) }
    }
}

@Suite("smallmind batch: output and resume")
struct BatchOutputTests {
    static let items = (0..<6).map { BatchItem(index: $0, prompt: "The story of \($0)", parameters: .greedy(maxTokens: 4), line: $0 + 1) }

    @Test func recordsAreOneOrderedJsonLine() {
        let record = BatchRecord(index: 3, prompt: "a \"b\"", error: GenerationError.promptTooLong(tokens: 80, contextLength: 64))
        #expect(record.jsonLine.hasPrefix(#"{"index":3,"prompt":"a \"b\"","error":"the prompt is 80 tokens"#))
        #expect(record.jsonLine.hasSuffix("}\n"))
    }

    @Test func reopeningReadsWhatIsDoneAndCutsATornLine() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.jsonl").path
        let file = try BatchOutputFile(path: path, items: Self.items)
        #expect(file.existing.isEmpty)
        let done = BatchRecord(index: 2, prompt: Self.items[2].prompt, error: CancellationError())
        try file.write(done)
        // A kill in the middle of the next line.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"index":4,"prompt":"The sto"#.utf8))
        try handle.close()

        let reopened = try BatchOutputFile(path: path, items: Self.items)
        #expect(Array(reopened.existing.keys) == [2])
        #expect(try String(contentsOfFile: path, encoding: .utf8) == done.jsonLine)  // the torn tail is gone
        try reopened.write(BatchRecord(index: 4, prompt: Self.items[4].prompt, error: CancellationError()))
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 2)
    }

    @Test func anOutputFromAnotherInputIsRefused() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.jsonl").path
        try (BatchRecord(index: 1, prompt: "something else", error: CancellationError()).jsonLine).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: CommandFailure.self) { try BatchOutputFile(path: path, items: Self.items) }
        try "not json\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: CommandFailure.self) { try BatchOutputFile(path: path, items: Self.items) }
    }

    /// Cancel a run part-way, tear its last line, resume: every index exactly once, and the text
    /// of each item equals an uninterrupted run's.
    @Test func anInterruptedRunResumesWithoutLossOrDuplicates() async throws {
        let model = Model.demo()
        let items = try BatchInput.parse(
            SamplePrompts.batch(count: 24).joined(separator: "\n"),
            defaults: GenerationParameters(maxTokens: 12, temperature: 0.8, topK: 20), source: "test")
        let generator = ParallelGenerator(model: model, concurrency: 2)

        let reference = MemorySink()
        _ = try await BatchRun.run(items, generator: generator, concurrency: 2, sink: reference)
        let expected = Dictionary(uniqueKeysWithValues: reference.records.current.map { ($0.index, $0.text) })
        #expect(expected.count == items.count)

        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.jsonl").path
        let first = try BatchOutputFile(path: path, items: items)
        let written = Locked(0)
        let slow = SlowAfter(generator: generator, count: 8)
        let task = Task {
            try await BatchRun.run(items, generator: slow, concurrency: 2, sink: first) { _, _ in written.withLock { $0 += 1 } }
        }
        while written.current < 8 { try await Task.sleep(for: .milliseconds(2)) }
        task.cancel()
        let partial = try await task.value
        #expect(partial.cancelled > 0)
        #expect(partial.finished + partial.cancelled == items.count)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"index":"#.utf8))
        try handle.close()

        let second = try BatchOutputFile(path: path, items: items)
        #expect(second.existing.count == partial.finished)
        let rest = try await BatchRun.run(items, skipping: Set(second.existing.keys), generator: generator, concurrency: 2, sink: second)
        #expect(rest.skipped == partial.finished)
        #expect(rest.finished == items.count - partial.finished)
        try second.sortByIndex()

        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let records = try lines.map { try JSONDecoder().decode(BatchRecord.self, from: Data($0.utf8)) }
        #expect(records.map(\.index) == Array(0..<items.count))
        #expect(records.allSatisfy { $0.text == expected[$0.index] && $0.error == nil })
    }

    @Test func failedItemsAreWrittenWithTheirError() async throws {
        let items = try BatchInput.parse("The story of\nhash # is unknown\nWhy do we", defaults: .greedy(maxTokens: 3), source: "test")
        let sink = MemorySink()
        let summary = try await BatchRun.run(items, generator: ParallelGenerator(model: Model.demo(), concurrency: 2), concurrency: 2, sink: sink)
        #expect(summary.failed == 1)
        #expect(summary.finished == 3)
        let failed = try #require(sink.records.current.first { $0.index == 1 })
        #expect(failed.error?.contains("unknown character '#'") == true)
        #expect(failed.text == nil)
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
