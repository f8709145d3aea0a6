// What `BatchRun` writes for one finished item, whatever the input's format: our own result line
// (`BatchRecord`) or an OpenAI Batch output line (`OpenAIBatchResult`).
import SmallMind

/// One finished item's output line.
public protocol BatchOutputLine: Sendable {
    /// The item's position in the input.
    var index: Int { get }
    /// The line, ending in a newline.
    var jsonLine: String { get }
    /// Whether the item failed: a rerun runs it again.
    var isFailure: Bool { get }
    /// Tokens generated for it.
    var generatedTokens: Int { get }
    /// Whether it stopped because the context was full, before its max tokens.
    var stoppedByContext: Bool { get }
}

extension BatchRecord: BatchOutputLine {
    public var isFailure: Bool { error != nil }
    public var generatedTokens: Int { completionTokens ?? 0 }
    public var stoppedByContext: Bool {
        guard finishReason == FinishReason.length.rawValue, let completionTokens, let parameters else { return false }
        return completionTokens < parameters.maxTokens
    }
}
