// `smallmind batch` output: JSON Lines, one finished item per line, written the moment the item
// finishes — so a crash, a kill or Ctrl-C loses at most the items that were still running. A rerun
// with the same output file reads what is there and resumes:
//
// - a line with a result stands for its item if it was made from the same prompt with the same
//   settings (model and parameters); a line made with other settings stops the run, with a message
//   that offers --restart — mixing results of two settings in one file would be silent corruption;
// - a line with an error holds no result to protect: it is removed and its item runs again (also
//   when its prompt has since been fixed in the input);
// - a torn last line (a kill in the middle of writing it; no final newline) is cut off and its
//   item runs again.
//
// So every index ends up exactly once. The file stays locked while a run uses it (`LockedFile`).
//
// OpenAI Batch output lines (`OpenAIBatchResult`) resume the same way, keyed by custom_id: a 200
// response is kept, anything else (an error status, an error) runs again. Their settings are in
// the input's bodies, which the lines do not repeat, so only the custom_id is checked.
import Foundation
import SmallMind

/// Where finished lines go.
public protocol BatchRecordSink: Sendable {
    func write(_ line: any BatchOutputLine) throws
}

/// Lines to standard output (no resume).
public struct StandardOutputSink: BatchRecordSink {
    public init() {}
    public func write(_ line: any BatchOutputLine) throws { StandardStreams.out(line.jsonLine) }
}

/// A JSON Lines output file that a rerun resumes.
public final class BatchOutputFile: BatchRecordSink {
    public let path: String
    /// Finished results already in the file (their lines), by index: the items not to run again.
    public let existing: [Int: Data]
    /// The indices whose lines carried an error: removed from the file, to run again.
    public let retrying: Set<Int>
    private let file: LockedFile
    private let lock = NSLock()
    /// For OpenAI Batch input: each custom_id's item index. Nil for our own lines.
    private let customIDs: [String: Int]?

    /// Opens (or creates) and locks `path` for `items` made with `model`: reads the records
    /// already there and checks each belongs to this input and these settings, then removes the
    /// error lines and a torn last line. With `restart`, empties the file instead.
    public init(path: String, items: [BatchItem], model: String, restart: Bool = false) throws {
        self.path = path
        file = try LockedFile(path: path)
        let customIDs = Self.customIDs(of: items)
        self.customIDs = customIDs
        if restart {
            try file.truncate()
            existing = [:]
            retrying = []
            return
        }
        let data = try file.readAll()
        // Everything after the last newline is a line cut short by a kill: drop it.
        let complete = data.lastIndex(of: UInt8(ascii: "\n")).map { data[data.startIndex...$0] } ?? Data()
        let decoder = JSONDecoder()
        var records: [Int: Data] = [:], failed: Set<Int> = []
        var keptLines: [Data] = []
        let restartHint = "rerun with the settings it was made with, use another --output, or add --restart to discard its results and start over"
        for (number, line) in complete.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            guard !line.isEmpty else { continue }
            let location = "\(path) line \(number + 1)"
            if let customIDs {
                guard let (customID, succeeded) = OpenAIBatchResult.summary(of: Data(line)) else {
                    throw CommandFailure(message: "\(location) is not an OpenAI Batch output line; use another --output, or add --restart to overwrite the file")
                }
                let index = customID.flatMap { customIDs[$0] }
                guard succeeded else {
                    if let index { failed.insert(index) }
                    continue
                }
                guard let index else {
                    throw CommandFailure(message: "\(location) (custom_id \(customID.map { "\"\($0)\"" } ?? "null")) is not a request of the input: "
                        + "the file belongs to another input; use another --output, or add --restart to discard its results and start over")
                }
                guard records[index] == nil else { continue }
                records[index] = Data(line)
                keptLines.append(Data(line))
                continue
            }
            guard let record = try? decoder.decode(BatchRecord.self, from: Data(line)) else {
                throw CommandFailure(message: "\(location) is not a batch result line; use another --output, or add --restart to overwrite the file")
            }
            if record.error != nil {
                failed.insert(record.index)
                continue
            }
            guard items.indices.contains(record.index), items[record.index].prompt == record.prompt else {
                throw CommandFailure(message: "\(location) (index \(record.index)) does not match the input's item \(record.index): "
                    + "the file belongs to another input; use another --output, or add --restart to discard its results and start over")
            }
            if let mismatch = record.settingsMismatch(with: items[record.index], model: model) {
                throw CommandFailure(message: "\(location) (index \(record.index)) holds a result made with other settings: \(mismatch); \(restartHint)")
            }
            guard records[record.index] == nil else { continue }  // a duplicate adds nothing
            records[record.index] = Data(line)
            keptLines.append(Data(line))
        }
        existing = records
        retrying = failed.subtracting(records.keys)
        let kept = keptLines.reduce(into: Data()) { $0.append($1); $0.append(UInt8(ascii: "\n")) }
        if kept != data { try file.replaceContents(with: kept) }
    }

    /// Appends one line; it survives a kill of this process the moment this returns. (Surviving
    /// a power cut would need an fsync per line; not worth its cost here.)
    public func write(_ line: any BatchOutputLine) throws {
        lock.lock()
        defer { lock.unlock() }
        try file.append(Data(line.jsonLine.utf8))
    }

    /// Rewrites the file with one line per index in index order (lines appear in completion
    /// order while running); OpenAI lines that name no request of the input (a line too broken
    /// to carry a custom_id) go last. Atomic: a kill during this leaves the old file or the new one.
    public func sortByIndex() throws {
        lock.lock()
        defer { lock.unlock() }
        let data = try file.readAll()
        let decoder = JSONDecoder()
        var lines: [Int: Data] = [:], unplaced: [Data] = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            if let customIDs {
                if let index = OpenAIBatchResult.summary(of: Data(line))?.customID.flatMap({ customIDs[$0] }) {
                    if lines[index] == nil { lines[index] = Data(line) }
                } else {
                    unplaced.append(Data(line))
                }
            } else if let record = try? decoder.decode(BatchRecord.self, from: Data(line)), lines[record.index] == nil {
                lines[record.index] = Data(line)
            }
        }
        let sorted = (lines.keys.sorted().map { lines[$0]! } + unplaced).reduce(into: Data()) { $0.append($1); $0.append(UInt8(ascii: "\n")) }
        if sorted != data { try file.replaceContents(with: sorted) }
    }

    /// Each custom_id's index, when `items` come from an OpenAI Batch file.
    private static func customIDs(of items: [BatchItem]) -> [String: Int]? {
        guard items.contains(where: { $0.request != nil }) else { return nil }
        var ids: [String: Int] = [:]
        for item in items { if let id = item.request?.customID { ids[id] = item.index } }
        return ids
    }
}

extension BatchOutputFile: @unchecked Sendable {}
// @unchecked: `file` is only used under `lock` (or in init); `existing`, `retrying` and `customIDs` are immutable.
