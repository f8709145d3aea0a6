import Testing
import SmallMind
@testable import SmallMindCLI

@Suite("Console questions, tables, flag values")
struct ConsoleTests {
    @Test func integerQuestionsTakeDefaultsAndReAskOnNonsense() {
        let console = ScriptedConsole(["abc", "0", "", "7"])
        #expect(Ask.integer("Tokens", default: 25, range: 1...100, on: console) == 25)  // "abc", "0" refused, "" = default
        #expect(console.output.contains("'abc' is not a whole number"))
        #expect(console.output.contains("0 is out of range"))
        #expect(console.output.occurrences(of: "Tokens, 1 to 100 (default 25): ") == 3)
        #expect(Ask.integer("Tokens", default: 25, range: 1...100, on: console) == 7)
        #expect(Ask.integer("Tokens", default: 25, range: 1...100, on: console) == nil)  // end of input
    }

    @Test func choicesReAskUntilValid() {
        let console = ScriptedConsole(["x", " 9 ", " 2 "])
        #expect(Ask.choice("Choice: ", from: ["1", "2", "0"], on: console) == "2")
        #expect(console.output.occurrences(of: "Invalid choice") == 2)
        #expect(console.output.contains("Invalid choice '9': enter 1, 2 or 0."))
    }

    @Test func tablesAlignTheirColumns() {
        var table = TextTable(columns: [("Name", .left), ("N", .right)])
        table.append(["parallel", "8"])
        table.append(["locked", "16"])
        #expect(table.render() == """
            Name     |  N
            ---------+---
            parallel |  8
            locked   | 16

            """)
    }

    @Test func levelsAndStrategiesParse() throws {
        #expect(try CommandLineValues.levels("8, 1,2,4,2") == [1, 2, 4, 8])
        #expect(throws: CommandFailure.self) { try CommandLineValues.levels("1,x") }
        #expect(throws: CommandFailure.self) { try CommandLineValues.levels("0") }
        #expect(throws: CommandFailure.self) { try CommandLineValues.levels("") }
        #expect(try CommandLineValues.strategies("all") == GenerationStrategy.allCases)
        #expect(try CommandLineValues.strategies("parallel,locked") == [.parallel, .locked])
        #expect(throws: CommandFailure.self) { try CommandLineValues.strategies("batched-ish") }
    }

    @Test func jsonTextEscapesAndOrders() {
        #expect(JSONText.string("a\"b\\c\nd\u{1}") == #""a\"b\\c\nd\u0001""#)
        #expect(JSONText.object([("b", "1"), ("a", nil), ("c", JSONText.number(0.1234567, digits: 3))]) == #"{"b":1,"c":0.123}"#)
        #expect(JSONText.number(2.0) == "2")
    }
}

@Suite("InterruptHandler")
struct InterruptHandlerTests {
    @Test func ctrlCCancelsTheRunningOperation() async {
        let idle = Locked(0)
        let handler = InterruptHandler { idle.withLock { $0 += 1 } }
        let started = Locked(false)
        let run = Task {
            await handler.run { () -> Bool in
                started.withLock { $0 = true }
                while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(1)) }
                return true
            }
        }
        while !started.current { try? await Task.sleep(for: .milliseconds(1)) }
        handler.interrupt()
        let (sawCancellation, interrupted) = await run.value
        #expect(sawCancellation && interrupted)
        #expect(idle.current == 0)
        handler.interrupt()   // nothing running now: the idle action
        #expect(idle.current == 1)
    }

    @Test func anOperationThatFinishesIsNotInterrupted() async {
        let handler = InterruptHandler {}
        let (value, interrupted) = await handler.run { 42 }
        #expect(value == 42 && !interrupted)
    }
}
