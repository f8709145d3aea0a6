// Bearer-key authentication. The comparison takes the same time whatever the key sent, so the
// response time does not reveal how many leading characters were right.
import Hummingbird

struct BearerKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String
    /// Paths anyone may read: load balancers and Prometheus poll them without a key.
    static var openPaths: Set<String> { ["/health", "/metrics"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.openPaths.contains(request.uri.path) { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            Self.constantTimeEqual(Array(header.utf8.dropFirst(7)), Array(key.utf8))
        else {
            throw APIError.unauthorized
        }
        return try await next(request, context)
    }

    /// Compares every byte of the longer of the two, so that the time depends on the lengths only.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count) | (a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
