// Server-sent events as OpenAI streams them: `data: <json>\n\n` per chunk, `data: [DONE]\n\n` last.
import Hummingbird

enum ServerSentEvents {
    static var headers: HTTPFields {
        // X-Accel-Buffering: nginx passes each event on at once even where proxy_buffering is on.
        // Connection: close — see `ServerState.generationJSONHeaders`.
        [.contentType: "text/event-stream", .cacheControl: "no-cache", .init("X-Accel-Buffering")!: "no", .connection: "close"]
    }

    static func event(_ value: some Encodable) -> ByteBuffer {
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes(JSONCoding.encode(value))
        buffer.writeString("\n\n")
        return buffer
    }

    static let done = ByteBuffer(string: "data: [DONE]\n\n")

    /// An SSE comment, which clients skip: written when no token has come for a while, so that a
    /// client that hung up is noticed (the write after its hang-up fails) and its sequence cancelled.
    static let keepAlive = ByteBuffer(string: ": keep-alive\n\n")
}
