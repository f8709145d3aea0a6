// `smallmind chat`: a conversation with an instruct model, in its own chat template. Each turn's
// prompt extends the previous turn's prompt and reply, so the engine, which keeps the slot the last
// reply finished in, computes only the new tokens: the first token comes as fast on turn 20 as on
// turn 1.
import ArgumentParser
import Foundation
import SmallMind

public struct ChatCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with an instruct model: its own chat template, replies streamed, the history kept.",
        discussion: """
            On a terminal: type a message and press return; the reply streams as it is generated. \
            Ctrl-C stops a reply (what was written stays in the history) and, at the prompt, quits. \
            /reset clears the history (the --system message stays); /exit or Ctrl-D quits.

            Piped: each line of standard input is one user turn; standard output carries only the \
            replies, each followed by a newline; the banner and the statistics go to standard error, \
            so `printf 'Hi\\nAnd then?\\n' | smallmind chat --model M > replies.txt` scripts it.

            The prompt is rendered with the model's chat template (GGUF tokenizer.chat_template), \
            or --chat-template-file; a model without one uses ChatML \
            (<|im_start|>role\\ncontent<|im_end|>\\n). `smallmind chat-template` shows what a \
            conversation renders to. A reply ends at the model's end-of-turn token, at --max-tokens, \
            or when the context is full. Each turn computes only the tokens the previous turn did not \
            (--no-prefix-reuse recomputes the whole conversation, to measure what that saves).
            """)

    @OptionGroup public var modelOptions: ModelOptions

    @Option(help: ArgumentHelp("A system message that starts the conversation (and survives /reset).", valueName: "text"))
    public var system: String?

    @Option(name: .customLong("chat-template-file"), help: ArgumentHelp("A Jinja chat template to use instead of the model's.", valueName: "path"))
    public var chatTemplateFile: String?

    @OptionGroup public var sampling: SamplingOptions

    @OptionGroup public var threadOptions: ThreadOptions

    @OptionGroup public var kvBudget: KVBudgetOptions

    @Flag(name: .customLong("no-prefix-reuse"), help: "Recompute the whole conversation at every turn instead of only its new tokens.")
    public var noPrefixReuse = false

    public init() {}

    public func validate() throws {
        if sampling.noParseSpecial {
            throw ValidationError("--no-parse-special does not apply to chat: the template writes control tokens (<|im_start|>) that must stay tokens")
        }
    }

    public func run() async throws {
        let model = try modelOptions.load()
        let template = try ChatTemplateFiles.template(for: model, file: chatTemplateFile)
        var conversation: Conversation
        do { conversation = try Conversation(model: model, template: template, system: system) } catch { throw CommandFailure(error) }
        let engine: Engine
        do {
            engine = try Engine(model: model, options: EngineOptions(
                maxBatch: 1, kvCacheBytes: kvBudget.resolved, threads: threadOptions.count, reusesPrefixes: !noPrefixReuse))
        } catch {
            throw CommandFailure(error)
        }
        let interactive = isatty(STDIN_FILENO) == 1
        let interrupts = InterruptHandler(idleAction: {
            StandardStreams.error("\n")
            Foundation.exit(0)
        })
        interrupts.install()
        StandardStreams.error(
            "Chatting with \(model.name) in \(ChatTemplateFiles.describe(model, file: chatTemplateFile)); context \(engine.contextLength) tokens.\n"
                + (interactive ? "Ctrl-C stops a reply; /reset clears the history; /exit or Ctrl-D quits.\n" : ""))
        // A reply ends at the model's end of turn; without --max-tokens only the context bounds it.
        let parameters = {
            var parameters = sampling.parameters
            if sampling.maxTokens == nil { parameters.maxTokens = engine.contextLength }
            return parameters
        }()
        while true {
            if interactive { StandardStreams.error("> ") }
            guard let line = readLine(strippingNewline: true) else {
                if interactive { StandardStreams.error("\n") }
                return
            }
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            if text == "/exit" || text == "/quit" { return }
            if text == "/reset" {
                conversation.reset()
                StandardStreams.error("(history cleared)\n")
                continue
            }
            let (outcome, interrupted) = await interrupts.run { [conversation] () -> Result<(Conversation, Completion), any Error> in
                var turn = conversation
                do {
                    let completion = try await turn.reply(to: text, with: engine, parameters: parameters) { StandardStreams.out($0.text) }
                    return .success((turn, completion))
                } catch {
                    return .failure(error)
                }
            }
            switch outcome {
            case .success(let (next, completion)):
                conversation = next
                StandardStreams.out("\n")
                StandardStreams.error(Self.statistics(completion, interrupted: interrupted) + "\n")
            case .failure(let error):
                // The turn is dropped; the history stays as it was. A script gets the error as its status.
                let message = Self.describe(error)
                guard interactive else { throw CommandFailure(message: message) }
                StandardStreams.error("error: \(message)\n")
            }
        }
    }

    /// A failed turn as the chat says it: a conversation that outgrew the context says how to go on.
    static func describe(_ error: any Error) -> String {
        if case let .promptTooLong(tokens, contextLength)? = error as? GenerationError {
            return "the conversation is now \(tokens) tokens but the context holds \(contextLength): /reset to start over"
        }
        return "\(error)"
    }

    /// One line on standard error after each reply.
    static func statistics(_ completion: Completion, interrupted: Bool) -> String {
        let t = completion.timings
        var line = "[\(completion.completionTokenCount) tokens, \(Format.rate(t.tokensPerSecond(tokens: completion.completionTokenCount))) tokens/s; "
            + "\(completion.promptTokenCount) prompt tokens, \(completion.cachedPromptTokenCount) of them cached; "
            + "first token after \(Format.seconds(t.timeToFirstToken))]"
        if interrupted || completion.finishReason == .cancelled {
            line += " (stopped)"
        } else if completion.finishReason == .length {
            line += " (cut: --max-tokens or a full context)"
        }
        return line
    }
}
