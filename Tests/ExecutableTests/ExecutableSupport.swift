// Running the built executables as a user would: stdin from a script, stdout and stderr captured
// (into files, so a chatty process can never block on a full pipe), signals sent by pid.
import Foundation
import Testing

/// The folder holding the built products: the one this test bundle was built into.
enum BuildProducts {
    static let directory: URL? = {
        var candidates: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        candidates.append(Bundle.main.bundleURL)
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        // Xcode-style bundles: .../debug/Foo.xctest/Contents/MacOS/Foo
        candidates += candidates.map { $0.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("smallmind").path) }
    }()

    /// The path of executable `name`, or nil (the caller skips) when it has not been built.
    static func executable(_ name: String) -> String? {
        guard let path = directory?.appendingPathComponent(name).path, FileManager.default.isExecutableFile(atPath: path) else { return nil }
        return path
    }

    /// Why a test cannot run, for `.enabled(if:)`.
    static let missing = "the executables are not built next to the tests; run `swift build --build-tests` first"
}

/// What a finished process left behind.
struct ProcessOutput {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A started executable with captured output.
final class RunningProcess: @unchecked Sendable {
    let process = Process()
    let folder: URL
    private let input: Pipe?
    /// Whether `folder` was made for this process (and is removed when it finishes).
    private let ownsFolder: Bool

    /// Starts `path` with `arguments` in a fresh temporary working folder (or `directory`).
    /// With `stdin` the input is that text followed by end of input; with nil it stays open for `send`.
    init(_ path: String, _ arguments: [String], stdin: String?, directory: URL? = nil) throws {
        folder = try directory ?? temporaryFolder()
        ownsFolder = directory == nil
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = folder
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("stdout.txt").path, contents: nil)
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("stderr.txt").path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: folder.appendingPathComponent("stdout.txt"))
        process.standardError = try FileHandle(forWritingTo: folder.appendingPathComponent("stderr.txt"))
        if let stdin {
            let file = folder.appendingPathComponent("stdin.txt")
            try Data(stdin.utf8).write(to: file)
            process.standardInput = try FileHandle(forReadingFrom: file)
            input = nil
        } else {
            let pipe = Pipe()
            process.standardInput = pipe
            input = pipe
        }
        try process.run()
    }

    func send(_ text: String) { input?.fileHandleForWriting.write(Data(text.utf8)) }
    func closeInput() { try? input?.fileHandleForWriting.close() }
    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    var stdout: String { (try? String(contentsOf: folder.appendingPathComponent("stdout.txt"), encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: folder.appendingPathComponent("stderr.txt"), encoding: .utf8)) ?? "" }

    /// Waits for the process to exit (killing it after `timeout` seconds).
    func finish(timeout: Double = 120) async -> ProcessOutput {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                signal(SIGKILL)
                Issue.record("the process did not finish within \(timeout) s; killed it")
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        closeInput()
        let output = ProcessOutput(status: process.terminationStatus, stdout: stdout, stderr: stderr)
        if ownsFolder { try? FileManager.default.removeItem(at: folder) }
        return output
    }

    /// Sends `number` as soon as `condition` holds, watching from a thread of its own: the test's
    /// async tasks share two cooperative threads with every other test, and a watcher starved
    /// there could miss the moment. Returns when the signal was sent (true) or the process ended
    /// first (false).
    func signal(_ number: Int32, when condition: @escaping @Sendable () -> Bool) async -> Bool {
        let sent = ManagedFlag()
        let process = self.process
        let thread = Thread {
            while process.isRunning {
                if condition() {
                    kill(process.processIdentifier, number)
                    sent.set()
                    return
                }
                usleep(1000)
            }
        }
        thread.start()
        while !thread.isFinished { try? await Task.sleep(for: .milliseconds(5)) }
        return sent.isSet
    }

    /// Polls until `condition` holds (true) or the process exits or `timeout` passes (false).
    func wait(until condition: () -> Bool, timeout: Double = 60) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            if !process.isRunning { return condition() }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return false
    }
}

/// Runs `path` to completion with `stdin`.
func run(_ path: String, _ arguments: [String] = [], stdin: String = "", directory: URL? = nil) async throws -> ProcessOutput {
    try await RunningProcess(path, arguments, stdin: stdin, directory: directory).finish()
}

func temporaryFolder() throws -> URL {
    let url = testScratchFolder.appendingPathComponent("smallmind-exe-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

extension String {
    func occurrences(of needle: String) -> Int { components(separatedBy: needle).count - 1 }
}

/// A flag set from one thread and read from another.
final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

/// One folder per test process for the files tests write, removed when the process exits (the
/// tests' files left /tmp growing by dozens per run before).
let testScratchFolder: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("smallmind-exe-tests-\(getpid())-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: testScratchFolder) }
    return url
}()
