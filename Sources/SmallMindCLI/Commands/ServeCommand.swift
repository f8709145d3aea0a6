// `smallmind serve`: the model behind an OpenAI-compatible HTTP API (SmallMindServer). One engine
// serves every request, so all requests in flight share one forward pass per step.
import ArgumentParser
import Foundation
import Logging
import SmallMind
import SmallMindKernels
import SmallMindServer

public struct ServeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models).",
        discussion: """
            Also GET /health, GET /metrics (Prometheus) and llama.cpp's POST /tokenize, /detokenize and \
            /apply-template. Listens on 127.0.0.1 unless --host says otherwise. With --api-key (or \
            SMALLMIND_API_KEY) every endpoint but /health and /metrics needs 'Authorization: Bearer KEY'. \
            SIGTERM or Ctrl-C stops accepting, lets requests in flight finish for --shutdown-grace seconds, \
            cancels the rest and exits 0. Logs (standard error) hold no prompt or reply text unless --log-prompts.
            """)

    @OptionGroup public var modelOptions: ModelOptions

    @Option(help: "The address to listen on.")
    public var host = "127.0.0.1"

    @Option(parsing: .unconditional, help: "The TCP port to listen on (0: any free port, printed at start).")
    public var port = 8080

    @Option(name: .customLong("api-key"), help: ArgumentHelp("Require 'Authorization: Bearer KEY' (default: $SMALLMIND_API_KEY; none: no key).", valueName: "key"))
    public var apiKey: String?

    @Option(help: ArgumentHelp("The model id clients see and send (default: the model file's name).", valueName: "name"))
    public var alias: String?

    @Option(name: .customLong("max-batch"), parsing: .unconditional, help: "Most sequences generated at once (KV slots).")
    public var maxBatch = 16

    @Option(name: .customLong("max-queue"), parsing: .unconditional, help: "Most requests waiting for a slot; beyond it, 429 with Retry-After.")
    public var maxQueue = 256

    @Option(name: .customLong("ctx-size"), parsing: .unconditional, help: "Positions per sequence (default: the model's, at most 4096).")
    public var contextSize: Int?

    @Option(name: .customLong("kv-cache-type"), help: "How the KV cache stores keys and values: f32 or f16 (half the memory).")
    public var kvCacheType = "f32"

    @OptionGroup public var threadOptions: ThreadOptions

    @OptionGroup public var kvBudget: KVBudgetOptions

    @Option(name: .customLong("chat-template-file"), help: ArgumentHelp("A Jinja chat template to use instead of the model's.", valueName: "path"))
    public var chatTemplateFile: String?

    @Option(name: .customLong("shutdown-grace"), parsing: .unconditional, help: "Seconds requests in flight may run on after SIGTERM/SIGINT.")
    public var shutdownGrace: Double = 10

    @Option(name: .customLong("max-body-bytes"), parsing: .unconditional, help: "Largest request body; larger ones get 413.")
    public var maxBodyBytes = ServerConfiguration.defaultMaxBodyBytes

    @Flag(name: .customLong("log-prompts"), help: "Let the logs carry prompt and reply text (off: only counts and timings).")
    public var logPrompts = false

    public init() {}

    public func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535, got \(port)") }
        guard maxBatch >= 1 && maxBatch <= 4096 else { throw ValidationError("--max-batch must be from 1 to 4096, got \(maxBatch)") }
        guard maxQueue >= 0 else { throw ValidationError("--max-queue must be 0 or more, got \(maxQueue)") }
        if let contextSize, contextSize < 1 { throw ValidationError("--ctx-size must be 1 or more, got \(contextSize)") }
        guard KVCache.ElementType(rawValue: kvCacheType) != nil else { throw ValidationError("--kv-cache-type must be f32 or f16, got '\(kvCacheType)'") }
        guard shutdownGrace.isFinite && shutdownGrace >= 0 else { throw ValidationError("--shutdown-grace must be 0 or more seconds, got \(shutdownGrace)") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024, got \(maxBodyBytes)") }
        if let alias, alias.isEmpty { throw ValidationError("--alias must not be empty") }
    }

    /// The key from --api-key, else $SMALLMIND_API_KEY; empty means none.
    var resolvedAPIKey: String? {
        let key = apiKey ?? ProcessInfo.processInfo.environment["SMALLMIND_API_KEY"]
        return key?.isEmpty == false ? key : nil
    }

    public func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "smallmind.serve")
        logger.logLevel = .info
        let model = try modelOptions.load()
        let template = try ChatTemplateFiles.template(for: model, file: chatTemplateFile)
        let engine: Engine
        do {
            engine = try Engine(
                model: model,
                options: EngineOptions(
                    maxBatch: maxBatch, contextLength: contextSize, kvCacheBytes: kvBudget.resolved, maxStepTokens: max(512, maxBatch),
                    queueLimit: maxQueue,
                    threads: threadOptions.count, kvCacheType: KVCache.ElementType(rawValue: kvCacheType)!))
        } catch {
            throw CommandFailure(error)
        }
        let configuration = ServerConfiguration(
            host: host, port: port, apiKey: resolvedAPIKey, alias: alias ?? modelOptions.identity, maxBodyBytes: maxBodyBytes,
            logPrompts: logPrompts, shutdownGrace: .milliseconds(Int(shutdownGrace * 1000)))
        let server = OpenAIServer(engine: engine, template: template, configuration: configuration, logger: logger)
        let host = host
        do {
            try await server.run { port in
                // One line tests and scripts can wait for, on standard error like the logs.
                StandardStreams.error(
                    "smallmind serve: \(configuration.alias) on http://\(host):\(port) (\(engine.slotCount) sequences at once, context \(engine.contextLength), "
                        + "KV budget \(engine.kvCacheBytes / 1_000_000) MB in \(engine.kvBlockCount) blocks of \(engine.kvBlockSize) positions)\n")
            }
        } catch let error as ServerError {
            throw CommandFailure(message: "\(error)")
        }
        StandardStreams.error("smallmind serve: stopped\n")
    }
}
