import Foundation
import Testing
@testable import SmallMind

/// A request dropped while it waits in a queue gives its place back at once — in the engine
/// (`EngineOptions.queueLimit`) and in the sample's `InferenceQueue`.
struct QueuePlaceTests {
    /// One slot, busy (its token callback holds the scheduler between steps), and the one queue
    /// place taken: a third request is refused. Once the waiting request is dropped and the
    /// scheduler has taken one step, the place is free again: the next request is accepted and runs.
    @Test func droppingAQueuedEngineRequestFreesItsPlace() async throws {
        let engine = try Engine(model: Model.demo(), options: EngineOptions(maxBatch: 1, queueLimit: 1, threads: 1))
        let long = GenerationParameters(maxTokens: 20, temperature: 0.8, seed: 5)
        let proceed = DispatchSemaphore(value: 0)
        let (steps, step) = AsyncStream<Int>.makeStream()
        let holder = Task {
            try await engine.generate("Why do we", GenerationParameters(maxTokens: 6, temperature: 0.8, seed: 1)) { event in
                step.yield(event.index)
                if event.index < 2 { proceed.wait() }
            }
        }
        var holderSteps = steps.makeAsyncIterator()
        #expect(await holderSteps.next() == 0)
        do {
            let waiting = engine.stream("Imagine if", long)
            await #expect(throws: EngineError.queueFull(limit: 1)) { for try await _ in engine.stream("No room", long) {} }
            _ = waiting
        }  // dropped: cancelled while queued
        proceed.signal()
        // The next step has been taken, so the scheduler has already removed the dropped request.
        #expect(await holderSteps.next() == 1)
        let next = engine.stream("Once upon", long)
        proceed.signal()
        var tokens = 0
        for try await _ in next { tokens += 1 }
        #expect(tokens == 20)
        #expect(try await holder.value.finishReason == .length)
    }

    /// One worker busy, the one queue place taken, a producer waiting for room: cancelling the
    /// queued request lets the producer's request in at once, while the first still runs.
    @Test func cancellingAQueuedRequestLetsAWaitingProducerIn() async throws {
        let queue = InferenceQueue(generator: FakeGenerator(delay: .seconds(600)), workers: 1, capacity: 1)
        let running = try await queue.submit("running")
        try await eventually { queue.runningCount == 1 }
        let queued = try await queue.submit("queued")
        let producer = Task { try await queue.submit("waiting") }
        try await eventually { queue.waitingProducerCount == 1 }
        #expect(queue.waitingProducerCount == 1)
        queued.cancel()
        #expect(queue.waitingProducerCount == 0)
        #expect(queue.queuedCount == 1)
        #expect(queue.runningCount == 1)
        await #expect(throws: CancellationError.self) { try await queued.completion }
        // Shutting down (which refuses producers still waiting) before awaiting the producer, so
        // that a queue which never let it in fails this test instead of hanging it.
        await queue.shutdown(.cancel)
        let admitted = try? await producer.value
        #expect(admitted?.prompt == "waiting")
        await #expect(throws: CancellationError.self) { try await running.completion }
    }
}
