// The architectures a GGUF file may declare in `general.architecture`, described as data: which
// block family runs them, which tensors they store and which options they read. A new llama-like
// model is a new row here, not a new code path.
//
// Tensor names follow llama.cpp's (the same for every architecture):
//   token_embd.weight  position_embd.weight  output_norm.weight/.bias  output.weight (absent: tied)
//   blk.N.attn_norm.weight/.bias   blk.N.attn_q/k/v.weight/.bias  or  blk.N.attn_qkv.weight/.bias
//   blk.N.attn_output.weight/.bias blk.N.ffn_norm.weight/.bias
//   blk.N.ffn_gate.weight (gated only)  blk.N.ffn_up.weight/.bias  blk.N.ffn_down.weight/.bias
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
    public let name: String
    /// The block layout the forward pass runs: RMSNorm + RoPE + SwiGLU, or LayerNorm + learned
    /// positions + GELU.
    public let family: ModelConfiguration.Architecture
    /// Q, K and V as one `attn_qkv` matrix (rows: Q, then K, then V) instead of three.
    public let fusedQueryKeyValue: Bool
    public let biases: Set<BiasSite>
    /// Which dimensions RoPE rotates together (rotary families only).
    public let rotaryPairing: RoPE.Pairing
    /// The metadata key (after the prefix) of the normalisation epsilon.
    public let normEpsilonKey: String

    /// The rows of the table.
    public static let supported: [GGUFArchitecture] = [
        // llama.cpp's converter permutes Hugging Face Q/K rows back to Meta's interleaved order, so
        // GGUF llama rotates adjacent pairs, like llama2.c. Mistral and TinyLlama GGUFs declare
        // `llama` too.
        GGUFArchitecture(
            name: "llama", family: .llama, fusedQueryKeyValue: false, biases: [],
            rotaryPairing: .adjacent, normEpsilonKey: "attention.layer_norm_rms_epsilon"),
        // Qwen 2: llama blocks plus Q/K/V biases; its Q/K are stored unpermuted, so NeoX pairing.
        GGUFArchitecture(
            name: "qwen2", family: .llama, fusedQueryKeyValue: false, biases: [.queryKeyValue],
            rotaryPairing: .halves, normEpsilonKey: "attention.layer_norm_rms_epsilon"),
        GGUFArchitecture(
            name: "gpt2", family: .gpt2, fusedQueryKeyValue: true,
            biases: [.queryKeyValue, .attentionOutput, .feedForward, .norms],
            rotaryPairing: .adjacent, normEpsilonKey: "attention.layer_norm_epsilon"),
    ]

    /// The row for `name`, if this runtime runs it.
    public static func named(_ name: String) -> GGUFArchitecture? { supported.first { $0.name == name } }

    /// Whether the feed-forward is gated (SwiGLU: gate, up, down) rather than a plain MLP (up, down).
    var gatedFeedForward: Bool { family == .llama }
    /// Whether positions come from a learned table rather than rotations.
    var learnedPositions: Bool { family == .gpt2 }
}
