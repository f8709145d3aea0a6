// Causal self-attention for one query head of one token over a sequence's cached keys and values.
//
// The keys/values of a sequence are laid out (position, kvDim) with the head's slice at
// `headOffset`. Each score uses `Matmul.dot` (fixed order), the softmax is sequential, and the
// weighted sum of values runs over positions in order — so a token's attention output is the same
// whether it is computed during prefill (with its batch-mates) or alone during decode.
import Foundation

/// Attention kernels.
public enum Attention {
    /// out[0..<headSize] = Σₜ softmax(q·kₜ / √headSize)ₜ · vₜ over positions t = 0...lastPosition.
    /// `scores` must hold lastPosition + 1 floats.
    public static func head(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
        rowStride: Int, headSize: Int, lastPosition: Int,
        scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let length = lastPosition + 1
        let scale = 1 / Float(headSize).squareRoot()
        for t in 0..<length {
            scores[t] = Matmul.dot(query, keys + t * rowStride, count: headSize) * scale
        }
        Activation.softmax(scores, count: length)
        out.update(repeating: 0, count: headSize)
        for t in 0..<length {
            let weight = scores[t]
            let v = values + t * rowStride
            for i in 0..<headSize { out[i] = out[i].addingProduct(weight, v[i]) }
        }
    }

    /// The reference twin: plain scalar loops, no shared helpers.
    public static func headNaive(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
        rowStride: Int, headSize: Int, lastPosition: Int,
        scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let length = lastPosition + 1
        var maxScore = -Float.infinity
        for t in 0..<length {
            var s: Float = 0
            for i in 0..<headSize { s += query[i] * keys[t * rowStride + i] }
            scores[t] = s / Float(headSize).squareRoot()
            maxScore = max(maxScore, scores[t])
        }
        var sum: Float = 0
        for t in 0..<length {
            scores[t] = exp(scores[t] - maxScore)
            sum += scores[t]
        }
        for i in 0..<headSize {
            var acc: Float = 0
            for t in 0..<length { acc += scores[t] / sum * values[t * rowStride + i] }
            out[i] = acc
        }
    }
}
