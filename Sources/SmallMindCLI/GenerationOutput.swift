// How `smallmind generate` presents a finished completion for machines (--json: one object on
// stdout) and its log-probabilities for people (--logprobs without --json: lines on stderr).
import Foundation
import SmallMind

/// Renderings of a completion for the command line.
public enum GenerationOutput {
    /// One JSON object, keys in reading order:
    ///
    ///     {"prompt": …, "text": the continuation, "prompt_tokens": [ids, BOS included],
    ///      "tokens": [the continuation's ids], "finish_reason": "eos"|"stop"|"length"|"cancelled",
    ///      "logprobs": [{"token": id, "logprob": ln p, "top": [[id, ln p], …best first]}, …],
    ///      "prompt_seconds": …, "generation_seconds": …, "total_seconds": …,
    ///      "prompt_tokens_per_second": …, "generation_tokens_per_second": …}
    ///
    /// `logprobs` (one entry per generated token) is present only when they were requested: each
    /// step's shape is that of llama.cpp's golden files (`token`, `top`). `prompt_seconds` runs to
    /// the first generated token; generation speed counts the tokens after it over
    /// `generation_seconds` (as llama.cpp's "eval" figures do), 0 when there are none.
    public static func json(_ completion: Completion, includeLogProbabilities: Bool) -> String {
        let t = completion.timings
        let generatedAfterFirst = max(0, completion.completionTokenCount - 1)
        func rate(_ count: Int, _ seconds: Double) -> String { JSONText.number(seconds > 0 ? Double(count) / seconds : 0, digits: 3) }
        return JSONText.object([
            ("prompt", JSONText.string(completion.prompt)),
            ("text", JSONText.string(completion.continuation)),
            ("prompt_tokens", ids(completion.promptTokens)),
            ("tokens", ids(completion.tokens)),
            ("finish_reason", JSONText.string(completion.finishReason.rawValue)),
            ("logprobs", includeLogProbabilities ? "[" + completion.logProbabilities.map(step).joined(separator: ",") + "]" : nil),
            ("prompt_seconds", JSONText.number(t.promptSeconds)),
            ("generation_seconds", JSONText.number(t.generationSeconds)),
            ("total_seconds", JSONText.number(t.totalSeconds)),
            ("prompt_tokens_per_second", rate(completion.promptTokenCount, t.promptSeconds)),
            ("generation_tokens_per_second", rate(generatedAfterFirst, t.generationSeconds)),
        ])
    }

    /// One step as JSON: `{"token": 432, "logprob": -0.03178, "top": [[432, -0.03178], …]}`.
    /// Seven significant digits (a float32 logit's precision), so that a near-certain token's
    /// -1e-07 does not round to 0.
    static func step(_ s: StepLogProbabilities) -> String {
        func number(_ value: Double) -> String { JSONText.number(value, significantDigits: 7) }
        return JSONText.object([
            ("token", String(s.chosen.token)),
            ("logprob", number(s.chosen.logProbability)),
            ("top", "[" + s.top.map { "[\($0.token),\(number($0.logProbability))]" }.joined(separator: ",") + "]"),
        ])
    }

    private static func ids(_ tokens: [Int]) -> String { "[" + tokens.map(String.init).joined(separator: ",") + "]" }

    /// Log-probabilities for reading, one line per step:
    ///
    ///     step 0: 432 ',' -0.0317 | 432 ',' -0.0317, 383 ' there' -3.5498, …
    ///
    /// the chosen token, then the top-N best first; each token shown with its text (`piece`, the
    /// bytes it adds after the previous token).
    public static func logProbabilityLines(_ completion: Completion, piece: (_ token: Int, _ previous: Int?) -> [UInt8]) -> String {
        var lines = ""
        var previous = completion.promptTokens.last
        for (index, s) in completion.logProbabilities.enumerated() {
            func show(_ t: TokenLogProbability) -> String {
                "\(t.token) \(Format.piece(piece(t.token, previous))) \(String(format: "%.4f", t.logProbability))"
            }
            lines += "step \(index): \(show(s.chosen)) | " + s.top.map(show).joined(separator: ", ") + "\n"
            previous = s.chosen.token
        }
        return lines
    }

    /// The line that says a generation stopped because the context was full rather than at
    /// `maxTokens` (both report finish reason "length"); nil when it did not.
    public static func contextFullNote(_ completion: Completion, maxTokens: Int, contextLength: Int) -> String? {
        guard completion.finishReason == .length, completion.completionTokenCount < maxTokens else { return nil }
        return "note: the model's context of \(contextLength) tokens is full: generation stopped after \(completion.completionTokenCount) "
            + "of --max-tokens \(maxTokens) tokens (the prompt takes \(completion.promptTokenCount))"
    }
}
