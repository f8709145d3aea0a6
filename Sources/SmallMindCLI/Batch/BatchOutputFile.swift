// `smallmind batch` output: JSON Lines, one finished item per line, written the moment the item
// finishes — so a crash, a kill or Ctrl-C loses at most the items that were still running. A rerun
// with the same output file reads what is there, skips those indices, and appends the rest.
//
// A kill can land in the middle of a line. Such a torn last line (no final newline) is cut off
// before anything is appended, and its item runs again — so every index ends up exactly once.
import Foundation
import SmallMind

/// One line of batch output.
public struct BatchRecord: Sendable, Equatable, Decodable {
    public var index: Int
    public var prompt: String
    /// The generated text (the continuation, without the prompt).
    public var text: String?
    /// "eos", "stop" or "length" (see `FinishReason`).
    public var finishReason: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    /// Wall-clock seconds of the generation itself.
    public var seconds: Double?
    /// Why the item failed, when it did (then there is no text).
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case index, prompt, text, error, seconds
        case finishReason = "finish_reason", promptTokens = "prompt_tokens", completionTokens = "completion_tokens"
    }

    public init(index: Int, prompt: String, completion: Completion) {
        self.index = index
        self.prompt = prompt
        text = completion.continuation
        finishReason = completion.finishReason.rawValue
        promptTokens = completion.promptTokenCount
        completionTokens = completion.completionTokenCount
        seconds = completion.timings.totalSeconds
    }

    public init(index: Int, prompt: String, error: any Error) {
        self.index = index
        self.prompt = prompt
        self.error = String(describing: error)
    }

    /// The record as one JSON line, keys in a fixed, readable order, ending in a newline.
    public var jsonLine: String {
        JSONText.object([
            ("index", "\(index)"), ("prompt", JSONText.string(prompt)), ("text", text.map(JSONText.string)),
            ("finish_reason", finishReason.map(JSONText.string)), ("prompt_tokens", promptTokens.map(String.init)),
            ("completion_tokens", completionTokens.map(String.init)), ("seconds", seconds.map { JSONText.number($0) }),
            ("error", error.map(JSONText.string)),
        ]) + "\n"
    }
}

/// Where finished records go.
public protocol BatchRecordSink: Sendable {
    func write(_ record: BatchRecord) throws
}

/// Records to standard output (no resume).
public struct StandardOutputSink: BatchRecordSink {
    public init() {}
    public func write(_ record: BatchRecord) throws { StandardStreams.out(record.jsonLine) }
}

/// A JSON Lines output file that a rerun resumes.
public final class BatchOutputFile: BatchRecordSink {
    public let path: String
    /// Records already in the file when it was opened, by index.
    public let existing: [Int: BatchRecord]
    private let handle: FileHandle
    private let lock = NSLock()

    /// Opens (or creates) `path` for `items`: reads the records already there, checks they belong
    /// to this input, and cuts off a torn last line.
    public init(path: String, items: [BatchItem]) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        var records: [Int: BatchRecord] = [:]
        if FileManager.default.fileExists(atPath: path) {
            let data: Data
            do { data = try Data(contentsOf: url) } catch {
                throw CommandFailure(message: "\(path): cannot read the existing output: \((error as NSError).localizedDescription)")
            }
            // Everything after the last newline is a line cut short by a kill: drop it.
            let complete = data.lastIndex(of: UInt8(ascii: "\n")).map { data.startIndex...$0 }.map { data[$0] } ?? Data()
            let decoder = JSONDecoder()
            for (number, line) in complete.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
                guard !line.isEmpty else { continue }
                guard let record = try? decoder.decode(BatchRecord.self, from: Data(line)) else {
                    throw CommandFailure(message: "\(path) line \(number + 1) is not a batch result line; use another --output or remove the file")
                }
                guard items.indices.contains(record.index), items[record.index].prompt == record.prompt else {
                    throw CommandFailure(message: "\(path) line \(number + 1) (index \(record.index)) does not match the input's item \(record.index); "
                        + "the file belongs to another input: use another --output or remove it")
                }
                if records[record.index] == nil { records[record.index] = record }
            }
            if complete.count != data.count {
                let handle = try FileHandle(forWritingTo: url)
                try handle.truncate(atOffset: UInt64(complete.count))
                try handle.close()
            }
        } else if !FileManager.default.createFile(atPath: path, contents: nil) {
            throw CommandFailure(message: "\(path): cannot create the output file")
        }
        existing = records
        do {
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch {
            throw CommandFailure(message: "\(path): cannot open for writing: \((error as NSError).localizedDescription)")
        }
    }

    deinit { try? handle.close() }

    /// Appends one record. `FileHandle` writes straight to the file descriptor (no user-space
    /// buffer), so the line survives a kill of this process the moment this returns. (Surviving a
    /// power cut would need an fsync per line; not worth its cost here.)
    public func write(_ record: BatchRecord) throws {
        lock.lock()
        defer { lock.unlock() }
        try handle.write(contentsOf: Data(record.jsonLine.utf8))
    }

    /// Rewrites the file with one line per index in index order (records appear in completion
    /// order while running). Atomic: a kill during this leaves the old file or the new one.
    public func sortByIndex() throws {
        lock.lock()
        defer { lock.unlock() }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let decoder = JSONDecoder()
        var records: [Int: BatchRecord] = [:]
        for line in data.split(separator: UInt8(ascii: "\n")) {
            if let record = try? decoder.decode(BatchRecord.self, from: Data(line)), records[record.index] == nil {
                records[record.index] = record
            }
        }
        let text = records.keys.sorted().map { records[$0]!.jsonLine }.joined()
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

extension BatchOutputFile: @unchecked Sendable {}
// @unchecked: the file handle is only used under `lock`; `existing` is immutable.
