// `smallmind batch` input: one prompt per line, JSON Lines with a "prompt" and optional
// per-item parameters, or OpenAI Batch requests (OpenAIBatchInput). Blank lines are skipped; items are numbered from 0 in file order, and that
// index is what the output file records and what a resumed run uses to skip finished work.
import Foundation
import SmallMind

/// One prompt to run, with its parameters.
public struct BatchItem: Sendable, Equatable {
    /// Position among the input's items, from 0.
    public var index: Int
    public var prompt: String
    public var parameters: GenerationParameters
    /// The input line it came from (1-based), for messages.
    public var line: Int
    /// The request, when the input is an OpenAI Batch file (then `prompt` and `parameters` are
    /// unused: the request's body carries them).
    public var request: OpenAIBatchRequest? = nil

    public init(index: Int, prompt: String, parameters: GenerationParameters, line: Int) {
        self.index = index
        self.prompt = prompt
        self.parameters = parameters
        self.line = line
    }
}

/// How the input file is laid out.
public enum BatchInputFormat: String, Sendable, CaseIterable {
    /// OpenAI Batch requests if the first non-blank line is one, else JSON Lines if it starts
    /// with "{", otherwise text.
    case auto
    /// One prompt per line.
    case text
    /// One JSON object per line: {"prompt": …, "max_tokens": …, "temperature": …, "top_k": …,
    /// "top_p": …, "seed": …, "stop": "…" or ["…"]}; every key but "prompt" is optional.
    case jsonl
    /// OpenAI's Batch API input: {"custom_id", "method": "POST", "url", "body"} per line.
    case openai
}

/// Reading batch input.
public enum BatchInput {
    /// Parses `text`. Items without their own seed get `defaults.seed + index`, so items differ
    /// from each other but a rerun gives each the same text. Errors name `source` and the line.
    public static func parse(
        _ text: String, format: BatchInputFormat = .auto, defaults: GenerationParameters, source: String
    ) throws -> [BatchItem] {
        // "\r\n" is one Character in Swift, so it needs naming as a separator of its own.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }.map(String.init)
        var resolved = format
        if format == .auto {
            let first = lines.first { !$0.trimmingCharacters(in: .whitespaces).isEmpty }?.trimmingCharacters(in: .whitespaces)
            if let first, OpenAIBatchInput.recognises(first) {
                resolved = .openai
            } else {
                resolved = first?.hasPrefix("{") == true ? .jsonl : .text
            }
        }
        if resolved == .openai {
            let nonBlank = lines.enumerated().filter { !$0.element.trimmingCharacters(in: .whitespaces).isEmpty }
            return try OpenAIBatchInput.items(nonBlank.map { (offset: $0.offset, text: $0.element) }, source: source)
        }
        var items: [BatchItem] = []
        for (offset, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let index = items.count
            var parameters = defaults
            parameters.seed = defaults.seed &+ UInt64(index)
            var prompt = line
            if resolved == .jsonl {
                (prompt, parameters) = try parseObject(line, defaults: parameters, where: "\(source) line \(offset + 1)")
            }
            items.append(BatchItem(index: index, prompt: prompt, parameters: parameters, line: offset + 1))
        }
        return items
    }

    /// Reads and parses the file at `path` ("-": standard input). An input without a single
    /// prompt is an error: an empty run would look like a successful one.
    public static func load(
        path: String, format: BatchInputFormat = .auto, defaults: GenerationParameters,
        standardInput: () -> Data = { FileHandle.standardInput.readDataToEndOfFile() }
    ) throws -> [BatchItem] {
        let text = try TextInput.read(path, what: "the input", standardInput: standardInput)
        let items = try parse(text, format: format, defaults: defaults, source: TextInput.name(path))
        guard !items.isEmpty else {
            throw CommandFailure(message: "\(TextInput.name(path)): no prompts: the input is empty or holds only blank lines")
        }
        return items
    }

    static let keys: Set<String> = ["prompt", "max_tokens", "temperature", "top_k", "top_p", "seed", "stop"]

    private static func parseObject(
        _ line: String, defaults: GenerationParameters, where location: String
    ) throws -> (String, GenerationParameters) {
        func fail(_ why: String) -> CommandFailure { CommandFailure(message: "\(location): \(why)") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw fail("not a JSON object (expected {\"prompt\": \"...\"} on every line)")
        }
        if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
            throw fail("unknown key \"\(unknown)\" (known: \(keys.sorted().joined(separator: ", ")))")
        }
        guard let prompt = object["prompt"] as? String else { throw fail("\"prompt\" must be present and a string") }
        var parameters = defaults
        func number(_ key: String) throws -> NSNumber? {
            guard let value = object[key] else { return nil }
            // JSON true/false also arrive as NSNumber; they are not numbers here.
            guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { throw fail("\"\(key)\" must be a number") }
            return number
        }
        func integer(_ key: String) throws -> Int? {
            guard let number = try number(key) else { return nil }
            guard number.doubleValue.rounded() == number.doubleValue, abs(number.doubleValue) < 1e15 else {
                throw fail("\"\(key)\" must be a whole number, not \(number)")
            }
            return number.intValue
        }
        if let v = try integer("max_tokens") { parameters.maxTokens = v }
        if let v = try number("temperature") { parameters.temperature = v.floatValue }
        if let v = try integer("top_k") { parameters.topK = v }
        if let v = try number("top_p") { parameters.topP = v.floatValue }
        if let v = try integer("seed") {
            guard v >= 0 else { throw fail("\"seed\" must be 0 or more, not \(v)") }
            parameters.seed = UInt64(v)
        }
        if let stop = object["stop"] {
            if let one = stop as? String {
                parameters.stop = [one]
            } else if let many = stop as? [Any], let strings = many as? [String] {
                parameters.stop = strings
            } else {
                throw fail("\"stop\" must be a string or an array of strings")
            }
        }
        return (prompt, parameters)
    }
}
