// Picks the next token from logits, as llama2.c's run.c does: greedy argmax at temperature 0,
// otherwise softmax(logits / temperature), then multinomial or nucleus (top-p) sampling with one
// coin from the request's own xorshift* generator. Top-k (not in run.c) narrows the candidates
// before top-p. Each request owns its sampler: no shared state between generations.
import SmallMindKernels

/// llama2.c's xorshift* generator, so that a seed reproduces run.c's samples.
public struct XorShiftRandom: Sendable {
    private var state: UInt64

    /// Seed 0 would stick at 0 forever; it is replaced by a fixed odd constant.
    public init(seed: UInt64) { state = seed == 0 ? 0x2545_F491_4F6C_DD1D : seed }

    public mutating func nextUInt32() -> UInt32 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return UInt32(truncatingIfNeeded: (state &* 0x2545_F491_4F6C_DD1D) >> 32)
    }

    /// A float in [0, 1) with 24 random bits.
    public mutating func nextFloat() -> Float { Float(nextUInt32() >> 8) / 16_777_216 }
}

/// Per-request token sampler.
public struct Sampler: Sendable {
    public let parameters: GenerationParameters
    private var random: XorShiftRandom
    private var probabilities: [Float] = []
    private var candidates: [(index: Int, probability: Float)] = []

    public init(parameters: GenerationParameters) {
        self.parameters = parameters
        random = XorShiftRandom(seed: parameters.seed)
    }

    /// Chooses the next token from `logits` (one row of vocabulary size).
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int {
        if parameters.temperature == 0 { return Self.argmax(logits) }
        let n = logits.count
        if probabilities.count != n { probabilities = [Float](repeating: 0, count: n) }
        probabilities.withUnsafeMutableBufferPointer { p in
            for i in 0..<n { p[i] = logits[i] / parameters.temperature }
            Activation.softmax(p.baseAddress!, count: n)
        }
        let coin = random.nextFloat()
        let topK = parameters.topK > 0 && parameters.topK < n ? parameters.topK : 0
        let topP = parameters.topP > 0 && parameters.topP < 1 ? parameters.topP : 0
        if topK == 0 && topP == 0 { return sampleMultinomial(coin) }
        return sampleNucleus(coin: coin, topK: topK, topP: topP)
    }

    /// The first index of the largest value (run.c's `sample_argmax`).
    public static func argmax(_ values: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<values.count where values[i] > values[best] { best = i }
        return best
    }

    private func sampleMultinomial(_ coin: Float) -> Int {
        var cdf: Float = 0
        for (i, p) in probabilities.enumerated() {
            cdf += p
            if coin < cdf { return i }
        }
        return probabilities.count - 1
    }

    /// run.c's `sample_topp`: drop tokens below (1 − p)/(n − 1) (they cannot be in the nucleus),
    /// sort the rest by probability (descending, ties by index), cut after the cumulative
    /// probability exceeds p, and sample within the cut. With top-k the candidates are first
    /// limited to the k most probable.
    private mutating func sampleNucleus(coin: Float, topK: Int, topP: Float) -> Int {
        let n = probabilities.count
        if topK > 0 {
            Self.selectTop(topK, of: probabilities, into: &candidates)
        } else {
            let cutoff = (1 - topP) / Float(n - 1)
            candidates.removeAll(keepingCapacity: true)
            for (i, p) in probabilities.enumerated() where p >= cutoff { candidates.append((i, p)) }
            candidates.sort { $0.probability != $1.probability ? $0.probability > $1.probability : $0.index < $1.index }
        }

        var lastIndex = candidates.count - 1
        var cumulative: Float = 0
        if topP > 0 {
            // With top-k the nucleus is measured within the k candidates' own mass.
            let mass = topK > 0 ? candidates.reduce(0) { $0 + $1.probability } : 1
            for (i, c) in candidates.enumerated() {
                cumulative += c.probability
                if cumulative > topP * mass {
                    lastIndex = i
                    break
                }
            }
        }
        cumulative = 0
        for c in candidates[...lastIndex] { cumulative += c.probability }
        let r = coin * cumulative
        var cdf: Float = 0
        for c in candidates[...lastIndex] {
            cdf += c.probability
            if r < cdf { return c.index }
        }
        return candidates[lastIndex].index
    }

    /// The `k` most probable tokens, best first, equal probabilities by lower index: what sorting
    /// the whole vocabulary and keeping the first `k` gives, without sorting 262 144 entries (Gemma)
    /// for every token. Tokens are visited in index order and kept sorted; nearly all of them lose
    /// to the current k-th at a glance, and an equal one never displaces it (it has the higher index).
    static func selectTop(_ k: Int, of probabilities: [Float], into kept: inout [(index: Int, probability: Float)]) {
        kept.removeAll(keepingCapacity: true)
        for (i, p) in probabilities.enumerated() {
            if kept.count == k {
                guard p > kept[k - 1].probability else { continue }
                kept.removeLast()
            }
            // After every kept entry at least as probable (those have lower indices).
            var position = kept.count
            while position > 0 && kept[position - 1].probability < p { position -= 1 }
            kept.insert((i, p), at: position)
        }
    }
}
