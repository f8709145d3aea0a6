// The command line's flags turn into exactly the documented parameters: every default, and each
// flag's way into `GenerationParameters`, the engine's options or the command's settings. The
// expected values are written out here, not read from the library's defaults, so that a changed
// default (say, --temperature 1.0 → 0.8) or a flag dropped on its way (--top-k) fails a test.
import ArgumentParser
import Foundation
import SmallMind
import SmallMindKernels
import Testing
@testable import SmallMindCLI

@Suite("Command-line flags → parameters")
struct CommandFlagTests {
    /// The documented defaults (README, `--help`, `GenerationParameters`' doc comments).
    static let documentedDefaults = GenerationParameters(
        maxTokens: 128, temperature: 1.0, topK: 0, topP: 0.9, seed: 0, stop: [], topLogProbabilities: 0, parseSpecialTokens: true)

    /// The documented defaults with one change.
    static func changed(_ change: (inout GenerationParameters) -> Void) -> GenerationParameters {
        var parameters = documentedDefaults
        change(&parameters)
        return parameters
    }

    @Test func samplingDefaultsAreTheDocumentedOnes() throws {
        #expect(try SamplingOptions.parse([]).parameters == Self.documentedDefaults)
        #expect(GenerationParameters() == Self.documentedDefaults)
        #expect(try GenerateCommand.parse([]).parameters == Self.documentedDefaults)
        #expect(try BatchCommand.parse(["--input", "in.txt"]).defaults == Self.documentedDefaults)
    }

    /// Each flag changes its own field and nothing else.
    @Test(arguments: [
        (["--max-tokens", "7"], changed { p in p.maxTokens = 7 }),
        (["--max-tokens", "0"], changed { p in p.maxTokens = 0 }),
        (["--temperature", "0.25"], changed { p in p.temperature = 0.25 }),
        (["--temperature", "0"], changed { p in p.temperature = 0 }),
        (["--top-k", "5"], changed { p in p.topK = 5 }),
        (["--top-p", "0.5"], changed { p in p.topP = 0.5 }),
        (["--seed", "42"], changed { p in p.seed = 42 }),
        (["--seed", "18446744073709551615"], changed { p in p.seed = .max }),
        (["--stop", "\n\n"], changed { p in p.stop = ["\n\n"] }),
        (["--stop", "a", "--stop", "b"], changed { p in p.stop = ["a", "b"] }),
        (["--no-parse-special"], changed { p in p.parseSpecialTokens = false }),
    ])
    func eachSamplingFlagSetsItsParameter(arguments: [String], expected: GenerationParameters) throws {
        #expect(try SamplingOptions.parse(arguments).parameters == expected)
        #expect(try GenerateCommand.parse(arguments).parameters == expected)
        #expect(try BatchCommand.parse(["--input", "in.txt"] + arguments).defaults == expected)
    }

    @Test func allSamplingFlagsTogether() throws {
        let flags = ["--max-tokens", "50", "--temperature", "0.8", "--top-k", "20", "--top-p", "0.95", "--seed", "9", "--stop", "END", "--logprobs", "3"]
        let expected = GenerationParameters(
            maxTokens: 50, temperature: 0.8, topK: 20, topP: 0.95, seed: 9, stop: ["END"], topLogProbabilities: 3, parseSpecialTokens: true)
        #expect(try GenerateCommand.parse(flags).parameters == expected)
    }

    @Test func batchItemsGetTheFlagsAndSeedPlusIndex() throws {
        let command = try BatchCommand.parse(["--input", "in.txt", "--max-tokens", "50", "--temperature", "0.8", "--top-k", "20", "--seed", "100"])
        let items = try BatchInput.parse("a\nb\nc", defaults: command.defaults, source: "in.txt")
        #expect(items.map(\.parameters.seed) == [100, 101, 102])
        #expect(items.allSatisfy { $0.parameters.maxTokens == 50 && $0.parameters.temperature == 0.8 && $0.parameters.topK == 20 && $0.parameters.topP == 0.9 })
    }

    // MARK: Threads, concurrency, strategy

    @Test func threadsDefaultToAllCoresAndReachTheKernels() throws {
        #expect(try GenerateCommand.parse([]).threadOptions.count == ThreadPool.processorCount)
        #expect(try GenerateCommand.parse(["--threads", "1"]).threadOptions.count == 1)
        #expect(try BenchCommand.parse(["--threads", "3"]).threadOptions.count == 3)
        #expect(try BenchMatmulCommand.parse(["--threads", "2"]).threadOptions.count == 2)
        #expect(try BatchCommand.parse(["--input", "x", "--threads", "2"]).threadOptions.count == 2)
    }

    @Test func batchFlagsReachTheEngine() throws {
        let model = Model.demo()
        let defaults = try BatchCommand.parse(["--input", "in.txt"])
        #expect(defaults.chosenStrategy == .batched && defaults.resolvedConcurrency == 16 && !defaults.restart && defaults.output == nil)
        let engine = try #require(defaults.makeGenerator(model: model) as? BatchedGenerator).engine
        #expect(engine.options.maxBatch == 16 && engine.options.threads == ThreadPool.processorCount)

        let set = try BatchCommand.parse(["--input", "in.txt", "--concurrency", "3", "--threads", "1"])
        let small = try #require(set.makeGenerator(model: model) as? BatchedGenerator).engine
        #expect(small.options.maxBatch == 3 && small.options.threads == 1)

        let parallel = try BatchCommand.parse(["--input", "in.txt", "--strategy", "parallel", "--concurrency", "5"])
        #expect(try #require(parallel.makeGenerator(model: model) as? ParallelGenerator).pool.capacity == 5)
        #expect(try BatchCommand.parse(["--input", "in.txt", "--strategy", "locked"]).makeGenerator(model: model) is LockedGenerator)
        #expect(try BatchCommand.parse(["--input", "in.txt", "--strategy", "parallel"]).resolvedConcurrency == ProcessInfo.processInfo.activeProcessorCount)
    }

    @Test func benchFlags() throws {
        let defaults = try BenchCommand.parse([])
        #expect(defaults.batch == "1,2,4,8,16,32" && defaults.promptTokens == 16 && defaults.genTokens == 32 && defaults.repetitions == 3)
        #expect(defaults.kvCacheType == "f32" && !defaults.json)
        let set = try BenchCommand.parse(["--batch", "1,8", "--prompt-tokens", "4", "--gen-tokens", "5", "--repetitions", "2", "--kv-cache-type", "f16"])
        #expect((set.batch, set.promptTokens, set.genTokens, set.repetitions, set.kvCacheType) == ("1,8", 4, 5, 2, "f16"))
        #expect(try CommandLineValues.positiveList(set.batch, name: "--batch") == [1, 8])
    }

    @Test func modelIdentityIsTheFileName() throws {
        #expect(try ModelOptions.parse([]).identity == "demo")
        #expect(try ModelOptions.parse(["--model", "/a/b/stories260K.bin", "--tokenizer", "../tok512.bin"]).identity == "stories260K.bin + tok512.bin")
        #expect(try ModelOptions.parse(["--model", "m.gguf"]).identity == "m.gguf")
    }

    // MARK: Usage errors

    /// What the command line prints for `arguments`, and the exit status (64 = EX_USAGE).
    static func usageError<Command: ParsableCommand>(_ command: Command.Type, _ arguments: [String]) -> (message: String, status: Int32)? {
        do {
            _ = try command.parse(arguments)
            return nil
        } catch {
            return (command.message(for: error), command.exitCode(for: error).rawValue)
        }
    }

    @Test(arguments: [
        (["--max-tokens", "-5"], "--max-tokens must be 0 or more, got -5"),
        (["--max-tokens=-5"], "--max-tokens must be 0 or more, got -5"),
        (["--temperature", "-1"], "--temperature must be a finite number ≥ 0, got -1.0"),
        (["--top-k", "-3"], "--top-k must be 0 (off) or more, got -3"),
        (["--top-p", "0"], "--top-p must be in (0, 1], got 0.0"),
        (["--top-p", "-0.5"], "--top-p must be in (0, 1], got -0.5"),
        (["--stop", ""], "--stop must not be an empty string"),
        (["--threads", "0"], "--threads must be from 1 to 256, got 0"),
        (["--threads", "-2"], "--threads must be from 1 to 256, got -2"),
        (["--logprobs", "-1"], "--logprobs must be from 0 (off) to 100, got -1"),
        (["--prompt", "a", "--prompt-file", "b"], "give --prompt or --prompt-file, not both"),
        (["--tokenizer", "t.bin"], "--tokenizer goes with --model"),
    ])
    func generateUsageErrorsNameTheFlagAndExit64(arguments: [String], message: String) throws {
        let error = try #require(Self.usageError(GenerateCommand.self, arguments), "\(arguments) parsed")
        #expect(error.message == message)
        #expect(error.status == 64)
    }

    @Test(arguments: [
        (["--input", "in.txt", "--max-tokens", "-5"], "--max-tokens must be 0 or more, got -5"),
        (["--input", "in.txt", "--threads", "0"], "--threads must be from 1 to 256, got 0"),
        (["--input", "in.txt", "--concurrency", "-1"], "--concurrency must be from 1 to 1024, got -1"),
        (["--input", "in.txt", "--restart"], "--restart goes with --output"),
        (["--input", "in.txt", "--strategy", "fast"], "--strategy must be locked or parallel or batched, got 'fast'"),
    ])
    func batchUsageErrorsNameTheFlagAndExit64(arguments: [String], message: String) throws {
        let error = try #require(Self.usageError(BatchCommand.self, arguments), "\(arguments) parsed")
        #expect(error.message.hasPrefix(message), "\(error.message)")
        #expect(error.status == 64)
    }

    @Test func benchUsageErrorsExit64() throws {
        for arguments in [["--threads", "0"], ["--batch", "0,2"], ["--prompt-tokens", "-1"], ["--repetitions", "0"], ["--kv-cache-type", "q8"]] {
            #expect(Self.usageError(BenchCommand.self, arguments)?.status == 64, "\(arguments)")
        }
        for arguments in [["--threads", "0"], ["--rows", "x"], ["--type", "q9"], ["--shapes", "10x33", "--type", "q4_0"], ["--repetitions", "-1"]] {
            #expect(Self.usageError(BenchMatmulCommand.self, arguments)?.status == 64, "\(arguments)")
        }
    }

    /// One KV budget flag, in bytes or GB, on every command that configures a cache, reaching the engine.
    @Test func kvBudgetFlags() throws {
        let model = Model.demo()
        let perPosition = KVCache.bytesPerPosition(configuration: model.configuration)
        let batch = try BatchCommand.parse(["--input", "in.txt", "--kv-cache-bytes", String(48 * perPosition)])
        let engine = try #require(try batch.makeGenerator(model: model) as? BatchedGenerator).engine
        #expect(engine.kvCacheBytes == 48 * perPosition && engine.kvBlockCount == 3)
        #expect(try BatchCommand.parse(["--input", "in.txt"]).kvBudget.resolved == nil)
        #expect(try ServeCommand.parse(["--kv-cache-gb", "0.5"]).kvBudget.resolved == 500_000_000)
        #expect(try ChatCommand.parse(["--kv-cache-bytes", "1000"]).kvBudget.resolved == 1000)
        #expect(try GenerateCommand.parse(["--kv-cache-gb", "1.5"]).kvBudget.resolved == 1_500_000_000)
        #expect(try BenchCommand.parse(["--kv-cache-bytes", "7"]).kvBudget.resolved == 7)
        // A budget below one block is the engine's error, named.
        let tiny = try BatchCommand.parse(["--input", "in.txt", "--kv-cache-bytes", "10"])
        #expect(throws: CommandFailure.self) { try tiny.makeGenerator(model: model) }
        for arguments in [["--kv-cache-bytes", "0"], ["--kv-cache-gb", "-1"], ["--kv-cache-gb", "nan"], ["--kv-cache-bytes", "5", "--kv-cache-gb", "1"]] {
            #expect(Self.usageError(BenchCommand.self, arguments)?.status == 64, "\(arguments)")
        }
        // The default is stated in --help.
        for help in [GenerateCommand.helpMessage(), BatchCommand.helpMessage(), BenchCommand.helpMessage(), ServeCommand.helpMessage(), ChatCommand.helpMessage()] {
            let flat = help.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
            #expect(flat.contains("--kv-cache-bytes") && flat.contains("at most a quarter of this machine's memory"), "\(help.prefix(80))")
        }
        // --shared-prefix and its companions.
        let shared = try BenchCommand.parse(["--shared-prefix", "400", "--requests", "8", "--verify"])
        #expect(shared.sharedPrefix == 400 && shared.requests == 8 && shared.verify)
        for arguments in [["--shared-prefix", "0"], ["--verify"], ["--shared-prefix", "4", "--requests", "0"]] {
            #expect(Self.usageError(BenchCommand.self, arguments)?.status == 64, "\(arguments)")
        }
    }

    // MARK: Help and version

    @Test func helpShowsTheThreadsDefaultOnce() {
        let sentence = "Kernel threads, 1 to 256 (default: all cores). The generated text does not depend on it."
        for help in [GenerateCommand.helpMessage(), BatchCommand.helpMessage(), BenchCommand.helpMessage(), BenchMatmulCommand.helpMessage()] {
            // Help wraps lines; join them back.
            let flat = help.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
            guard let range = flat.range(of: sentence) else {
                Issue.record("no --threads help in \(help)")
                continue
            }
            #expect(!flat[range.upperBound...].hasPrefix(" (default:"), "\(flat[range.upperBound...].prefix(40))")
        }
    }

    @Test func versionIsTheLibrarys() {
        #expect(SmallMindCommand.configuration.version == SmallMindVersion.current)
        #expect(SmallMindVersion.current.split(separator: ".").count == 3)
    }

    // MARK: Prompt input

    @Test func promptSources() throws {
        let noInput: () -> Data = { Issue.record("standard input was read"); return Data() }
        #expect(try GenerateCommand.parse(["--prompt", "Hi"]).resolvePrompt(standardInputIsTerminal: false, standardInput: noInput) == "Hi")
        // Standard input when it is not a terminal, without its final newline.
        #expect(try GenerateCommand.parse([]).resolvePrompt(standardInputIsTerminal: false) { Data("Once upon a time\n".utf8) } == "Once upon a time")
        #expect(try GenerateCommand.parse([]).resolvePrompt(standardInputIsTerminal: false) { Data("two\n\n".utf8) } == "two\n")
        #expect(try GenerateCommand.parse([]).resolvePrompt(standardInputIsTerminal: false) { Data("crlf\r\n".utf8) } == "crlf")
        // A terminal is never read: an empty prompt (a Llama model then starts from BOS).
        #expect(try GenerateCommand.parse([]).resolvePrompt(standardInputIsTerminal: true, standardInput: noInput) == "")
        // --prompt-file, and "-" for standard input.
        #expect(try GenerateCommand.parse(["--prompt-file", "-"]).resolvePrompt(standardInputIsTerminal: true) { Data("from stdin\n".utf8) } == "from stdin")
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("prompt.txt").path
        try "It's a file\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try GenerateCommand.parse(["--prompt-file", file]).resolvePrompt(standardInputIsTerminal: false, standardInput: noInput) == "It's a file")
        #expect(throws: CommandFailure.self) { try GenerateCommand.parse(["--prompt-file", file + ".missing"]).resolvePrompt(standardInputIsTerminal: true) }
    }

    @Test func anEmptyPromptNeedsABOSToken() throws {
        #expect(GenerateCommand.needsBOS(Model.demo()))
    }
}
