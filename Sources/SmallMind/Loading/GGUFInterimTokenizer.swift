// INTERIM — to be replaced by the GGUF tokenizer work (`tokenizer.ggml.*`, all tokenizer models).
// Until then, GGUF models with a SentencePiece (`llama`) vocabulary get the existing run.c-style
// SentencePiece tokenizer, built here in one function; every other tokenizer model is an error.

extension GGUFModel {
    /// INTERIM: the tokenizer embedded in `file`, for `tokenizer.ggml.model == "llama"` only.
    /// Pieces spell spaces as U+2581 ("▁") in GGUF and as " " in llama2.c's tokenizer.bin, which is
    /// what `SentencePieceTokenizer` expects, so they are translated.
    static func interimTokenizer(from file: GGUFFile) throws(LoadingError) -> any Tokenizer {
        let model = file.metadata["tokenizer.ggml.model"]?.stringValue ?? "absent"
        guard model == "llama" else {
            throw .unsupported(file: file.path, what: "tokenizer model '\(model)' (tokenizer.ggml.model; supported for now: llama)")
        }
        guard let tokens = file.metadata["tokenizer.ggml.tokens"]?.arrayValue else {
            throw .invalidField(file: file.path, field: "tokenizer.ggml.tokens", value: "absent", reason: "a llama vocabulary needs its tokens")
        }
        var pieces: [[UInt8]] = []
        pieces.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() {
            guard let text = token.stringValue else {
                throw .invalidField(file: file.path, field: "tokenizer.ggml.tokens[\(id)]", value: "\(token)", reason: "must be a string")
            }
            pieces.append(Array(text.replacingOccurrences(of: "\u{2581}", with: " ").utf8))
        }
        let scoreValues = file.metadata["tokenizer.ggml.scores"]?.arrayValue ?? []
        guard scoreValues.isEmpty || scoreValues.count == pieces.count else {
            throw .invalidField(
                file: file.path, field: "tokenizer.ggml.scores", value: "\(scoreValues.count) values",
                reason: "must have one score per token (\(pieces.count))")
        }
        let scores = scoreValues.isEmpty ? [Float](repeating: 0, count: pieces.count) : scoreValues.map { Float($0.floatValue ?? 0) }
        func special(_ key: String) -> Int? {
            guard let id = file.metadata[key]?.intValue, pieces.indices.contains(id) else { return nil }
            return id
        }
        return SentencePieceTokenizer(
            pieces: pieces, scores: scores, bosToken: special("tokenizer.ggml.bos_token_id"), eosToken: special("tokenizer.ggml.eos_token_id"))
    }
}
