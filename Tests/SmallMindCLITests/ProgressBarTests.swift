import Testing
import SmallMind
@testable import SmallMindCLI

@Suite("ProgressBar")
struct ProgressBarTests {
    @Test func rendersTheSampleFormat() {
        let line = ProgressBar.render(completed: 8, total: 12, elapsed: 8 / 2.4, width: 50)
        let bar = String(repeating: "█", count: 33) + String(repeating: "░", count: 17)
        #expect(line == "[\(bar)] 8/12 (67%) | 2.4 items/s | ETA: 00:02")
    }

    @Test func rendersStartEndAndLongEtas() {
        #expect(ProgressBar.render(completed: 0, total: 4, elapsed: 0, width: 4) == "[░░░░] 0/4 (0%) | 0.0 items/s | ETA: --:--")
        #expect(ProgressBar.render(completed: 4, total: 4, elapsed: 2, width: 4) == "[████] 4/4 (100%) | 2.0 items/s | ETA: 00:00")
        #expect(ProgressBar.render(completed: 1, total: 7202, elapsed: 1, width: 4).hasSuffix("ETA: 2:00:01"))
        #expect(ProgressBar.render(completed: 0, total: 0, elapsed: 0, width: 2) == "[██] 0/0 (100%) | 0.0 items/s | ETA: 00:00")
    }

    @Test func onATerminalRedrawsInPlaceAtMostTenTimesASecondAndEndsWithANewline() {
        let clock = ManualClock(), sink = Locked("")
        let bar = ProgressBar(total: 100, isTerminal: true, width: 10, clock: clock.read) { text in sink.withLock { $0 += text } }
        bar.update(completed: 1)                       // first update draws at once
        for i in 2...50 { clock.advance(0.001); bar.update(completed: i) }   // 49 updates within 49 ms
        #expect(sink.current.occurrences(of: "\r") == 1)
        clock.advance(0.1)
        bar.update(completed: 51)                      // 0.1 s later: redraws
        #expect(sink.current.occurrences(of: "\r") == 2)
        #expect(sink.current.hasSuffix("51/100 (51%) | 342.3 items/s | ETA: 00:01\u{1B}[K"))
        bar.finish()
        #expect(sink.current.hasSuffix("\n"))
        #expect(!sink.current.dropLast().contains("\n"))   // one line, redrawn
        bar.update(completed: 60)                       // ignored after finish
        #expect(sink.current.hasSuffix("51/100 (51%) | 342.3 items/s | ETA: 00:01\u{1B}[K\n"))
    }

    @Test func onATerminalReachingTheTotalAlwaysDraws() {
        let clock = ManualClock(), sink = Locked("")
        let bar = ProgressBar(total: 3, isTerminal: true, width: 3, clock: clock.read) { text in sink.withLock { $0 += text } }
        bar.update(completed: 1)
        bar.update(completed: 3)
        #expect(sink.current.hasSuffix("3/3 (100%) | 0.0 items/s | ETA: 00:00\u{1B}[K"))
    }

    @Test func whenNotATerminalPrintsPlainLinesEveryFewSeconds() {
        let clock = ManualClock(), sink = Locked("")
        let bar = ProgressBar(total: 10, isTerminal: false, width: 10, plainLineInterval: 5, clock: clock.read) { text in sink.withLock { $0 += text } }
        for i in 1...4 { clock.advance(1); bar.update(completed: i) }   // 4 s: nothing yet
        #expect(sink.current.isEmpty)
        clock.advance(1); bar.update(completed: 5)                       // 5 s: a line
        clock.advance(1); bar.update(completed: 6)
        bar.finish()
        let lines = sink.current.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0] == "[█████░░░░░] 5/10 (50%) | 1.0 items/s | ETA: 00:05")
        #expect(lines[1] == "[██████░░░░] 6/10 (60%) | 1.0 items/s | ETA: 00:04")
        #expect(!sink.current.contains("\r") && !sink.current.contains("\u{1B}"))
    }

    @Test func isSafeToAdvanceFromManyTasks() async {
        let sink = Locked("")
        let bar = ProgressBar(total: 1000, isTerminal: true, width: 20) { text in sink.withLock { $0 += text } }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<10 { group.addTask { for _ in 0..<100 { bar.advance() } } }
        }
        bar.finish()
        #expect(sink.current.hasSuffix("\n"))
        #expect(sink.current.contains("1000/1000 (100%)"))
    }
}
