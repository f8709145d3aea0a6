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
            ("Architecture", c.architecture.rawValue),
            ("Layers", "\(c.layerCount)"),
            ("Embedding size", "\(c.embeddingSize)"),
            ("Heads", c.keyValueHeadCount == c.headCount ? "\(c.headCount)" : "\(c.headCount) (\(c.keyValueHeadCount) KV)"),
            ("Vocabulary", "\(c.vocabularySize)"),
            ("Context", "\(c.contextLength)"),
            ("Parameters", "\(model.weights.parameterCount)"),
        ]
    }
}
