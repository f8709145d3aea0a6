// What the model thought at one generation step: the natural-log probability of the token chosen
// and of the N most likely ones, as llama.cpp's server reports them (`n_probs`, at temperature 0):
// log-softmax of the raw logits — never the temperature-scaled or top-k/top-p-truncated
// distribution the sampler drew from. Computed from one logits row alone, in a fixed order, so it
// is as batch-invariant as the logits are: the same whatever else shares the forward pass.
import Foundation
import SmallMindKernels

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

    /// Log-softmax of `logits` for `chosen` and the `count` largest entries:
    /// ln p_i = (l_i − max) − ln Σ_j exp(l_j − max), with the sum from `logSumExp` (to ~1e-7
    /// relative: a few ulp per term, blocks of Float added in Double; llama.cpp's own Float sum
    /// drifts by ~1e-4 over a 50 000-token vocabulary). Paid only when log-probabilities are asked for.
    public static func compute(logits: UnsafeBufferPointer<Float>, chosen: Int, count: Int) -> StepLogProbabilities {
        precondition(!logits.isEmpty && logits.indices.contains(chosen), "chosen token outside the logits row")
        var maximum = logits[0]
        for value in logits where value > maximum { maximum = value }
        let logSum = logSumExp(logits, maximum: maximum)
        func logProbability(_ token: Int) -> Double { Double(logits[token]) - Double(maximum) - logSum }

        let best = largest(logits, count: min(count, logits.count))
        return StepLogProbabilities(
            chosen: TokenLogProbability(token: chosen, logProbability: logProbability(chosen)),
            top: best.map { TokenLogProbability(token: $0, logProbability: logProbability($0)) })
    }

    /// ln Σ_j exp(l_j − maximum), eight lanes at a time with `VectorMath.exp` (a few ulp). Each
    /// term is ≤ 1, so a block of 1024 summed in Float lanes loses at most ~1e-7 relative; blocks
    /// are added in Double. One fixed order for a given row length: batch-invariant. About a
    /// tenth of the cost of Double `exp` per entry (which `naiveLogSumExp`, its twin, uses).
    static func logSumExp(_ logits: UnsafeBufferPointer<Float>, maximum: Float) -> Double {
        let n = logits.count, block = 1024
        let shift = SIMD8<Float>(repeating: maximum)
        let raw = UnsafeRawPointer(logits.baseAddress!)
        var total = 0.0
        var start = 0
        while start < n {
            let end = min(n, start + block)
            var lanes = SIMD8<Float>()
            var i = start
            while i + 8 <= end {
                lanes += VectorMath.exp(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - shift)
                i += 8
            }
            if i < end {
                var tail = SIMD8<Float>(repeating: 0)
                var used = SIMDMask<SIMD8<Int32>>()
                for lane in 0..<(end - i) {
                    tail[lane] = logits[i + lane]
                    used[lane] = true
                }
                lanes += VectorMath.exp(tail - shift).replacing(with: 0, where: .!used)
            }
            total += Double(lanes.sum())
            start = end
        }
        return log(total)
    }

    /// The twin of `logSumExp`: Double `exp` of every entry, summed in Double in index order.
    static func naiveLogSumExp(_ logits: UnsafeBufferPointer<Float>, maximum: Float) -> Double {
        var sum = 0.0
        for value in logits { sum += exp(Double(value) - Double(maximum)) }
        return log(sum)
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
