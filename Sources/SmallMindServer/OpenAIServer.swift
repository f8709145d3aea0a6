// The OpenAI-compatible HTTP server: one `Engine` behind Hummingbird routes, so every request in
// flight shares the engine's forward passes. Runs until SIGTERM/SIGINT, then stops accepting,
// lets requests in flight finish within the grace period, cancels the rest, and returns.
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SmallMind

public final class OpenAIServer: Sendable {
    let state: ServerState

    /// `template` renders chat requests (default: the model's own, ChatML when it has none).
    public init(engine: Engine, template: ChatTemplate, configuration: ServerConfiguration, logger: Logger = Logger(label: "smallmind.serve")) {
        state = ServerState(engine: engine, template: template, configuration: configuration, logger: logger)
    }

    public var configuration: ServerConfiguration { state.configuration }

    /// The routes and middleware, for `makeApplication` and for tests.
    func makeRouter() -> Router<BasicRequestContext> {
        let state = state
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: state.metrics))
        router.add(middleware: OpenAIErrorMiddleware(maxBodyBytes: state.configuration.maxBodyBytes))
        if let key = state.configuration.apiKey { router.add(middleware: BearerKeyMiddleware(key: key)) }
        router.get("/health") { _, _ in state.health() }
        router.get("/metrics") { _, _ in state.metricsText() }
        router.get("/v1/models") { _, _ in state.models() }
        router.post("/v1/chat/completions") { request, _ in try await state.chatCompletions(request) }
        router.post("/v1/completions") { request, _ in try await state.completions(request) }
        router.post("/tokenize") { request, _ in try await state.tokenize(request) }
        router.post("/detokenize") { request, _ in try await state.detokenize(request) }
        router.post("/apply-template") { request, _ in try await state.applyTemplate(request) }
        return router
    }

    /// The Hummingbird application; `onListening` gets the bound port (useful with port 0).
    public func makeApplication(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(state.configuration.host, port: state.configuration.port), serverName: "smallmind"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: state.logger)
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully (see the file comment). Throws
    /// `ServerError.cannotListen` when the address cannot be bound.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = makeApplication(onListening: onListening)
        var configuration = ServiceGroupConfiguration(
            services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: state.logger)
        configuration.maximumGracefulShutdownDuration = state.configuration.shutdownGrace
        // After the grace period the remaining handlers are cancelled (their sequences leave the
        // engine at its next step); give them a moment to unwind.
        configuration.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: configuration)
        do {
            try await group.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE || error.errnoCode == EACCES || error.errnoCode == EADDRNOTAVAIL {
            throw ServerError.cannotListen(host: state.configuration.host, port: state.configuration.port, reason: error.description)
        } catch let error as ServiceGroupError {
            // Exceeding the grace period is the documented way out, not a failure.
            state.logger.info("shutdown: \(error)")
        }
        state.engine.shutdown()
    }
}

public enum ServerError: Error, CustomStringConvertible {
    case cannotListen(host: String, port: Int, reason: String)

    public var description: String {
        switch self {
        case let .cannotListen(host, port, reason):
            if reason.contains("in use") { return "cannot listen on \(host):\(port): the address is already in use" }
            return "cannot listen on \(host):\(port): \(reason)"
        }
    }
}
