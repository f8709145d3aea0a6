// The acceptance commands of the MultiThreadedGeneration sample, run against the built executable.
import Foundation
import Testing

@Suite("MultiThreadedGeneration executable", .serialized, .enabled(if: BuildProducts.executable("MultiThreadedGeneration") != nil, Comment(rawValue: BuildProducts.missing)))
struct SampleExecutableTests {
    let sample = BuildProducts.executable("MultiThreadedGeneration") ?? ""

    @Test func scenarioOneShowsFourResultsAndExits() async throws {
        let out = try await run(sample, stdin: "1\n0\n")
        #expect(out.status == 0)
        #expect(out.stdout.occurrences(of: " thread ") == 4)
        for prompt in ["The future of AI", "Once upon a time", "In the year 2050", "The quick brown fox"] {
            #expect(out.stdout.contains("] \(prompt)\n"))
        }
        #expect(out.stderr.isEmpty)
    }

    @Test func scenarioTwoWithDefaultsShowsTwelveResultsInOrder() async throws {
        let out = try await run(sample, stdin: "2\n\n\n0\n")
        #expect(out.status == 0)
        let results = out.stdout.split(separator: "\n").filter { $0.hasPrefix("[") && $0.contains(" -> ") }
        #expect(results.count == 12)
        #expect(results.enumerated().allSatisfy { $1.hasPrefix("[\($0 + 1)] ") })
        #expect(out.stdout.contains("Processed 12 items in "))
        #expect(out.stdout.contains("Throughput: "))
        #expect(out.stderr.contains("12/12 (100%)"))    // the progress bar; stderr is a file here: plain lines
        #expect(!out.stderr.contains("\u{1B}"))
    }

    @Test func scenarioThreeShowsTheTable() async throws {
        // --repetitions 1 keeps the debug-build test quick; the levels are the defaults.
        let out = try await run(sample, ["--repetitions", "1"], stdin: "3\n0\n")
        #expect(out.status == 0)
        for level in [1, 2, 4, 8] {
            #expect(out.stdout.contains("locked   | \(String(repeating: " ", count: 10))\(level) |"))
            #expect(out.stdout.contains("parallel | \(String(repeating: " ", count: 10))\(level) |"))
        }
        #expect(!out.stdout.contains("| NO"))
    }

    @Test func invalidChoicesReAskThenExit() async throws {
        let out = try await run(sample, stdin: "x\n9\n0\n")
        #expect(out.status == 0)
        #expect(out.stdout.occurrences(of: "Invalid choice") == 2)
        #expect(out.stdout.occurrences(of: "Choice: ") == 3)
    }

    @Test func endOfInputExitsCleanly() async throws {
        let out = try await run(sample, stdin: "")
        #expect(out.status == 0)
        #expect(out.stderr.isEmpty)
    }

    @Test func jsonReportsEveryLevelIdentical() async throws {
        let out = try await run(sample, ["--scenario", "3", "--json", "--levels", "1,2,4", "--repetitions", "1"])
        #expect(out.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        let results = try #require(object["results"] as? [[String: Any]])
        let strategies = Set(results.compactMap { $0["strategy"] as? String })
        #expect(strategies == ["locked", "parallel", "batched"])
        #expect(results.count == 3 * strategies.count)  // the three levels for each strategy
        #expect(results.allSatisfy { $0["identical"] as? Bool == true })
    }

    @Test(arguments: [
        (["--scenario", "7"], "--scenario must be 1, 2 or 3"),
        (["--levels", "1,two"], "invalid --levels"),
        (["--strategy", "fast"], "unknown strategy 'fast'"),
        (["--json"], "--json reports scenario 3"),
        (["--max-tokens=-3"], "--max-tokens must be from 1"),
        (["--max-tokens", "-3"], "--max-tokens must be from 1 to 10000, got -3"),
        (["--concurrency", "13"], "--concurrency must be from 1 to 12, got 13"),
        (["--threads", "0"], "--threads must be from 1 to 256, got 0"),
        (["--bogus"], "Unknown option '--bogus'"),
        (["--model", "/no/such/model.bin", "--tokenizer", "/no/such/tok.bin"], "/no/such/model.bin"),
    ])
    func badFlagsAreOneLineAndNonZero(arguments: [String], message: String) async throws {
        let out = try await run(sample, arguments)
        // A usage error exits 64 (EX_USAGE); a model that cannot be loaded, 1.
        #expect(out.status == (arguments.first == "--model" ? 1 : 64), "\(out.stderr)")
        #expect(out.stderr.hasPrefix("error: "))
        #expect(out.stderr.contains(message))
        #expect(out.stderr.occurrences(of: "\n") == 1)
    }

    @Test func ctrlCCancelsTheScenarioAndReturnsToTheMenu() async throws {
        let process = try RunningProcess(sample, ["--repetitions", "1000"], stdin: nil)
        process.send("3\n")
        #expect(await process.wait { process.stderr.contains("measuring") })
        try await Task.sleep(for: .milliseconds(200))
        process.signal(SIGINT)
        #expect(await process.wait { process.stdout.contains("Scenario cancelled") })
        process.send("0\n")
        let out = await process.finish()
        #expect(out.status == 0)
        #expect(out.stdout.contains("Goodbye."))
        #expect(out.stdout.occurrences(of: "Select a scenario:") == 2)
    }

    @Test func ctrlCAtTheMenuExitsCleanly() async throws {
        let process = try RunningProcess(sample, [], stdin: nil)
        #expect(await process.wait { process.stdout.contains("Choice: ") })
        process.signal(SIGINT)
        let out = await process.finish()
        #expect(out.status == 0)
    }

    @Test func ctrlCInAScriptedScenarioExits130() async throws {
        let process = try RunningProcess(sample, ["--scenario", "3", "--repetitions", "1000"], stdin: "")
        #expect(await process.wait { process.stderr.contains("measuring") })
        process.signal(SIGINT)
        let out = await process.finish()
        #expect(out.status == 130)
        #expect(out.stdout.contains("Scenario cancelled"))
        #expect(!out.stderr.contains("Fatal error"))
    }
}
