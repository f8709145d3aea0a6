// What `smallmind serve` was told: where to listen, who may call, how requests are bounded.

/// The server's settings (the engine's own — batch, queue, context — are in `EngineOptions`).
public struct ServerConfiguration: Sendable {
    /// The address to listen on. Loopback unless told otherwise: the server has no TLS.
    public var host: String
    /// 0 picks a free port (tests); `onListening` then tells which.
    public var port: Int
    /// When set, every endpoint but /health and /metrics needs `Authorization: Bearer <key>`.
    public var apiKey: String?
    /// The model id clients see and must name (or leave out).
    public var alias: String
    /// Bodies larger than this get 413.
    public var maxBodyBytes: Int
    /// Whether logs may carry prompt and completion text. Off by default: logs are often shipped
    /// to places the users' text must not go.
    public var logPrompts: Bool
    /// How long requests in flight may run on after SIGTERM/SIGINT before they are cancelled.
    public var shutdownGrace: Duration

    public static let defaultMaxBodyBytes = 1 << 20

    public init(
        host: String = "127.0.0.1", port: Int = 8080, apiKey: String? = nil, alias: String, maxBodyBytes: Int = defaultMaxBodyBytes,
        logPrompts: Bool = false, shutdownGrace: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.apiKey = apiKey
        self.alias = alias
        self.maxBodyBytes = maxBodyBytes
        self.logPrompts = logPrompts
        self.shutdownGrace = shutdownGrace
    }
}
