import Testing
@testable import SmallMind

@Suite("ModelPool")
struct ModelPoolTests {
    @Test func borrowersWaitInsteadOfFailingAndContextsAreBounded() async throws {
        let model = Model.demo()
        let pool = ModelPool(model: model, capacity: 2)
        let counter = InFlightCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await pool.withContext { context in
                        counter.enter()
                        defer { counter.leave() }
                        // Synchronous work holding the context, as a generation does.
                        _ = try context.generate("The future of", parameters: .greedy(maxTokens: 3))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(counter.most <= 2)
        #expect(pool.createdContextCount <= 2)
        #expect(pool.waitingCount == 0)
    }

    @Test func contextsShareTheWeightsWithoutCopies() async throws {
        let model = Model.demo()
        let pool = ModelPool(model: model, capacity: 3)
        let weights = try await withThrowingTaskGroup(of: ObjectIdentifier.self) { group in
            for _ in 0..<3 {
                group.addTask { try await pool.withContext { ObjectIdentifier($0.model.weights) } }
            }
            return try await group.reduce(into: Set<ObjectIdentifier>()) { $0.insert($1) }
        }
        #expect(weights == [ObjectIdentifier(model.weights)])
    }

    @Test func aReusedContextGivesTheSameTextAsAFreshOne() async throws {
        let model = Model.demo()
        let pool = ModelPool(model: model, capacity: 1)
        let parameters = GenerationParameters(maxTokens: 20, temperature: 0.8, topK: 20, seed: 7)
        let fresh = try model.generate("Once upon a time", parameters)
        _ = try await pool.withContext { try $0.generate("In a world where something long happens", parameters: parameters) }
        let reused = try await pool.withContext { try $0.generate("Once upon a time", parameters: parameters) }
        #expect(reused.tokens == fresh.tokens)
        #expect(pool.createdContextCount == 1)
    }

    @Test func aWaitingBorrowerCanBeCancelled() async throws {
        let pool = ModelPool(model: Model.demo(), capacity: 1)
        // Stand in for a borrower holding the only context (a body cannot await, so the test takes
        // the pool's permit directly and keeps it for as long as it likes).
        try await pool.permits.wait()
        let waiter = Task { try await pool.withContext { _ in 1 } }
        try await eventually { pool.waitingCount == 1 }
        #expect(pool.waitingCount == 1)
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(pool.waitingCount == 0)
        pool.permits.signal()
        #expect(try await pool.withContext { _ in 2 } == 2)  // the permit was not lost
    }
}

