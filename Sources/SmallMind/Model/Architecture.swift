// Architectures are data: one row of traits per model family, read by the one forward pass.
//
// Every family this runtime runs is a decoder-only transformer whose blocks differ in a handful of
// choices — where the norms sit, how positions enter, which feed-forward, a few scalings. Each
// choice is a field here; `Forward.swift` reads the fields, never the family's name. Adding a
// family is adding a row (and, in GGUFArchitecture, the tensor names and metadata keys it stores),
// plus only the operations it truly adds.
//
// The numbers a file sets (window size, cap values, RoPE bases) live in `ModelConfiguration`; what is
// fixed for a family lives here.
import SmallMindKernels

/// How one family of transformer computes its blocks.
public struct Architecture: Sendable, Equatable, CustomStringConvertible {
    /// The normalisation of every norm site.
    public enum Normalization: String, Sendable {
        /// RMSNorm: x / rms(x) ⊙ weight.
        case rms
        /// LayerNorm with a bias: (x − mean) / σ ⊙ weight + bias (GPT-2).
        case layer
    }

    /// How a token's position enters the model.
    public enum Positions: Sendable, Equatable {
        /// Rotations of q and k (RoPE), with this pairing of dimensions.
        case rotary(RoPE.Pairing)
        /// A learned table added to the token embedding (GPT-2).
        case learned
    }

    /// The feed-forward block between the two projections.
    public enum FeedForward: String, Sendable {
        /// silu(gate) ⊙ up (llama, Qwen, Phi-3).
        case swiGLU
        /// gelu(gate) ⊙ up, GELU in its tanh form (Gemma).
        case geGLU
        /// gelu(up) without a gate (GPT-2).
        case geluMLP

        /// Whether a gate projection multiplies the up-projection.
        public var isGated: Bool { self != .geluMLP }
    }

    /// The family's name (GGUF's `general.architecture`; "llama" for llama2.c checkpoints).
    public var name: String
    public var normalization: Normalization
    public var positions: Positions
    public var feedForward: FeedForward
    /// Norms after the attention block and after the feed-forward block, applied to each block's
    /// output before it joins the residual stream (Gemma 2 and 3), besides the usual pre-norms.
    public var postNorms: Bool
    /// RMSNorm of each head of q and of k, with a learned (head size) weight, before RoPE (Qwen 3,
    /// Gemma 3).
    public var queryKeyNorms: Bool
    /// Token embeddings multiplied by √dim before the first block (Gemma).
    public var scalesEmbedding: Bool
    /// Queries multiplied by the attention scale before attention rather than the scores after it
    /// (Gemma, Phi-3: llama.cpp computes them so; the same value up to rounding).
    public var scalesQueries: Bool
    /// Of every `slidingWindowPattern` layers, all but the last attend within the window (when the
    /// configuration sets one): 2 alternates local and global layers (Gemma 2), 6 runs five local
    /// layers to one global (Gemma 3), 1 makes every layer local.
    public var slidingWindowPattern: Int

    public init(
        name: String, normalization: Normalization = .rms, positions: Positions = .rotary(.adjacent),
        feedForward: FeedForward = .swiGLU, postNorms: Bool = false, queryKeyNorms: Bool = false,
        scalesEmbedding: Bool = false, scalesQueries: Bool = false, slidingWindowPattern: Int = 1
    ) {
        self.scalesQueries = scalesQueries
        self.name = name
        self.normalization = normalization
        self.positions = positions
        self.feedForward = feedForward
        self.postNorms = postNorms
        self.queryKeyNorms = queryKeyNorms
        self.scalesEmbedding = scalesEmbedding
        self.slidingWindowPattern = slidingWindowPattern
    }

    public var description: String { name }

    // MARK: - The rows

    /// llama2.c checkpoints and GGUF `llama` (Llama 1–3, Mistral, TinyLlama, SmolLM): RMSNorm,
    /// RoPE on adjacent pairs (llama.cpp's converter permutes Q/K back to Meta's order), SwiGLU.
    public static let llama = Architecture(name: "llama")
    /// Qwen 2 / 2.5: llama blocks with Q/K/V biases (a tensor matter, see GGUFArchitecture),
    /// NeoX-style RoPE (Q/K stored unpermuted).
    public static let qwen2 = Architecture(name: "qwen2", positions: .rotary(.halves))
    /// Qwen 3: Qwen 2 without biases, with q/k norms; heads may be wider than dim / heads.
    public static let qwen3 = Architecture(name: "qwen3", positions: .rotary(.halves), queryKeyNorms: true)
    /// Phi-3 / 3.5: fused QKV and gate+up tensors, NeoX-style RoPE.
    public static let phi3 = Architecture(name: "phi3", positions: .rotary(.halves), scalesQueries: true)
    /// Gemma 2: √dim embedding scale, pre- and post-norms, GeGLU, alternating sliding-window
    /// layers, attention and final-logit soft-capping (values from the file).
    public static let gemma2 = Architecture(
        name: "gemma2", positions: .rotary(.halves), feedForward: .geGLU, postNorms: true, scalesEmbedding: true,
        scalesQueries: true, slidingWindowPattern: 2)
    /// Gemma 3: Gemma 2's block with q/k norms, five local layers to one global (local layers
    /// rotate with their own RoPE base), no soft-capping.
    public static let gemma3 = Architecture(
        name: "gemma3", positions: .rotary(.halves), feedForward: .geGLU, postNorms: true, queryKeyNorms: true,
        scalesEmbedding: true, scalesQueries: true, slidingWindowPattern: 6)
    /// GPT-2: LayerNorm with biases, learned positions, GELU MLP.
    public static let gpt2 = Architecture(name: "gpt2", normalization: .layer, positions: .learned, feedForward: .geluMLP)

    /// Every row.
    public static let all: [Architecture] = [.llama, .qwen2, .qwen3, .phi3, .gemma2, .gemma3, .gpt2]

    /// Whether positions are rotations (RoPE).
    public var isRotary: Bool { if case .rotary = positions { true } else { false } }

    /// The RoPE pairing (adjacent for families without rotations; unused there).
    public var rotaryPairing: RoPE.Pairing { if case .rotary(let p) = positions { p } else { .adjacent } }
}
