// `smallmind batch` as a process: killed half-way (SIGKILL, no chance to clean up) and rerun, the
// output holds every index exactly once.
import Foundation
import Testing

@Suite("smallmind batch executable", .serialized, .enabled(if: BuildProducts.executable("smallmind") != nil, Comment(rawValue: BuildProducts.missing)))
struct BatchCommandTests {
    let smallmind = BuildProducts.executable("smallmind") ?? ""
    static let count = 200

    func prepare() throws -> URL {
        let folder = try temporaryFolder()
        let prompts = (0..<Self.count).map { "The story of number \($0)" }
        try (prompts.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("in.txt"), atomically: true, encoding: .utf8)
        return folder
    }

    var arguments: [String] { ["batch", "--input", "in.txt", "--output", "out.jsonl", "--concurrency", "2", "--max-tokens", "30", "--temperature", "0.8", "--top-k", "20"] }

    func lines(_ folder: URL) -> [String] { Self.lines(folder) }

    static func lines(_ folder: URL) -> [String] {
        ((try? String(contentsOf: folder.appendingPathComponent("out.jsonl"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func indices(_ folder: URL) throws -> [Int] {
        try lines(folder).map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return try #require(object["index"] as? Int)
        }
    }

    @Test func killedHalfwayThenRerunHasEachIndexExactlyOnce() async throws {
        let folder = try prepare()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try RunningProcess(smallmind, arguments, stdin: "", directory: folder)
        #expect(await first.signal(SIGKILL) { Self.lines(folder).count >= 20 })
        let killed = await first.finish()
        #expect(killed.status != 0)
        let before = lines(folder).count
        #expect(before < Self.count, "the run finished before it could be killed; nothing was resumed")

        let second = try await run(smallmind, arguments, directory: folder)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("Resuming: "))
        #expect(try indices(folder) == Array(0..<Self.count))   // sorted, each once

        // A third run has nothing left to do and changes nothing.
        let contents = lines(folder)
        let third = try await run(smallmind, arguments, directory: folder)
        #expect(third.status == 0)
        #expect(lines(folder) == contents)
    }

    @Test func ctrlCStopsWithStatus130AndTheRerunFinishes() async throws {
        let folder = try prepare()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try RunningProcess(smallmind, arguments, stdin: "", directory: folder)
        #expect(await first.signal(SIGINT) { Self.lines(folder).count >= 10 })
        let interrupted = await first.finish()
        #expect(interrupted.status == 130)
        #expect(interrupted.stderr.contains("run the same command again"))
        // The progress bar's final state counts what was saved, not the items Ctrl-C cancelled.
        let saved = lines(folder).count
        let bars = interrupted.stderr.split(separator: "\n").filter { $0.hasPrefix("[") && $0.contains("/\(Self.count) (") }
        let last = try #require(bars.last, "no progress line in \(interrupted.stderr)")
        #expect(last.contains("] \(saved)/\(Self.count) ("), "\(last) with \(saved) lines saved")
        #expect(interrupted.stderr.contains("interrupted: \(saved) of \(Self.count) items are in out.jsonl"))
        let second = try await run(smallmind, arguments, directory: folder)
        #expect(second.status == 0)
        #expect(try indices(folder) == Array(0..<Self.count))
    }

    @Test func sameInputSameTextAsAnUninterruptedRun() async throws {
        // Resumed items use the same seeds (base + index), so resuming changes no text.
        let folder = try prepare()
        defer { try? FileManager.default.removeItem(at: folder) }
        let killedRun = try RunningProcess(smallmind, arguments, stdin: "", directory: folder)
        _ = await killedRun.signal(SIGKILL) { Self.lines(folder).count >= 15 }
        _ = await killedRun.finish()
        _ = try await run(smallmind, arguments, directory: folder)
        let resumed = lines(folder)

        let clean = try prepare()
        defer { try? FileManager.default.removeItem(at: clean) }
        _ = try await run(smallmind, arguments, directory: clean)
        func texts(_ lines: [String]) -> [String] {
            lines.map { line in
                let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                return object?["text"] as? String ?? "?"
            }
        }
        #expect(texts(resumed) == texts(lines(clean)))
    }

    @Test(arguments: [
        (["batch", "--input", "/no/such/file.txt"], "/no/such/file.txt: cannot read the input"),
        (["batch", "--input", "in.txt", "--concurrency", "0"], "--concurrency must be from 1 to 1024"),
        (["batch", "--input", "in.txt", "--temperature=-1"], "--temperature must be a finite number ≥ 0, got -1.0"),
        (["batch", "--input", "in.txt", "--temperature", "-1"], "--temperature must be a finite number ≥ 0, got -1.0"),
        (["batch", "--input", "in.txt", "--strategy", "fast"], "--strategy must be"),
        (["batch"], "Missing expected argument '--input <path>'"),
    ])
    func badArgumentsAreOneLine(arguments: [String], message: String) async throws {
        let folder = try prepare()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = try await run(smallmind, arguments, directory: folder)
        #expect(out.status != 0)
        #expect(out.stderr.hasPrefix("error: "), "\(out.stderr)")
        #expect(out.stderr.contains(message), "\(out.stderr)")
        #expect(out.stderr.occurrences(of: "\n") == 1)
    }
}
