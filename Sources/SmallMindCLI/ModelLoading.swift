import SmallMind

/// How the command-line tools find a model: a path (with a tokenizer for llama2.c checkpoints) or,
/// with no path, the built-in demo model.
public enum ModelLocator {
    public static func load(model path: String?, tokenizer: String?) throws -> Model {
        guard let path else { return Model.demo() }
        return try Model.load(path: path, tokenizerPath: tokenizer)
    }

    /// A one-paragraph description of a model for banners and `--verbose` output.
    public static func summary(_ model: Model) -> [(String, String)] {
        let c = model.configuration
        return [
            ("Model", model.name == "demo" ? "built-in demo (GPT-2 style, seed \(DemoModel.seed))" : model.name),
            ("Architecture", c.architecture.name),
            ("Layers", "\(c.layerCount)"),
            ("Embedding size", "\(c.embeddingSize)"),
            ("Heads", c.keyValueHeadCount == c.headCount ? "\(c.headCount)" : "\(c.headCount) (\(c.keyValueHeadCount) KV)"),
            ("Vocabulary", "\(c.vocabularySize)"),
            ("Context", "\(c.contextLength)"),
            ("Parameters", "\(model.weights.parameterCount)"),
        ]
    }
}

extension ModelLocator {
    /// The lines `smallmind info` prints for a model file: one screen, shape first, then memory,
    /// then the vocabulary.
    public static func describe(_ report: ModelReport, path: String) -> [(String, String)] {
        var rows: [(String, String)] = [
            ("File", path),
            ("Format", report.format + (report.isVocabularyOnly ? " (vocabulary only: no tensors)" : "")),
        ]
        if let architecture = report.architecture { rows.append(("Architecture", architecture)) }
        if !report.architectureTraits.isEmpty { rows.append(("Traits", report.architectureTraits.joined(separator: ", "))) }
        if let c = report.configuration {
            rows.append(("Layers", "\(c.layerCount)"))
            rows.append(("Embedding size", "\(c.embeddingSize) (feed-forward \(c.hiddenSize))"))
            rows.append(("Heads", c.keyValueHeadCount == c.headCount
                ? "\(c.headCount) (head size \(c.headSize))" : "\(c.headCount), \(c.keyValueHeadCount) KV (head size \(c.headSize))"))
            rows.append(("Context", "\(c.contextLength)"))
            if c.architecture.isRotary {
                let rotary = c.rotaryDimensions.map { "\($0) of \(c.headSize)" } ?? "all \(c.headSize)"
                rows.append(("RoPE", "base \(Format.number(Double(c.ropeBase))), \(rotary) dimensions, \(c.rotaryPairing.rawValue) pairs"))
            }
            rows.append(("Norm epsilon", "\(c.normEpsilon)"))
        }
        if report.tensorCount > 0 {
            rows.append(("Tensors", "\(report.tensorCount): " + report.tensorTypes.map { "\($0.type) ×\($0.count)" }.joined(separator: ", ")))
            rows.append(("Parameters", Format.count(report.parameterCount)))
            rows.append(("Weight memory", Format.bytes(report.weightBytes)))
        }
        if let f32 = report.keyValueBytesPerToken(.f32), let f16 = report.keyValueBytesPerToken(.f16), let c = report.configuration {
            rows.append(("KV cache", "\(Format.bytes(f32)) per token in f32, \(Format.bytes(f16)) in f16 "
                + "(full context of \(c.contextLength): \(Format.bytes(f32 * c.contextLength)) / \(Format.bytes(f16 * c.contextLength)))"))
        }
        if let v = report.vocabulary {
            let kind = ["llama": "SentencePiece BPE", "gpt2": "byte-level BPE"][v.model].map { " (\($0))" } ?? ""
            rows.append(("Vocabulary", "\(v.tokenCount) tokens, tokenizer \(v.model)\(kind)" + (v.preTokenizer.map { ", pre-tokenizer \($0)" } ?? "")))
            func show(_ token: NamedToken?) -> String { token.map { "\($0.id) \(Format.quoted($0.text))" } ?? "none" }
            let bosUse = v.addsBOS.map { $0 ? " (added to prompts)" : " (not added to prompts)" } ?? ""
            rows.append(("BOS / EOS", "\(show(v.bos))\(v.bos == nil ? "" : bosUse) / \(show(v.eos))"))
            if !v.endOfGeneration.isEmpty {
                let shown = v.endOfGeneration.prefix(6).map { show($0) }.joined(separator: ", ")
                rows.append(("Ends generation", shown + (v.endOfGeneration.count > 6 ? ", … (\(v.endOfGeneration.count) in all)" : "")))
            }
            if v.controlTokenCount > 0 { rows.append(("Control tokens", "\(v.controlTokenCount)")) }
            if v.hasChatTemplate { rows.append(("Chat template", "yes")) }
            if let problem = v.problem { rows.append(("Tokenizer", "cannot be built here: \(problem)")) }
        } else if report.configuration != nil {
            rows.append(("Vocabulary", "\(report.vocabularySize) tokens (the tokenizer is a separate file)"))
        }
        if let problem = report.weightsProblem { rows.append(("Weights", "cannot be loaded here: \(problem)")) }
        return rows
    }
}
