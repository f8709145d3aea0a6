// Flags shared by several subcommands, declared once so they read and validate the same everywhere.
//
// Every numeric option parses `.unconditional`ly: swift-argument-parser would otherwise take
// `--max-tokens -5`'s "-5" for a flag and report a missing value, so the validator, whose message
// names the flag ("--max-tokens must be 0 or more, got -5"), would never see it. Every check that
// needs no file runs in `validate()`, so a usage error exits with status 64 (EX_USAGE).
import ArgumentParser
import SmallMind
import SmallMindKernels

/// Which model to use.
public struct ModelOptions: ParsableArguments {
    @Option(help: "A GGUF file or a llama2.c checkpoint (recognised by content). Default: the built-in demo model.")
    public var model: String?

    @Option(help: "The llama2.c tokenizer.bin that goes with a llama2.c --model (GGUF files carry their own).")
    public var tokenizer: String?

    public init() {}

    public func validate() throws {
        if tokenizer != nil && model == nil { throw ValidationError("--tokenizer goes with --model") }
    }

    /// Loads the model, or throws one clear line.
    public func load() throws -> Model {
        do { return try ModelLocator.load(model: model, tokenizer: tokenizer) } catch { throw CommandFailure(error) }
    }

    /// How results name the model: "demo", or the file's name (with the tokenizer's, when one is
    /// given) — the file name rather than the path, so that a resumed batch may name the same file
    /// from another folder.
    public var identity: String {
        guard let model else { return "demo" }
        func name(_ path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }
        return name(model) + (tokenizer.map { " + " + name($0) } ?? "")
    }
}

/// How to sample: maps one to one onto `GenerationParameters` (the defaults are its defaults).
public struct SamplingOptions: ParsableArguments {
    // Optional so that `chat` can tell "not given" (a reply runs to its end of turn) from 128.
    @Option(
        name: .customLong("max-tokens"), parsing: .unconditional,
        help: "Most tokens to generate (default: 128; chat: no limit but the context). Fewer when the model's context fills first.")
    public var maxTokens: Int?

    /// What `--max-tokens` is when not given (`chat` aside).
    public static let defaultMaxTokens = 128

    @Option(parsing: .unconditional, help: "Sampling temperature; 0 = greedy (always the most likely token).")
    public var temperature: Float = 1.0

    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Sample among the k most likely tokens; 0 = off.")
    public var topK: Int = 0

    @Option(name: .customLong("top-p"), parsing: .unconditional, help: "Nucleus sampling threshold in (0, 1]; 1 = off.")
    public var topP: Float = 0.9

    @Option(parsing: .unconditional, help: "Random seed: the same seed gives the same text.")
    public var seed: UInt64 = 0

    @Option(help: "Stop before this string (repeatable).")
    public var stop: [String] = []

    @Flag(name: .customLong("no-parse-special"), help: ArgumentHelp(parseSpecialHelp))
    public var noParseSpecial = false

    public init() {}

    public var parameters: GenerationParameters {
        GenerationParameters(
            maxTokens: maxTokens ?? Self.defaultMaxTokens, temperature: temperature, topK: topK, topP: topP, seed: seed, stop: stop,
            parseSpecialTokens: !noParseSpecial)
    }

    public func validate() throws { try Self.validate(parameters) }

    /// Checks `parameters` with the library's rules and reports a violation by its flag's name.
    public static func validate(_ parameters: GenerationParameters) throws {
        do { try parameters.validate() } catch { throw ValidationError(CommandLineValues.message(for: error)) }
    }
}

/// The kernels' thread count, on every command that computes.
public struct ThreadOptions: ParsableArguments {
    // Optional, so that --help shows one default ("all cores") rather than this machine's count.
    @Option(parsing: .unconditional, help: "Kernel threads, 1 to 256 (default: all cores). The generated text does not depend on it.")
    public var threads: Int?

    public init() {}

    /// The thread count to use.
    public var count: Int { threads ?? ThreadPool.processorCount }

    public func validate() throws {
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be from 1 to 256, got \(threads)") }
    }
}

/// The one help text of `--no-parse-special` (generate, batch, tokenize): the same behaviour everywhere.
let parseSpecialHelp = """
    Keep control-token texts written in the input (<|im_start|>, <s>) as plain text. By default each \
    becomes its single token, as llama.cpp does.
    """

extension CommandLineValues {
    /// The flag that sets each `GenerationParameters` field.
    static let flags = [
        "maxTokens": "--max-tokens", "temperature": "--temperature", "topK": "--top-k", "topP": "--top-p", "seed": "--seed",
        "stop": "--stop", "topLogProbabilities": "--logprobs", "parseSpecialTokens": "--no-parse-special",
    ]

    /// A parameter error as the command line says it, naming the flag: "--max-tokens must be 0 or
    /// more, got -5".
    public static func message(for error: GenerationError) -> String {
        guard case let .invalidParameter(name, value, rule) = error else { return "\(error)" }
        if name == "stop" { return "--stop must not be an empty string" }
        return "\(flags[name] ?? name) \(rule), got \(value)"
    }
}

/// The KV cache's byte budget, on every command that configures a cache (batch, bench, serve,
/// generate, chat): one pool of blocks shared by every sequence.
public struct KVBudgetOptions: ParsableArguments {
    @Option(
        name: .customLong("kv-cache-bytes"), parsing: .unconditional,
        help: ArgumentHelp(
            "The KV cache's budget in bytes, shared by every sequence in blocks of 16 positions (or --kv-cache-gb). "
                + "Default: room for every sequence of the batch at the full context, at most a quarter of this machine's memory "
                + "(and at least one full context). A request whose prompt alone exceeds it is an error.", valueName: "bytes"))
    public var bytes: Int?

    @Option(name: .customLong("kv-cache-gb"), parsing: .unconditional, help: ArgumentHelp("The same budget in GB (10⁹ bytes), e.g. 0.5.", valueName: "GB"))
    public var gigabytes: Double?

    public init() {}

    /// The budget asked for, or nil for the default.
    public var resolved: Int? {
        if let bytes { return bytes }
        return gigabytes.map { Int(($0 * 1e9).rounded()) }
    }

    public func validate() throws {
        if bytes != nil && gigabytes != nil { throw ValidationError("give --kv-cache-bytes or --kv-cache-gb, not both") }
        if let bytes, bytes < 1 { throw ValidationError("--kv-cache-bytes must be 1 or more, got \(bytes)") }
        if let gigabytes, !(gigabytes.isFinite && gigabytes > 0 && gigabytes < 1e9) {
            throw ValidationError("--kv-cache-gb must be more than 0, got \(gigabytes)")
        }
    }
}
