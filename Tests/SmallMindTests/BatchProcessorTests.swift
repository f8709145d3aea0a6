import Testing
@testable import SmallMind

@Suite("BatchProcessor")
struct BatchProcessorTests {
    @Test func resultsComeBackInInputOrder() async {
        // Later items finish first: item i sleeps (n - i) ms.
        let n = 12
        let processor = BatchProcessor<Int, Int>(maxConcurrency: 4) { value, index in
            try await Task.sleep(for: .milliseconds(2 * (n - index)))
            return value * 10
        }
        let results = await processor.process(Array(0..<n))
        #expect(results.count == n)
        #expect(results.map { try? $0.get() } == (0..<n).map { $0 * 10 })
    }

    @Test(arguments: [1, 2, 3, 8])
    func neverMoreInFlightThanTheLimit(limit: Int) async {
        let counter = InFlightCounter()
        let processor = BatchProcessor<Int, Int>(maxConcurrency: limit) { value, _ in
            counter.enter()
            defer { counter.leave() }
            try await Task.sleep(for: .milliseconds(10))
            return value
        }
        let results = await processor.process(Array(0..<16))
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        #expect(counter.most <= limit)
        #expect(counter.most == limit)  // and it does use the room it has
    }

    @Test func aFailureStaysInItsOwnPlace() async throws {
        let processor = BatchProcessor<Int, Int>(maxConcurrency: 3) { value, index in
            if value % 4 == 1 { throw TestFailure(index: index) }
            return value
        }
        let progress = Locked<[BatchProgress<Int>]>([])
        let results = await processor.process(Array(0..<10)) { p in progress.withLock { $0.append(p) } }
        for (i, result) in results.enumerated() {
            if i % 4 == 1 {
                #expect(throws: TestFailure(index: i)) { try result.get() }
            } else {
                #expect(try result.get() == i)
            }
        }
        let reports = progress.current
        #expect(reports.count == 10)
        #expect(reports.map(\.completed) == Array(1...10))
        #expect(reports.last?.failed == 3)
        #expect(Set(reports.map(\.index)) == Set(0..<10))
        #expect(reports.allSatisfy { $0.total == 10 })
    }

    @Test func cancellingTheBatchStopsStartingItemsAndReportsTheRestCancelled() async {
        let started = Locked<Set<Int>>([])
        let processor = BatchProcessor<Int, Int>(maxConcurrency: 2) { value, index in
            started.withLock { _ = $0.insert(index) }
            // Items 4 and on would hang until cancelled: long enough that a loaded machine (the full
            // suite beside two builds took over 10 s to start them) still cancels them first.
            try await Task.sleep(for: .seconds(index < 4 ? 0.001 : 600))
            return value
        }
        let task = Task { await processor.process(Array(0..<20)) }
        // Let the quick items finish and two slow ones start, then cancel.
        try? await eventually { started.current.count >= 6 }
        task.cancel()
        let results = await task.value
        #expect(results.count == 20)
        #expect((0..<4).allSatisfy { (try? results[$0].get()) == $0 })
        #expect(results[4...].allSatisfy { $0.isCancellation })
        #expect(started.current == Set(0..<6))  // nothing new started after the cancel
    }

    @Test func emptyInputGivesNoResults() async {
        let processor = BatchProcessor<Int, Int>(maxConcurrency: 3) { value, _ in value }
        #expect(await processor.process([]).isEmpty)
    }
}
