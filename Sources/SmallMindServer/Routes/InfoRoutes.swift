// GET /v1/models, /health and /metrics.
import Hummingbird
import SmallMind

extension ServerState {
    func models() -> Response {
        Self.json(ModelList(data: [.init(id: configuration.alias, created: created)]))
    }

    /// 200 once the model is loaded — which it is before the server listens.
    func health() -> Response {
        struct Body: Encodable { var status = "ok" }
        return Self.json(Body())
    }

    func metricsText() -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.exposition(engine: engine))))
    }
}
