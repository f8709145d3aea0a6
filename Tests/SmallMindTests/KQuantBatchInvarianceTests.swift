import Testing
@testable import SmallMind

/// The whole-model batch invariance of `BatchInvarianceTests`, for the kq model in the Q5_K_M,
/// Q3_K_M, Q2_K and IQ4_XS encodings (through the regrouped rows where AVX-512 VNNI is available,
/// `KQuantIntegerKernels` elsewhere).
extension BatchInvarianceTests {
    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason),
          arguments: ["kq-q5_k_m.gguf", "kq-q3_k_m.gguf", "kq-q2_k.gguf", "kq-iq4_xs.gguf"])
    func kQuantLogitsAreBitIdenticalAloneAmongOthersOnAnyThreadsAndChunks(model: String) throws {
        try quantizedLogitsAreBitIdenticalAloneAmongOthersOnAnyThreadsAndChunks(model: model)
    }
}
