import Foundation
import SmallMind

/// Counts operations in flight and remembers the most seen at once.
final class InFlightCounter: Sendable {
    private let state = Locked((now: 0, most: 0))
    func enter() { state.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
    func leave() { state.withLock { $0.now -= 1 } }
    var most: Int { state.current.most }
    var now: Int { state.current.now }
}

struct TestFailure: Error, Equatable { let index: Int }

/// A generator that does no math: it "generates" the prompt reversed after a short sleep, and can
/// be told to fail for some prompts. For testing the plumbing around generation.
struct FakeGenerator: TextGenerator {
    var delay: Duration = .milliseconds(5)
    var failing: Set<String> = []
    let counter = InFlightCounter()

    func generate(_ prompt: String, _ parameters: GenerationParameters) async throws -> Completion {
        counter.enter()
        defer { counter.leave() }
        try await Task.sleep(for: delay)
        if failing.contains(prompt) { throw GenerationError.invalidParameter(name: "prompt", value: prompt, rule: "fails on purpose") }
        return Completion(
            prompt: prompt, continuation: String(prompt.reversed()), promptTokens: [], tokens: Array(0..<parameters.maxTokens),
            finishReason: .length, timings: GenerationTimings())
    }
}

/// Waits (polling) until `condition` holds or about two seconds pass.
func eventually(_ condition: () -> Bool) async throws {
    for _ in 0..<400 where !condition() { try await Task.sleep(for: .milliseconds(5)) }
}
