// What the model thought at one generation step: the natural-log probability of the token chosen
// and of the N most likely ones, as llama.cpp's server reports them (`n_probs`, at temperature 0):
// log-softmax of the raw logits — never the temperature-scaled or top-k/top-p-truncated
// distribution the sampler drew from. Computed from one logits row alone, in a fixed order, so it
// is as batch-invariant as the logits are: the same whatever else shares the forward pass.
import Foundation

/// A token and its natural-log probability under the model's distribution.
public struct TokenLogProbability: Sendable, Equatable, Codable {
    public var token: Int
    /// ln p(token), ≤ 0.
    public var logProbability: Double

    public init(token: Int, logProbability: Double) {
        self.token = token
        self.logProbability = logProbability
    }
}

/// The model's distribution at one generation step, as far as it was asked for.
public struct StepLogProbabilities: Sendable, Equatable {
    /// The token generated at this step.
    public var chosen: TokenLogProbability
    /// The most likely tokens, best first (equal logits: lower id first); as many as
    /// `GenerationParameters.topLogProbabilities` (fewer only when the vocabulary is smaller).
    public var top: [TokenLogProbability]

    public init(chosen: TokenLogProbability, top: [TokenLogProbability]) {
        self.chosen = chosen
        self.top = top
    }

    /// Log-softmax of `logits` for `chosen` and the `count` largest entries.
    ///
    /// ln p_i = (l_i − max) − ln Σ_j exp(l_j − max), the sum taken in Double in index order: exact
    /// to ~1e-12 even over a 262 144-token vocabulary (a Float sum would drift by ~1e-4 there, as
    /// llama.cpp's does), and one fixed order, so batch-invariant. Costs one exp per vocabulary
    /// entry, paid only when log-probabilities are requested.
    public static func compute(logits: UnsafeBufferPointer<Float>, chosen: Int, count: Int) -> StepLogProbabilities {
        precondition(!logits.isEmpty && logits.indices.contains(chosen), "chosen token outside the logits row")
        var maximum = logits[0]
        for value in logits where value > maximum { maximum = value }
        var sum = 0.0
        for value in logits { sum += exp(Double(value) - Double(maximum)) }
        let logSum = log(sum)
        func logProbability(_ token: Int) -> Double { Double(logits[token]) - Double(maximum) - logSum }

        let best = largest(logits, count: min(count, logits.count))
        return StepLogProbabilities(
            chosen: TokenLogProbability(token: chosen, logProbability: logProbability(chosen)),
            top: best.map { TokenLogProbability(token: $0, logProbability: logProbability($0)) })
    }

    /// Indices of the `count` largest values, largest first, lower index first among equals: an
    /// insertion into a short sorted list (count is small; the vocabulary is scanned once).
    static func largest(_ values: UnsafeBufferPointer<Float>, count: Int) -> [Int] {
        guard count > 0 else { return [] }
        var best: [Int] = []
        best.reserveCapacity(count + 1)
        for i in values.indices {
            let value = values[i]
            if best.count == count && !(value > values[best[count - 1]]) { continue }
            // After the entries ≥ value, so that among equal values the earlier index stays first.
            var at = best.count
            while at > 0 && values[best[at - 1]] < value { at -= 1 }
            best.insert(i, at: at)
            if best.count > count { best.removeLast() }
        }
        return best
    }
}
