// /metrics: Prometheus text from a registry of the server's own (not the process-wide
// swift-metrics bootstrap, so that several servers — tests — each count their own requests).
import Foundation
import Hummingbird
import Prometheus
import SmallMind

final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let promptTokens: Counter
    private let generatedTokens: Counter
    private let activeSequences: Gauge
    private let queuedRequests: Gauge
    private let kvSlotsUsed: Gauge
    private let kvSlots: Gauge
    private let cachedPromptTokens: Counter
    private let kvBlocksUsed: Gauge
    private let kvBlocksCached: Gauge
    private let kvBlocks: Gauge
    private let kvBlockPositions: Gauge
    private let preemptions: Gauge
    private let timeToFirstToken: ValueHistogram
    private let timePerOutputToken: ValueHistogram

    /// `smallmind_<name>_<unit>`.
    static func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "smallmind", metricName: name, unitName: unit, helpText: help)
    }

    init() {
        promptTokens = registry.makeCounter(descriptor: Self.name("prompt_tokens", "total", "Prompt tokens of finished requests."))
        generatedTokens = registry.makeCounter(descriptor: Self.name("generated_tokens", "total", "Tokens generated for finished requests."))
        activeSequences = registry.makeGauge(descriptor: Self.name("active", "sequences", "Sequences holding a KV slot now."))
        queuedRequests = registry.makeGauge(descriptor: Self.name("queued", "requests", "Requests waiting for a KV slot now."))
        kvSlotsUsed = registry.makeGauge(descriptor: Self.name("kv_cache_slots", "used", "KV cache slots held by a sequence now."))
        kvSlots = registry.makeGauge(descriptor: Self.name("kv_cache_slots", "total", "Sequences that can hold KV blocks at once (--max-batch)."))
        cachedPromptTokens = registry.makeCounter(
            descriptor: Self.name("prompt_tokens_cached", "total", "Prompt tokens of finished requests not computed: prefix hits in the KV cache."))
        kvBlocksUsed = registry.makeGauge(descriptor: Self.name("kv_cache_blocks", "used", "KV cache blocks in some sequence's table now."))
        kvBlocksCached = registry.makeGauge(
            descriptor: Self.name("kv_cache_blocks", "cached", "KV cache blocks kept only for prefix sharing now (evicted when needed)."))
        kvBlocks = registry.makeGauge(descriptor: Self.name("kv_cache_blocks", "total", "KV cache blocks in the budget."))
        kvBlockPositions = registry.makeGauge(descriptor: Self.name("kv_cache_block", "positions", "Positions per KV cache block."))
        preemptions = registry.makeGauge(
            descriptor: Self.name("preemptions", "total", "Sequences preempted (recomputed later) because the KV cache ran out of blocks."))
        timeToFirstToken = registry.makeValueHistogram(
            descriptor: Self.name(
                "time_to_first_token", "seconds", "From a request's arrival at the engine to its first generated token (queueing included)."),
            buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])
        timePerOutputToken = registry.makeValueHistogram(
            descriptor: Self.name("time_per_output_token", "seconds", "Average time between generated tokens after the first, per request."),
            buckets: [0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1])
    }

    /// Counts a response by the route that served it (the route's pattern, not the raw path, so
    /// that the label set stays bounded) and its status.
    func countRequest(endpoint: String, status: Int) {
        registry.makeCounter(
            descriptor: Self.name("http_requests", "total", "HTTP requests by endpoint and status."),
            labels: [("endpoint", endpoint), ("status", String(status))]
        ).increment()
    }

    func record(_ completion: Completion) {
        promptTokens.increment(by: Int64(completion.promptTokenCount))
        cachedPromptTokens.increment(by: Int64(completion.cachedPromptTokenCount))
        generatedTokens.increment(by: Int64(completion.completionTokenCount))
        guard completion.completionTokenCount > 0 else { return }
        timeToFirstToken.record(completion.timings.timeToFirstToken)
        if completion.completionTokenCount > 1 {
            timePerOutputToken.record(completion.timings.generationSeconds / Double(completion.completionTokenCount - 1))
        }
    }

    /// The Prometheus text, with the gauges read from the engine now.
    func exposition(engine: Engine) -> String {
        let load = engine.load
        activeSequences.set(Int64(load.activeSequences))
        queuedRequests.set(Int64(load.queuedRequests))
        kvSlotsUsed.set(Int64(load.activeSequences))
        kvSlots.set(Int64(engine.slotCount))
        kvBlocksUsed.set(Int64(load.kvBlocksInUse))
        kvBlocksCached.set(Int64(load.kvBlocksCached))
        kvBlocks.set(Int64(engine.kvBlockCount))
        kvBlockPositions.set(Int64(engine.kvBlockSize))
        preemptions.set(Int64(engine.statistics.preemptions))
        return registry.emitToString()
    }
}

/// Counts every response, errors included, by endpoint and status.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.countRequest(endpoint: context.endpointPath ?? "unmatched", status: response.status.code)
            return response
        } catch {
            let status = (error as? APIError)?.status.code ?? (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.countRequest(endpoint: context.endpointPath ?? "unmatched", status: status)
            throw error
        }
    }
}
