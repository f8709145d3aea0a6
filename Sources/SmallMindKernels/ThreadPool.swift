// The one place threads fan out. A fixed set of worker threads, started once, waits for jobs; a
// job is "run body(task, worker) for task in 0..<count" and the caller's thread works too. Tasks
// are handed out through an atomic counter, so the split of work between threads varies from run
// to run — which is why every kernel computes each output element entirely inside one task, in an
// order that does not depend on the task (see Matmul.swift): results do not depend on threads.
//
// A forward pass is hundreds of short jobs back to back. Waking a sleeping thread costs tens of
// microseconds here (more than a small matmul), so between jobs the workers — and the caller
// waiting for them — spin on atomics for up to `spinDuration` before falling back to a condition
// variable (see `wait(until:)`).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SmallMindPrefetch
import Synchronization

/// A persistent pool of worker threads for data-parallel kernels.
public final class ThreadPool: @unchecked Sendable {
    // @unchecked: `body` and `taskCount` are written by the submitting thread before it publishes
    // a new `generation` (release) and read by workers after they observe it (acquire); they are
    // not touched again until every worker has checked out (`unfinished` reaches 0, acquire).
    // `sleepers` and `callerSleeping` are guarded by `mutex`; the rest are atomics.
    public let threadCount: Int
    private var body: ((Int, Int) -> Void)?
    private var taskCount = 0
    private let generation = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let nextTask = Atomic<Int>(0)
    private let unfinished = Atomic<Int>(0)
    private var sleepers = 0
    private var callerSleeping = false
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var threads: [SystemThread] = []
    /// Serialises `run` calls from different threads: one job at a time.
    private let submission = Mutex(())
    /// Row-wise work over fewer elements than this (normalising or quantizing a few short rows:
    /// a few microseconds) costs less on the calling thread than a dispatch to the pool.
    public static let rowSplitMinimumElements = 1 << 13
    /// How long a waiting thread polls before it sleeps: longer than the gaps inside a forward
    /// pass (a job's uneven end, the serial work between jobs, a vCPU the hypervisor paused), so
    /// that a pass runs without a sleep; short enough that an idle pool is asleep a moment after
    /// its last job. A fixed 20 000 polls had Qwen 2.5 0.5B at B = 32 make some 1 300 futex calls
    /// per decode step on this VM; polling for 2 ms, about 6, and decode ran 1.06–1.20× as fast
    /// at B = 32, 1.18–1.35× at B = 1 (paired rounds). llama.cpp's workers poll longer still:
    /// 6.5 million `pause` rounds at its default `--poll 50`.
    static let spinDuration: Duration = .milliseconds(2)
    /// Pure polls, before the waiting thread starts offering its core to others (`sched_yield`)
    /// between polls: if the machine has more runnable threads than cores (parallel tests, other
    /// pools), a thread that polls for milliseconds would take a core from the thread it waits for.
    static let pollOnlyDuration: Duration = .microseconds(50)

    /// Cores available to this process.
    public static var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// A pool using `threads` threads in total, the caller's included (so `threads - 1` are started).
    public init(threads: Int = ThreadPool.processorCount) {
        threadCount = max(1, threads)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
        for worker in 1..<threadCount {
            // Not a strong reference: a worker must not keep its pool alive, so that dropping the
            // pool runs `deinit`, which stops and joins the workers before the pool's memory goes.
            self.threads.append(SystemThread("a worker thread") { [unowned(unsafe) self] in self.workerLoop(worker) })
        }
    }

    /// Workers asleep on the condition variable (not polling, not working): for tests.
    var sleepingWorkerCount: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return sleepers
    }

    /// Stops and joins the workers. The pool must not be running a job.
    public func shutdown() {
        stopping.store(true, ordering: .releasing)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for thread in threads { thread.join() }
        threads = []
    }

    deinit {
        if !threads.isEmpty { shutdown() }
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(wake)
        pthread_cond_destroy(done)
        mutex.deallocate()
        wake.deallocate()
        done.deallocate()
    }

    /// Runs `body(task, worker)` for every task in 0..<tasks across the pool and returns when all
    /// are done. `worker` is in 0..<threadCount and unique among concurrently running tasks, so it
    /// can index per-thread scratch memory.
    public func run(tasks: Int, _ body: @escaping (_ task: Int, _ worker: Int) -> Void) {
        guard tasks > 0 else { return }
        if threadCount == 1 || tasks == 1 {
            for task in 0..<tasks { body(task, 0) }
            return
        }
        submission.withLock { _ in
            self.body = body
            taskCount = tasks
            nextTask.store(0, ordering: .relaxed)
            unfinished.store(threadCount - 1, ordering: .relaxed)
            generation.add(1, ordering: .releasing)
            pthread_mutex_lock(mutex)
            if sleepers > 0 { pthread_cond_broadcast(wake) }
            pthread_mutex_unlock(mutex)

            drain(body, tasks: tasks, worker: 0)

            if !Self.wait(until: { unfinished.load(ordering: .acquiring) == 0 }) {
                pthread_mutex_lock(mutex)
                callerSleeping = true
                while unfinished.load(ordering: .acquiring) > 0 { pthread_cond_wait(done, mutex) }
                callerSleeping = false
                pthread_mutex_unlock(mutex)
            }
            self.body = nil
        }
    }

    /// Splits 0..<count into about `4 × threadCount` chunks whose sizes are multiples of
    /// `alignment`, and runs `body(range, worker)` on each.
    public func run(splitting count: Int, alignment: Int = 1, _ body: @escaping (_ range: Range<Int>, _ worker: Int) -> Void) {
        let chunks = threadCount == 1 ? 1 : threadCount * 4
        var size = (count + chunks - 1) / chunks
        size = max(alignment, (size + alignment - 1) / alignment * alignment)
        let tasks = (count + size - 1) / size
        run(tasks: tasks) { task, worker in
            body(task * size..<min(count, (task + 1) * size), worker)
        }
    }

    /// Polls `condition` for up to `spinDuration`: true as soon as it holds, false when the time
    /// is up (the caller then sleeps on a condition variable). The CPU's spin-wait hint between
    /// polls (`pause`, `yield`) spares the memory system and a hyperthread sibling; the clock is
    /// read once per 256 polls, every few microseconds.
    @inline(__always)
    static func wait(until condition: () -> Bool) -> Bool {
        let start = ContinuousClock.now
        let yieldAfter = start + pollOnlyDuration, giveUp = start + spinDuration
        while true {
            for _ in 0..<256 {
                if condition() { return true }
                smallmind_cpu_relax()
            }
            let now = ContinuousClock.now
            if now >= giveUp { return condition() }
            if now >= yieldAfter { sched_yield() }
        }
    }

    @inline(__always)
    private func drain(_ body: (Int, Int) -> Void, tasks: Int, worker: Int) {
        while true {
            let task = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
            if task >= tasks { return }
            body(task, worker)
        }
    }

    private func workerLoop(_ worker: Int) {
        var seen = 0
        while true {
            while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .acquiring) {
                if Self.wait(until: { generation.load(ordering: .acquiring) != seen || stopping.load(ordering: .acquiring) }) {
                    continue
                }
                pthread_mutex_lock(mutex)
                sleepers += 1
                while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .acquiring) {
                    pthread_cond_wait(wake, mutex)
                }
                sleepers -= 1
                pthread_mutex_unlock(mutex)
            }
            if stopping.load(ordering: .acquiring) { return }
            seen = generation.load(ordering: .acquiring)
            runJob(worker)
            if unfinished.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                pthread_mutex_lock(mutex)
                if callerSleeping { pthread_cond_signal(done) }
                pthread_mutex_unlock(mutex)
            }
        }
    }

    /// Kept out of line so the worker's copy of `body` is released before it checks out.
    @inline(never)
    private func runJob(_ worker: Int) {
        guard let body else { return }
        drain(body, tasks: taskCount, worker: worker)
    }
}
