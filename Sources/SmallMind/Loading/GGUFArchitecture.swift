// The architectures a GGUF file may declare in `general.architecture`, described as data: which
// row of traits the forward pass runs (`Architecture`), which tensors the file stores and which
// options it reads. A new llama-like model is a new row here, not a new code path.
//
// Tensor names follow llama.cpp's (the same for every architecture):
//   token_embd.weight  position_embd.weight  output_norm.weight/.bias  output.weight (absent: tied)
//   rope_freqs.weight (optional RoPE frequency factors)
//   blk.N.attn_norm.weight/.bias   blk.N.attn_q/k/v.weight/.bias  or  blk.N.attn_qkv.weight/.bias
//   blk.N.attn_q_norm.weight  blk.N.attn_k_norm.weight            (q/k norms)
//   blk.N.attn_output.weight/.bias  blk.N.post_attention_norm.weight (post-norms)
//   blk.N.ffn_norm.weight/.bias    blk.N.ffn_gate.weight (gated)  blk.N.ffn_up.weight/.bias
//   (fused gate+up: ffn_up holds the gate's rows, then the up-projection's)
//   blk.N.ffn_down.weight/.bias    blk.N.post_ffw_norm.weight (post-norms)
// Metadata keys are prefixed by the architecture's name: `llama.embedding_length`, ….
import SmallMindKernels

/// How one GGUF architecture maps onto this runtime's forward pass.
public struct GGUFArchitecture: Sendable {
    /// Where the block's biases are (every listed bias is required, every other one absent).
    public enum BiasSite: Sendable, Hashable {
        /// Q, K and V projections (Qwen 2, GPT-2).
        case queryKeyValue
        /// The attention output projection (GPT-2).
        case attentionOutput
        /// Both feed-forward projections (GPT-2).
        case feedForward
        /// LayerNorm shifts, including the final norm (GPT-2).
        case norms
    }

    /// `general.architecture`, also the prefix of its metadata keys.
    public var name: String { traits.name }
    /// What the forward pass computes for this architecture.
    public let traits: Architecture
    /// Q, K and V as one `attn_qkv` matrix (rows: Q, then K, then V) instead of three.
    public let fusedQueryKeyValue: Bool
    /// Gate and up-projection as one `ffn_up` matrix (rows: gate, then up; Phi-3).
    public let fusedGateUp: Bool
    public let biases: Set<BiasSite>
    /// The metadata key (after the prefix) of the normalisation epsilon.
    public let normEpsilonKey: String
    /// Whether `attention.sliding_window` applies, and the window when the file gives none.
    public let slidingWindow: SlidingWindowRule
    /// The RoPE base of sliding-window layers when `rope.freq_base_swa` is absent (nil: the
    /// global base).
    public let localRopeBase: Float?
    /// Soft-capping values when the file gives none (nil: no capping unless the file sets it).
    public let attentionSoftCap: Float?
    public let finalLogitSoftCap: Float?
    /// Layer counts of the models whose queries are scaled by 1/√(dim / heads) rather than
    /// 1/√(head size) (Gemma 2 and 3 at 27B, after gemma_pytorch's configurations).
    public let wideAttentionScaleLayerCounts: Set<Int>

    /// Whether and how a file's `attention.sliding_window` is read.
    public enum SlidingWindowRule: Sendable {
        /// Ignored (llama.cpp ignores it for these architectures too).
        case ignored
        /// Read when present (a window of 0 turns it off); `default` when absent.
        case read(default: Int?)
    }

    init(
        _ traits: Architecture, fusedQueryKeyValue: Bool = false, fusedGateUp: Bool = false, biases: Set<BiasSite> = [],
        normEpsilonKey: String = "attention.layer_norm_rms_epsilon", slidingWindow: SlidingWindowRule = .ignored,
        localRopeBase: Float? = nil, attentionSoftCap: Float? = nil, finalLogitSoftCap: Float? = nil,
        wideAttentionScaleLayerCounts: Set<Int> = []
    ) {
        self.traits = traits
        self.fusedQueryKeyValue = fusedQueryKeyValue
        self.fusedGateUp = fusedGateUp
        self.biases = biases
        self.normEpsilonKey = normEpsilonKey
        self.slidingWindow = slidingWindow
        self.localRopeBase = localRopeBase
        self.attentionSoftCap = attentionSoftCap
        self.finalLogitSoftCap = finalLogitSoftCap
        self.wideAttentionScaleLayerCounts = wideAttentionScaleLayerCounts
    }

    /// The rows of the table.
    public static let supported: [GGUFArchitecture] = [
        // Mistral, TinyLlama, Llama 3.x and SmolLM GGUFs declare `llama` too.
        GGUFArchitecture(.llama),
        GGUFArchitecture(.qwen2, biases: [.queryKeyValue]),
        GGUFArchitecture(.qwen3),
        // Phi-3 files may name a sliding window; llama.cpp turns it off for them, and so do we.
        GGUFArchitecture(.phi3, fusedQueryKeyValue: true, fusedGateUp: true),
        GGUFArchitecture(
            .gemma2, slidingWindow: .read(default: 4096), attentionSoftCap: 50, finalLogitSoftCap: 30,
            wideAttentionScaleLayerCounts: [46]),
        GGUFArchitecture(.gemma3, slidingWindow: .read(default: nil), localRopeBase: 10000, wideAttentionScaleLayerCounts: [62]),
        GGUFArchitecture(
            .gpt2, fusedQueryKeyValue: true, biases: [.queryKeyValue, .attentionOutput, .feedForward, .norms],
            normEpsilonKey: "attention.layer_norm_epsilon"),
    ]

    /// The row for `name`, if this runtime runs it.
    public static func named(_ name: String) -> GGUFArchitecture? { supported.first { $0.name == name } }
}
