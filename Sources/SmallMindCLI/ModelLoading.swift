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
    /// The lines `smallmind info` prints for a model file.
    public static func describe(_ report: ModelReport, path: String) -> [(String, String)] {
        let c = report.configuration
        var rows: [(String, String)] = [
            ("File", path),
            ("Format", report.format),
            ("Architecture", report.architecture),
            ("Layers", "\(c.layerCount)"),
            ("Embedding size", "\(c.embeddingSize)"),
            ("Feed-forward size", "\(c.hiddenSize)"),
            ("Heads", c.keyValueHeadCount == c.headCount ? "\(c.headCount) (head size \(c.headSize))" : "\(c.headCount), \(c.keyValueHeadCount) KV (head size \(c.headSize))"),
            ("Context", "\(c.contextLength)"),
        ]
        if c.architecture.isRotary {
            let rotary = c.rotaryDimensions.map { "\($0) of \(c.headSize)" } ?? "all \(c.headSize)"
            rows.append(("RoPE", "base \(Format.number(Double(c.ropeBase))), \(rotary) dimensions, \(c.rotaryPairing.rawValue) pairs"))
        }
        rows.append(("Norm epsilon", "\(c.normEpsilon)"))
        rows.append(("Vocabulary", report.tokenizerModel.map { "\(report.vocabularySize) (tokenizer: \($0))" } ?? "\(report.vocabularySize)"))
        rows.append(("Tensors", "\(report.tensorCount): " + report.tensorTypes.map { "\($0.type) ×\($0.count)" }.joined(separator: ", ")))
        rows.append(("Parameters", Format.count(report.parameterCount)))
        rows.append(("Weight memory", Format.bytes(report.weightBytes)))
        return rows
    }
}
