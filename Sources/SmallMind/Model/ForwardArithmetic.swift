import SmallMindKernels

/// Whose arithmetic a forward pass follows. It belongs to the KV cache (`KVCache.arithmetic`):
/// the keys and values a cache holds were computed, and are read, one way.
public enum ForwardArithmetic: String, Sendable, CaseIterable {
    /// This runtime's: float32 throughout (keys and values rounded only if the cache stores them
    /// in f16), every element reduced in one fixed order — batch-invariant. The default. Quantized
    /// weights (Q8_0, Q4_0, Q4_K, Q6_K) multiply activations quantized to 8 bits in integers, as
    /// llama.cpp does (`BlockFormat.multiplyIntegerProducts`): a single stream reads them 1.5–4×
    /// faster than by decoding them to floats.
    case standard

    /// llama.cpp's CPU backend as built for an AVX2 processor (`.llamaCppAVX512` for AVX-512),
    /// reproduced operation by operation — a parity mode for comparing with llama.cpp's outputs
    /// (see SmallMindKernels/LlamaCpp). Needs an f16 cache. It rounds what
    /// llama.cpp rounds — keys, values, queries and the attention accumulator to f16 (its flash
    /// attention), activations before f16/bf16/quantized weights to the weights' vec_dot_type, GELU
    /// through an f16 table — and sums as llama.cpp sums, which for float32 and f16 weights
    /// depends on how many tokens share a matrix product (`GGML.usesTinyBLAS`). So unlike
    /// `.standard` it is not batch-invariant: a token's logits in a prefill batch and alone differ
    /// slightly, as they do in llama.cpp. Quantized weights take integer block products, as in
    /// `.standard`. Slower than `.standard`; meant for tests.
    case llamaCpp

    /// `.llamaCpp` for llama.cpp built with -march=native on an AVX-512 processor, as the golden
    /// files of the real models and of the architecture models were made: ggml's float dot
    /// products (ggml_vec_dot_f16 in its flash attention, ggml_vec_dot_f32/f16 for float weights)
    /// run 16 lanes wide there and sum in another order (`GGML.dotAVX512`), and its vectorised
    /// exp, in SwiGLU, rounds differently (`GGML.expAVX512`).
    case llamaCppAVX512

    /// `.standard` with quantized weights decoded and multiplied by float32 activations instead
    /// of integer products on 8-bit ones: the model's own computation up to float32 rounding (no
    /// activation quantization, which moves a real model's log-probabilities by tenths of a nat,
    /// in llama.cpp as here). A test instrument for comparing with float references
    /// (scripts/float_reference.py); several times slower than `.standard`. Batch-invariant.
    case floatProducts

    /// Whether this is one of llama.cpp's arithmetics (`.llamaCpp`, `.llamaCppAVX512`).
    public var followsLlamaCpp: Bool { self == .llamaCpp || self == .llamaCppAVX512 }
}
