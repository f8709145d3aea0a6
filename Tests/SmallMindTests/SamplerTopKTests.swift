import Testing
@testable import SmallMind

/// Top-k selection without sorting the vocabulary against its naive twin: sort everything, keep k.
struct SamplerTopKTests {
    static func naive(_ k: Int, _ probabilities: [Float]) -> [(index: Int, probability: Float)] {
        let sorted = probabilities.enumerated().map { (index: $0.offset, probability: $0.element) }
            .sorted { $0.probability != $1.probability ? $0.probability > $1.probability : $0.index < $1.index }
        return Array(sorted.prefix(k))
    }

    @Test func selectsWhatSortingKeepsTiesIncluded() {
        var random = SplitMix64(seed: 11)
        for trial in 0..<200 {
            let n = 1 + Int(random.next() % 300)
            // Few distinct values, so ties are everywhere (including at the k-th place).
            let levels = 1 + Int(random.next() % 6)
            let probabilities = (0..<n).map { _ in Float(random.next() % UInt64(levels)) / Float(levels) }
            for k in [1, 2, 5, 40, n - 1, n, n + 3] where k >= 1 {
                var kept: [(index: Int, probability: Float)] = []
                Sampler.selectTop(k, of: probabilities, into: &kept)
                let expected = Self.naive(k, probabilities)
                #expect(kept.map(\.index) == expected.map(\.index), "trial \(trial), n \(n), k \(k)")
            }
        }
    }

    @Test func ascendingAndDescendingInputs() {
        let ascending = (0..<1000).map { Float($0) }
        var kept: [(index: Int, probability: Float)] = []
        Sampler.selectTop(7, of: ascending, into: &kept)
        #expect(kept.map(\.index) == Array((993..<1000).reversed()))
        Sampler.selectTop(7, of: Array(ascending.reversed()), into: &kept)
        #expect(kept.map(\.index) == Array(0..<7))
    }
}
