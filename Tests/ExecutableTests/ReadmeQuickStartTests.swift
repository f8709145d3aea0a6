// The README's quick start, run as written: every command in its `sh` blocks from "## Start here"
// to "### Benchmarks" (the start, a real model, the sample, the command-line tool) must succeed
// on a clean checkout. The commands are read from README.md itself, so the README and this test
// cannot drift apart: a new command there is run here, and a command this test does not know how
// to run fails it.
//
// How each line runs: `.build/release/X` and `swift run [-c release] X` run the executable X built
// beside these tests (a debug build: the same code, slower); `swift build` and `swift test` are
// what built and runs this test; `bash ../shared/tools/fetch_real_models.sh` downloads (CI runs it
// before the tests). `../shared/…` is the shared folder beside the package and `$M` the real
// models' folder: lines that need files absent here are skipped, saying which. Each command runs
// in a fresh folder holding the `prompts.txt` and `prompt.txt` that the README's examples read.
import Foundation
import Testing

@Suite("README quick start", .enabled(if: BuildProducts.executable("smallmind") != nil, Comment(rawValue: BuildProducts.missing)))
struct ReadmeQuickStartTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Ten ordinary prompts, apostrophes and all (the README's `batch` example reads prompts.txt).
    static let prompts = [
        "The future of artificial intelligence is", "Once upon a time, in a small village,", "Here's what I learned today:",
        "The best way to learn a new language is", "My grandmother's kitchen always smelled of", "In 2050, cities will",
        "Why don't cats like water?", "The three rules of good code are", "It's raining again, so we", "Dear diary, today I",
    ]

    /// The shell commands of the README's quick start, continuation lines joined, comments removed.
    static func quickStartCommands() throws -> [String] {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: "\n## Start here\n"), "README.md has no '## Start here'")
        let end = try #require(readme.range(of: "\n### Benchmarks\n", range: start.upperBound..<readme.endIndex), "README.md has no '### Benchmarks'")
        var commands: [String] = [], inBlock = false, pending = ""
        for line in readme[start.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                inBlock = line == "```sh" && !inBlock ? true : false
                continue
            }
            guard inBlock else { continue }
            var text = Self.strippingComment(String(line))
            let continues = text.hasSuffix("\\")
            if continues { text.removeLast() }
            pending += text
            if !continues {
                let command = pending.trimmingCharacters(in: .whitespaces)
                if !command.isEmpty { commands.append(command) }
                pending = ""
            }
        }
        return commands
    }

    /// `line` without a `#` comment (a `#` at the start or after a space, outside quotes).
    static func strippingComment(_ line: String) -> String {
        var quote: Character?, previous: Character = " ", out = ""
        for c in line {
            if let open = quote {
                if c == open { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "#" && previous.isWhitespace {
                break
            }
            out.append(c)
            previous = c
        }
        return out.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
    }

    /// Splits a command into words as a POSIX shell would for these simple lines: quotes,
    /// `$NAME`, `${NAME:-default}` and a leading `~`.
    static func words(_ command: String, variables: [String: String]) throws -> [String] {
        var words: [String] = [], word = "", inWord = false
        var characters = Array(command)[...]
        func expandVariable() throws {
            if characters.first == "{" {
                characters.removeFirst()
                let body = String(characters.prefix { $0 != "}" })
                characters = characters.dropFirst(body.count + 1)
                let parts = body.components(separatedBy: ":-")
                let value = variables[parts[0]].flatMap { $0.isEmpty ? nil : $0 } ?? (parts.count > 1 ? parts[1] : "")
                word += value.hasPrefix("~") ? NSHomeDirectory() + value.dropFirst() : value
            } else {
                let name = String(characters.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
                characters = characters.dropFirst(name.count)
                word += variables[name] ?? ""
            }
        }
        while let c = characters.popFirst() {
            switch c {
            case " ", "\t":
                if inWord { words.append(word) }
                word = ""
                inWord = false
            case "\"":
                inWord = true
                while let d = characters.popFirst(), d != "\"" {
                    if d == "$" { try expandVariable() } else { word.append(d) }
                }
            case "'":
                inWord = true
                while let d = characters.popFirst(), d != "'" { word.append(d) }
            case "$":
                inWord = true
                try expandVariable()
            case "~" where !inWord:
                inWord = true
                word += NSHomeDirectory()
            default:
                inWord = true
                word.append(c)
            }
        }
        if inWord { words.append(word) }
        return words
    }

    /// What to do with one README command.
    enum Plan: Equatable {
        case run(executable: String, arguments: [String])
        case assign(name: String, value: String)
        case skip(reason: String)
    }

    static func plan(_ command: String, variables: [String: String]) throws -> Plan {
        let w = try words(command, variables: variables)
        guard let first = w.first else { return .skip(reason: "empty") }
        if w.count == 1, let equals = first.firstIndex(of: "="), first[..<equals].allSatisfy({ $0.isLetter || $0 == "_" }) {
            // NAME=value: the value was expanded with the word.
            return .assign(name: String(first[..<equals]), value: String(first[first.index(after: equals)...]))
        }
        var executable: String, arguments: [String]
        switch first {
        case "swift" where w.count > 1 && ["build", "test"].contains(w[1]):
            return .skip(reason: "the build that runs this test")
        case "swift" where w.count > 1 && w[1] == "run":
            let rest = Array(w.dropFirst(2))
            let afterConfiguration = rest.first == "-c" ? Array(rest.dropFirst(2)) : rest
            guard let name = afterConfiguration.first else { return .skip(reason: "swift run of the default product") }
            (executable, arguments) = (name, Array(afterConfiguration.dropFirst()))
        case "bash" where w.count > 1 && w[1].hasSuffix("tools/fetch_real_models.sh"):
            return .skip(reason: "downloads the real models (CI runs it before the tests)")
        case _ where first.hasPrefix(".build/release/"):
            (executable, arguments) = (String(first.dropFirst(".build/release/".count)), Array(w.dropFirst()))
        default:
            throw CommandNotUnderstood(command: command)
        }
        guard let path = BuildProducts.executable(executable) else { return .skip(reason: "\(executable) is not built") }
        var resolved: [String] = []
        for argument in arguments {
            if argument.hasPrefix("../shared/") {
                guard let root = SharedFiles.root else { return .skip(reason: "needs ../shared") }
                resolved.append(root.appendingPathComponent(String(argument.dropFirst("../shared/".count))).path)
            } else {
                resolved.append(argument)
            }
        }
        for file in resolved where file.hasPrefix("/") && !FileManager.default.fileExists(atPath: file) {
            return .skip(reason: "needs \(file)")
        }
        return .run(executable: path, arguments: resolved)
    }

    struct CommandNotUnderstood: Error, CustomStringConvertible {
        let command: String
        var description: String { "the README's quick start has a command this test cannot run: \(command) — teach ReadmeQuickStartTests.plan how" }
    }

    @Test func theParserReadsShellLinesAsAShellWould() throws {
        let variables = ["M": "/models", "EMPTY": ""]
        #expect(try Self.words(#"a --prompt "The future of AI" 'x y' $M/q.gguf"#, variables: variables) == ["a", "--prompt", "The future of AI", "x y", "/models/q.gguf"])
        #expect(try Self.words("${EMPTY:-~/m}", variables: variables) == [NSHomeDirectory() + "/m"])
        #expect(try Self.words("${M:-~/m}/x", variables: variables) == ["/models/x"])
        #expect(Self.strippingComment(#"run --prompt "a # b"   # the comment"#) == #"run --prompt "a # b""#)
        #expect(try Self.plan("M=${SMALLMIND_MODELS:-~/m}", variables: [:]) == .assign(name: "M", value: NSHomeDirectory() + "/m"))
        #expect(try Self.plan("swift test", variables: [:]) == .skip(reason: "the build that runs this test"))
        #expect(throws: CommandNotUnderstood.self) { try Self.plan("rm -rf /", variables: [:]) }
    }

    @Test func everyQuickStartCommandSucceeds() async throws {
        let commands = try Self.quickStartCommands()
        #expect(commands.count >= 15, "the quick start's commands were not found: \(commands)")
        var variables = ProcessInfo.processInfo.environment
        var ran: [String] = [], skipped: [String] = []
        for command in commands {
            switch try Self.plan(command, variables: variables) {
            case let .assign(name, value):
                variables[name] = value
            case let .skip(reason):
                skipped.append("\(command)  [\(reason)]")
            case let .run(executable, arguments):
                let folder = try temporaryFolder()
                defer { try? FileManager.default.removeItem(at: folder) }
                try (Self.prompts.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("prompts.txt"), atomically: true, encoding: .utf8)
                try "Once upon a time, there was a little girl.\n".write(to: folder.appendingPathComponent("prompt.txt"), atomically: true, encoding: .utf8)
                let result = try await RunningProcess(executable, arguments, stdin: "", directory: folder).finish(timeout: 600)
                #expect(result.status == 0, "README command failed (status \(result.status)): \(command)\n\(result.stderr.suffix(2000))")
                if command.contains("smallmind batch") {
                    // The README's batch example: every one of the ten ordinary prompts has a result.
                    let lines = ((try? String(contentsOf: folder.appendingPathComponent("results.jsonl"), encoding: .utf8)) ?? "").split(separator: "\n")
                    #expect(lines.count == Self.prompts.count && !lines.contains { $0.contains(#""error":"#) }, "\(lines)")
                }
                ran.append(command)
            }
        }
        // The demo-model lines need nothing beside the package: they always run.
        #expect(ran.count >= 8, "ran only \(ran.count): \(ran); skipped \(skipped)")
        if SharedFiles.available {
            #expect(ran.contains { $0.contains("../shared/") }, "no ../shared line ran although ../shared is there; skipped \(skipped)")
        }
    }
}
