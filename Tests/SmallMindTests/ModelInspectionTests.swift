import Foundation
import Testing
@testable import SmallMind

@Suite(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
struct ModelInspectionTests {
    @Test func describesAQ4KMFile() throws {
        let report = try ModelInspection.inspect(path: SharedFiles.model("kq-q4_k_m.gguf"))
        #expect(report.format == "GGUF v3" && report.architecture == "llama")
        #expect(report.tensorTypes.map(\.type) == ["Q4_K", "F32", "Q6_K"])
        #expect(report.tensorTypes.map(\.count) == [12, 5, 3])
        #expect(report.vocabularySize == 512 && report.tokenizerModel == "llama")
        #expect(report.weightBytes < 1_200_000 && report.parameterCount > 1_800_000)
    }

    @Test func describesGPT2AndLlama2cFiles() throws {
        let gpt2 = try ModelInspection.inspect(path: SharedFiles.model("gpt2-tiny-f16.gguf"))
        #expect(gpt2.architecture == "gpt2" && gpt2.vocabularySize == 50257 && gpt2.tokenizerModel == "gpt2")
        let llama2c = try ModelInspection.inspect(path: SharedFiles.model("stories260K.bin"))
        #expect(llama2c.format == "llama2.c checkpoint" && llama2c.configuration?.layerCount == 5 && llama2c.vocabulary == nil)
    }

    @Test func aFileOfNeitherFormatIsOneClearError() throws {
        do {
            _ = try ModelInspection.inspect(path: SharedFiles.model("tok512.bin"))
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("not GGUF") && error.description.contains("not a llama2.c checkpoint"))
            #expect(!error.description.contains("\n"))
        }
        #expect(throws: LoadingError.self) { try Model.load(path: SharedFiles.model("tok512.bin"), tokenizerPath: nil) }
    }

    /// KV bytes per token = 2 (keys, values) × layers × KV heads × head size × element bytes;
    /// BOS/EOS as the file names them (this vocabulary, converted from llama2.c's, spells them
    /// "\n<s>\n" and "\n</s>\n").
    @Test func memoryPerTokenAndSpecialTokens() throws {
        let report = try ModelInspection.inspect(path: SharedFiles.model("tiny-gqa.gguf"))
        #expect(report.keyValueBytesPerToken(.f32) == 2 * 3 * 2 * 16 * 4)
        #expect(report.keyValueBytesPerToken(.f16) == 2 * 3 * 2 * 16 * 2)
        #expect(report.configuration?.contextLength == 256 && report.weightsProblem == nil)
        let vocabulary = try #require(report.vocabulary)
        #expect(vocabulary.bos == NamedToken(id: 1, text: "\n<s>\n") && vocabulary.eos == NamedToken(id: 2, text: "\n</s>\n"))
        #expect(vocabulary.tokenCount == 512 && vocabulary.preTokenizer == nil && vocabulary.addsBOS == true && vocabulary.problem == nil)
    }

    /// llama.cpp's vocabulary-only files (no tensors) are described by their vocabulary.
    @Test func vocabularyOnlyFile() throws {
        let report = try ModelInspection.inspect(path: SharedFiles.path("vocab/ggml-vocab-qwen2.gguf"))
        #expect(report.isVocabularyOnly && report.configuration == nil && report.tensorCount == 0)
        let vocabulary = try #require(report.vocabulary)
        #expect(vocabulary.model == "gpt2" && vocabulary.preTokenizer == "qwen2" && vocabulary.tokenCount == 151_936)
        #expect(vocabulary.eos?.id == 151_643 && vocabulary.eos?.text == "<|endoftext|>" && vocabulary.hasChatTemplate)
        #expect(vocabulary.problem == nil)
        #expect(report.keyValueBytesPerToken(.f32) == nil && report.vocabularySize == 151_936)
    }

    @Test func modelLoadStillReadsLlama2cCheckpoints() throws {
        let model = try Model.load(path: SharedFiles.model("stories260K.bin"), tokenizerPath: SharedFiles.model("tok512.bin"))
        #expect(model.configuration.vocabularySize == 512)
    }

    @Test func gpt2GGUFLoadsWithItsByteLevelVocabulary() throws {
        let model = try Model.load(path: SharedFiles.model("gpt2-tiny-f16.gguf"), tokenizerPath: nil)
        #expect(model.configuration.architecture == .gpt2)
        #expect(model.tokenizer.vocabularySize == 50257)
        #expect(model.tokenizer.decode(try model.tokenizer.encode("Hello world", addBOS: false)) == "Hello world")
    }
}

/// Files written here: an unknown architecture, a truncated file, a model missing a tensor.
struct ModelInspectionErrorTests {
    @Test func unknownArchitectureIsAnErrorListingTheSupportedOnes() throws {
        var file = TinyGGUF.llama()
        file.rename(architecture: "mamba")
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        for attempt in [{ _ = try ModelInspection.inspect(path: path) }, { _ = try Model.load(path: path, tokenizerPath: nil) }] {
            do {
                try attempt()
                Issue.record("expected an error")
            } catch {
                let message = "\(error)"
                #expect(message.hasPrefix(path + ": ") && message.contains("'mamba'"))
                #expect(GGUFArchitecture.supported.allSatisfy { message.contains($0.name) })
                #expect(!message.contains("\n"))
            }
        }
    }

    /// Cut anywhere, the file is one error line naming it — never a crash or a wrong read.
    @Test(arguments: [2, 3, 10])
    func truncatedFileIsAnErrorNamingTheFile(fraction: Int) throws {
        let bytes = TinyGGUF.llama().bytes()
        let path = try TestModels.write(Data(bytes.prefix(bytes.count / fraction)), name: "cut")
        defer { try? FileManager.default.removeItem(atPath: path) }
        for attempt in [{ _ = try ModelInspection.inspect(path: path) }, { _ = try Model.load(path: path, tokenizerPath: nil) }] {
            #expect {
                try attempt()
            } throws: { error in
                let message = "\(error)"
                return error is LoadingError && message.hasPrefix(path + ": ") && !message.contains("\n")
            }
        }
    }

    /// A file that parses but whose weights do not load is still described, with the reason.
    @Test func unloadableWeightsAreDescribedWithTheReason() throws {
        var file = TinyGGUF.llama()
        file.tensors.removeAll { $0.name == "blk.0.ffn_up.weight" }
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let report = try ModelInspection.inspect(path: path)
        #expect(report.configuration?.layerCount == 1 && report.tensorCount == 10)
        #expect(report.weightsProblem?.contains("ffn_up") == true)
        #expect(throws: LoadingError.self) { try Model.load(path: path, tokenizerPath: nil) }
    }
}
