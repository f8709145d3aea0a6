import Testing
@testable import SmallMind

@Suite("AsyncSemaphore")
struct AsyncSemaphoreTests {
    @Test func waitersAreServedInOrder() async throws {
        let semaphore = AsyncSemaphore(permits: 0)
        let order = Locked<[Int]>([])
        var tasks: [Task<Void, any Error>] = []
        for i in 0..<4 {
            tasks.append(Task {
                try await semaphore.wait()
                order.withLock { $0.append(i) }
            })
            try await eventually { semaphore.waiterCount == i + 1 }
        }
        for _ in 0..<4 { semaphore.signal() }
        for task in tasks { try await task.value }
        #expect(order.current == [0, 1, 2, 3])
        #expect(semaphore.availablePermits == 0)
    }

    /// More waiters than cooperative threads: waiting suspends, so nothing deadlocks.
    @Test func manyMoreWaitersThanThreadsDoNotDeadlock() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        let counter = InFlightCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    try await semaphore.wait()
                    counter.enter()
                    try await Task.sleep(for: .milliseconds(1))
                    counter.leave()
                    semaphore.signal()
                }
            }
            try await group.waitForAll()
        }
        #expect(counter.most == 1)
        #expect(semaphore.availablePermits == 1)
    }
}
