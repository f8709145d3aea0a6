import Foundation
import Testing
@testable import SmallMind

@Suite(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
struct GGUFFileTests {
    @Test func readsMetadataAndTensorsOfStories260K() throws {
        let file = try GGUFFile(path: SharedFiles.model("stories260K.gguf"))
        #expect(file.version == 3 || file.version == 2)
        #expect(file.metadata["general.architecture"]?.stringValue == "llama")
        #expect(file.metadata["llama.embedding_length"]?.intValue == 64)
        #expect(file.metadata["llama.block_count"]?.intValue == 5)
        #expect(file.metadata["tokenizer.ggml.tokens"]?.arrayValue?.count == 512)
        let embedding = try #require(file.tensor(named: "token_embd.weight"))
        #expect(embedding.dimensions == [64, 512])
        #expect(embedding.type == .f32)
    }

    @Test func q8FileHasQ8Tensors() throws {
        let file = try GGUFFile(path: SharedFiles.model("stories260K-q8_0.gguf"))
        #expect(file.tensors.contains { $0.type == .q8_0 })
    }

    @Test func rejectsANonGGUFFile() throws {
        #expect(throws: LoadingError.self) { try GGUFFile(path: SharedFiles.model("stories260K.bin")) }
        #expect(!GGUFFile.isGGUF(path: SharedFiles.model("stories260K.bin")))
        #expect(GGUFFile.isGGUF(path: SharedFiles.model("kq.gguf")))
    }
}
