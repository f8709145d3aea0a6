import Foundation
import Synchronization
import Testing
@testable import SmallMindKernels

/// The pool's contract: every task of a job runs exactly once, on a worker index below the
/// thread count that no concurrently running task shares — whether the threads found the job
/// while polling or had to be woken from sleep, and whether the caller polled or slept for them.
struct ThreadPoolTests {
    /// Runs a job of `tasks` tasks and checks each ran once, worker indices in range and never
    /// held by two tasks at the same time.
    private func checkJob(_ pool: ThreadPool, tasks: Int, taskDuration: Duration? = nil) {
        struct Record { var runs: [Int]; var busy: [Bool]; var misuse = 0 }
        let record = Mutex(Record(runs: Array(repeating: 0, count: tasks), busy: Array(repeating: false, count: pool.threadCount)))
        pool.run(tasks: tasks) { task, worker in
            let inRange = record.withLock { r in
                guard worker >= 0 && worker < pool.threadCount else {
                    r.misuse += 1
                    return false
                }
                if r.busy[worker] { r.misuse += 1 }
                r.busy[worker] = true
                return true
            }
            guard inRange else { return }
            if let taskDuration { Thread.sleep(forTimeInterval: Self.seconds(taskDuration)) }
            record.withLock { r in
                r.runs[task] += 1
                r.busy[worker] = false
            }
        }
        record.withLock { r in
            #expect(r.misuse == 0)
            #expect(r.runs.allSatisfy { $0 == 1 }, "tasks run \(r.runs) times")
        }
    }

    /// Waits (up to a second, for a loaded machine) until every worker sleeps on the condition variable.
    private func waitUntilWorkersSleep(_ pool: ThreadPool) -> Bool {
        let deadline = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < deadline {
            if pool.sleepingWorkerCount == pool.threadCount - 1 { return true }
            Thread.sleep(forTimeInterval: 0.001)
        }
        return false
    }

    @Test func jobsBackToBackRunEveryTaskOnce() {
        let pool = ThreadPool(threads: 3)
        for tasks in [1, 2, 3, 7, 64, 1000] {
            for _ in 0..<20 { checkJob(pool, tasks: tasks) }
        }
    }

    /// Idle longer than the polling time: the workers are asleep on the condition variable and
    /// must be woken by the next job.
    @Test func jobsAfterTheWorkersFellAsleep() {
        let pool = ThreadPool(threads: 3)
        for _ in 0..<4 {
            #expect(waitUntilWorkersSleep(pool), "the idle workers never went to sleep")
            checkJob(pool, tasks: 16)
        }
    }

    /// Tasks longer than the polling time: a thread done with its share waits past its polling
    /// time (the caller, when it is the one, sleeps until the last worker signals it).
    @Test func tasksLongerThanThePollingTime() {
        let pool = ThreadPool(threads: 2)
        for _ in 0..<3 { checkJob(pool, tasks: 4, taskDuration: ThreadPool.spinDuration * 3) }
    }

    @Test func splittingCoversEveryIndexOnce() {
        let pool = ThreadPool(threads: 2)
        for (count, alignment) in [(1, 1), (10, 1), (1000, 8), (37, 16)] {
            let seen = Mutex([Int](repeating: 0, count: count)), misaligned = Mutex(0)
            pool.run(splitting: count, alignment: alignment) { range, _ in
                if range.lowerBound % alignment != 0 { misaligned.withLock { $0 += 1 } }
                seen.withLock { for i in range { $0[i] += 1 } }
            }
            #expect(misaligned.withLock { $0 } == 0)
            #expect(seen.withLock { $0.allSatisfy { $0 == 1 } })
        }
    }

    @Test func waitSucceedsWhenTheConditionHolds() {
        var polls = 0
        #expect(ThreadPool.wait(until: { polls += 1; return true }))
        #expect(polls == 1)
    }

    /// A condition that never holds: the wait gives up after the polling time, not before, and
    /// says so (the caller then sleeps instead).
    @Test func waitGivesUpAfterThePollingTime() {
        let clock = ContinuousClock()
        let start = clock.now
        #expect(!ThreadPool.wait(until: { false }))
        #expect(clock.now - start >= ThreadPool.spinDuration)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
