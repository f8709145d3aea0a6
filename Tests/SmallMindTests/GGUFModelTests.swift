import Foundation
import Testing
@testable import SmallMind
import SmallMindKernels

/// The GGUF model loader on small files written in code (no ../shared needed).
struct GGUFModelTests {
    func load(_ file: TinyGGUF) throws -> ModelWeights {
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try GGUFModel.load(path: path)
    }

    func loadingError(_ file: TinyGGUF) throws -> String {
        do {
            _ = try load(file)
        } catch let error as LoadingError {
            return error.description
        }
        Issue.record("expected a LoadingError")
        return ""
    }

    func logits(_ weights: ModelWeights, _ tokens: [Int]) -> [Float] {
        let workspace = Workspace(configuration: weights.configuration)
        let cache = KVCache(configuration: weights.configuration)
        return withExtendedLifetime(workspace) {
            Array(weights.forward(tokens.enumerated().map { BatchToken(token: $1, position: $0) }, cache: cache, workspace: workspace))
        }
    }

    @Test func readsTheConfigurationFromMetadata() throws {
        let weights = try load(.llama())
        let c = weights.configuration
        #expect(c.architecture == .llama)
        #expect((c.embeddingSize, c.hiddenSize, c.layerCount, c.headCount, c.keyValueHeadCount) == (32, 64, 1, 2, 1))
        #expect((c.vocabularySize, c.contextLength, c.rotaryDimensions, c.rotaryPairing) == (8, 16, 8, .adjacent))
        #expect(weights.layers[0].query.format == .q8_0)
        #expect(weights.classifier.sharesStorage(with: weights.tokenEmbedding))
        #expect(logits(weights, [1, 4, 5]).allSatisfy { $0.isFinite })
    }

    /// Q8_0/Q4_0 matrices that multiply activations are regrouped for the AVX-512 VNNI kernels
    /// where the processor has them; the token embedding keeps the file's rows (its pages handed
    /// back still read correctly); llama.cpp's parity mode keeps ggml's order. The two orders
    /// give the same logits up to float rounding.
    @Test func productMatricesAreRegroupedWhereTheProcessorAllows() throws {
        let path = try TinyGGUF.llama().write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let weights = try GGUFModel.load(path: path)
        let parity = try GGUFModel.load(path: path, roundingActivationsLikeLlamaCpp: true)
        #expect((weights.layers[0].query.interleaved != nil) == InterleavedRows.isAvailable)
        #expect((weights.classifier.interleaved != nil) == (InterleavedRows.isAvailable && weights.classifier.format == .q8_0))
        #expect(weights.tokenEmbedding.interleaved == nil && parity.layers[0].query.interleaved == nil)
        let regrouped = logits(weights, [1, 4, 5]), ggml = logits(parity, [1, 4, 5])
        let scale = ggml.map(abs).max()!
        #expect(zip(regrouped, ggml).allSatisfy { abs($0 - $1) <= 1e-4 * scale }, "\(regrouped) vs \(ggml)")
    }

    /// GPT-2's fused QKV matrix, regrouped, is viewed as Q, K and V without a copy (each view
    /// starts at a group), and the model computes what ggml's order computes, to float rounding.
    @Test func fusedQueryKeyValueViewsKeepTheirRegroupedRows() throws {
        let path = try TinyGGUF.gpt2Quantized().write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let weights = try GGUFModel.load(path: path)
        let parity = try GGUFModel.load(path: path, roundingActivationsLikeLlamaCpp: true)
        let layer = weights.layers[0]
        #expect([layer.query, layer.key, layer.value].allSatisfy { ($0.interleaved != nil) == InterleavedRows.isAvailable })
        #expect([layer.query, layer.key, layer.value].allSatisfy { $0.interleaved.map { $0.rows == 32 } ?? true })
        let regrouped = logits(weights, [1, 4, 5, 2]), ggml = logits(parity, [1, 4, 5, 2])
        let scale = ggml.map(abs).max()!
        #expect(zip(regrouped, ggml).allSatisfy { abs($0 - $1) <= 1e-4 * scale }, "\(regrouped) vs \(ggml)")
    }

    @Test func modelLoadRecognisesGGUFByContentAndUsesItsVocabulary() throws {
        let path = try TinyGGUF.llama().write(name: "no-extension-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try Model.load(path: path, tokenizerPath: nil)
        // "▁a" merges (score -4) before "ab" (-5): [BOS, ▁a, b].
        #expect(try model.tokenize("ab") == [1, 6, 5])
    }

    @Test func anUnsupportedArchitectureNamesTheSupportedOnes() throws {
        var file = TinyGGUF.llama()
        file.rename(architecture: "mamba")
        let message = try loadingError(file)
        #expect(message.contains("architecture 'mamba'") && message.contains("llama, qwen2, qwen3, phi3, gemma2, gemma3, gpt2"))
    }

    /// `WeightFormat` finds its GGUF type and its kernels' format by name: every format must have
    /// both (F32 has no block format), and every block format must be a weight format.
    @Test func everyWeightFormatHasItsGGUFTypeAndBlockFormat() {
        for format in WeightFormat.allCases {
            #expect(format.ggmlType.name == format.displayName)
            #expect(GGUFModel.formats[format.ggmlType] == format)
            #expect((format.blockFormat == nil) == (format == .f32), "\(format)")
        }
        #expect(Set(BlockFormat.allCases.map(\.rawValue)) == Set(WeightFormat.allCases.filter { $0 != .f32 }.map(\.rawValue)))
    }

    @Test func anUnsupportedTensorTypeNamesTheSupportedOnes() throws {
        var file = TinyGGUF.llama()
        // Q8_1: a GGUF type (llama.cpp's activation blocks), never a weight format here.
        file.tensors[2].type = .q8_1
        file.tensors[2].data = [UInt8](repeating: 0, count: 32 * 36)
        let message = try loadingError(file)
        #expect(message.contains("Q8_1 of blk.0.attn_q.weight") && message.contains("F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K"))
        #expect(["Q5_0", "Q4_1", "Q5_1", "IQ4_NL", "Q5_K", "Q3_K", "Q2_K", "IQ4_XS"].allSatisfy(message.contains))
    }

    @Test func aWrongShapeNamesTheTensorAndBothShapes() throws {
        var file = TinyGGUF.llama()
        file.tensors[7].dimensions = [32, 32]  // ffn_gate should be [32, 64]
        file.tensors[7].data = Array(file.tensors[7].data.prefix(32 * 32 * 4))
        let message = try loadingError(file)
        #expect(message.contains("blk.0.ffn_gate.weight shape") && message.contains("[32, 32]") && message.contains("expected [32, 64]") && message.contains("offset"))
    }

    @Test func missingAndUnexplainedTensorsAreErrors() throws {
        var missing = TinyGGUF.llama()
        missing.tensors.remove(at: 9)
        #expect(try loadingError(missing).contains("tensor blk.0.ffn_down.weight"))
        var extra = TinyGGUF.llama()
        extra.tensors.append(.init(name: "blk.0.ffn_gate_inp.weight", dimensions: [4], type: .f32, data: [UInt8](repeating: 0, count: 16)))
        #expect(try loadingError(extra).contains("blk.0.ffn_gate_inp.weight"))
    }

    @Test func missingRequiredMetadataIsNamed() throws {
        var file = TinyGGUF.llama()
        file.metadata.removeAll { $0.0 == "llama.block_count" }
        #expect(try loadingError(file).contains("llama.block_count"))
    }

    /// Qwen 2 is a row, not a fork: llama blocks + Q/K/V biases + NeoX pairing. Its Q/K rows are
    /// stored unpermuted (halves); permuting llama's interleaved rows into that order and loading
    /// as qwen2 (zero biases) must give the llama model's logits (to float rounding: the dot
    /// products run over the head dimensions in another order).
    @Test func qwen2WithPermutedRowsEqualsLlama() throws {
        let llama = TinyGGUF.llama()
        var qwen = llama
        qwen.rename(architecture: "qwen2")
        let headSize = 16, rotary = 8
        func permuted(_ tensor: TinyGGUF.Tensor) -> TinyGGUF.Tensor {
            let rowBytes = tensor.data.count / tensor.dimensions[1]
            var out = tensor
            for head in 0..<tensor.dimensions[1] / headSize {
                for j in 0..<rotary / 2 {
                    for (to, from) in [(j, 2 * j), (j + rotary / 2, 2 * j + 1)] {
                        let target = (head * headSize + to) * rowBytes, source = (head * headSize + from) * rowBytes
                        out.data.replaceSubrange(target..<target + rowBytes, with: tensor.data[source..<source + rowBytes])
                    }
                }
            }
            return out
        }
        qwen.tensors[2] = permuted(qwen.tensors[2])
        qwen.tensors[3] = permuted(qwen.tensors[3])
        for (name, count) in [("attn_q", 32), ("attn_k", 16), ("attn_v", 16)] {
            qwen.tensors.append(.init(name: "blk.0.\(name).bias", dimensions: [count], type: .f32, data: [UInt8](repeating: 0, count: 4 * count)))
        }
        let reference = logits(try load(llama), [1, 4, 5, 6, 7])
        let weights = try load(qwen)
        #expect(weights.configuration.rotaryPairing == .halves)
        #expect(weights.layers[0].queryBias?.count == 32)
        let actual = logits(weights, [1, 4, 5, 6, 7])
        for (a, b) in zip(actual, reference) { #expect(abs(a - b) <= 1e-4 * max(1, abs(b))) }
    }
}

extension GGUFModelTests {
    @Test func repeatedKeysAndTensorNamesAreErrors() throws {
        var keys = TinyGGUF.llama()
        keys.metadata.append(("llama.block_count", .u32(2)))
        #expect(try loadingError(keys).contains("appears twice"))
        var tensors = TinyGGUF.llama()
        tensors.tensors.append(tensors.tensors[1])
        #expect(try loadingError(tensors).contains("blk.0.attn_norm.weight"))
    }
}
