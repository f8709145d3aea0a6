import SmallMindKernels
import Testing
@testable import SmallMind

/// Top-p at an exact tie, by llama2.c's rule (run.c, `sample_topp`): the nucleus is cut at the
/// first candidate after which the cumulative probability *exceeds* p — strictly — so when the
/// first k candidates sum to exactly p, candidate k + 1 is in the nucleus too. The sampler then
/// picks the first candidate whose running sum exceeds coin × (the nucleus's sum).
struct TopPTieTests {
    /// Logits with two equal probabilities (the tie in the order: the lower index first).
    static let logits: [Float] = [1.25, 2.5, 0.5, 2.5, -1, 0]

    /// The probabilities the sampler works with at temperature 1 (its softmax, float32).
    static var probabilities: [Float] {
        var p = logits
        p.withUnsafeMutableBufferPointer { Activation.softmax($0.baseAddress!, count: $0.count) }
        return p
    }

    /// Token indices by probability, descending, ties by index (run.c's order with glibc's stable qsort).
    static var order: [Int] {
        let p = probabilities
        return p.indices.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }
    }

    /// p set to exactly the float sum of the first `k` candidates (summed as the sampler sums):
    /// the nucleus is the first k + 1 candidates, and each seed's token is the one the rule picks
    /// with that seed's coin. Over 300 seeds every nucleus member turns up, and nothing else.
    @Test(arguments: [1, 2, 3])
    func aNucleusSummingExactlyToPTakesOneMoreCandidate(k: Int) {
        let p = Self.probabilities, order = Self.order
        var topP: Float = 0
        for i in order.prefix(k) { topP += p[i] }
        #expect(topP > 0 && topP < 1)
        let nucleus = Array(order.prefix(k + 1))
        var nucleusSum: Float = 0
        for i in nucleus { nucleusSum += p[i] }
        var seen = Set<Int>()
        for seed in UInt64(1)...300 {
            var coinSource = XorShiftRandom(seed: seed)
            let r = coinSource.nextFloat() * nucleusSum
            var cdf: Float = 0
            var expected = nucleus.last!
            for i in nucleus {
                cdf += p[i]
                if r < cdf {
                    expected = i
                    break
                }
            }
            var sampler = Sampler(parameters: GenerationParameters(temperature: 1, topP: topP, seed: seed))
            let token = Self.logits.withUnsafeBufferPointer { sampler.sample($0) }
            #expect(token == expected, "seed \(seed), top-p \(topP)")
            seen.insert(token)
        }
        #expect(seen == Set(nucleus), "the candidate after the tie must be reachable, and nothing past it")
    }

    /// Just above the tie the cut is the same; just below it, one candidate fewer.
    @Test func theCutMovesOnlyBelowTheTie() {
        let p = Self.probabilities, order = Self.order
        let tie = p[order[0]] + p[order[1]]
        func reachable(_ topP: Float) -> Set<Int> {
            var seen = Set<Int>()
            for seed in UInt64(1)...300 {
                var sampler = Sampler(parameters: GenerationParameters(temperature: 1, topP: topP, seed: seed))
                seen.insert(Self.logits.withUnsafeBufferPointer { sampler.sample($0) })
            }
            return seen
        }
        #expect(reachable(tie.nextUp) == Set(order.prefix(3)))
        #expect(reachable(tie) == Set(order.prefix(3)))
        #expect(reachable(tie.nextDown) == Set(order.prefix(2)))
    }
}
