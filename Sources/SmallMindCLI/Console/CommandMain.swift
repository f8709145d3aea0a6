// The tools' entry point around swift-argument-parser: a bad flag, a missing file or a nonsense
// value becomes one line on standard error and a non-zero status — not a usage dump, not a stack
// trace. Help and version requests still print in full.
import ArgumentParser
import Foundation
import SmallMind

/// Runs a command-line tool the SmallMind way.
public enum CommandMain {
    public static func run<Command: ParsableCommand>(_ command: Command.Type) async {
        // Before anything reaches the kernels (even a flag's default): a processor they cannot run
        // on, or a SMALLMIND_KERNELS naming no path, is one line and status 1 — not SIGILL.
        do {
            try ProcessorSupport.check()
        } catch {
            StandardStreams.error("error: \(error)\n")
            exit(1)
        }
        do {
            var parsed = try Command.parseAsRoot()
            if var asyncCommand = parsed as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try parsed.run()
            }
        } catch {
            var status = Command.exitCode(for: error)
            if let failure = error as? CommandFailure { status = ExitCode(failure.status) }
            if status == .success {
                // --help, --version: the full text, on standard output.
                StandardStreams.out(Command.fullMessage(for: error) + "\n")
            } else if !(error is ExitCode) {
                let message = Command.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
                StandardStreams.error("error: \(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message)\n")
            }
            exit(status.rawValue)
        }
    }
}
