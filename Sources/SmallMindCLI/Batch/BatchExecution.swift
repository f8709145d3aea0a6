// What runs a batch's items, chosen by the input's format and by where the model is:
//
//                  | our prompts / JSON Lines           | OpenAI Batch requests
//   local model    | a TextGenerator (strategy)         | the server's request handler on an Engine
//   --server URLs  | /v1/completions, all settings sent | the request's url and body as written
//
// Each way turns an item into its output line; `BatchRun` does the rest (order, progress, resume).
import Foundation
import SmallMind
import SmallMindServer

enum BatchExecution {
    /// Our own items on a local generator.
    static func local(generator: any TextGenerator, model: String) -> BatchRun.Execute {
        { item in
            do {
                return BatchRecord(item, .success(try await generator.generate(item.prompt, item.parameters)), model: model)
            } catch let error as CancellationError {
                throw error
            } catch {
                return BatchRecord(item, .failure(error), model: model)
            }
        }
    }

    /// OpenAI Batch requests answered on this machine exactly as `smallmind serve` answers them.
    static func local(handler: OpenAIRequestHandler) -> BatchRun.Execute {
        { item in
            let request = item.request!
            if let problem = request.problem { return invalidLine(item, problem) }
            let response = try await handler.response(path: request.url, body: request.body)
            return OpenAIBatchResult(index: item.index, customID: request.customID, status: response.status, body: response.body)
        }
    }

    /// Our own items through servers' /v1/completions.
    static func remote(_ servers: RemoteServers, model: String) -> BatchRun.Execute {
        { item in
            let clock = ContinuousClock(), start = clock.now
            let outcome = try await servers.post(OpenAIEndpoint.completions.rawValue, body: RemoteCompletion.body(for: item))
            return RemoteCompletion.record(item, outcome, seconds: (clock.now - start).seconds, model: model)
        }
    }

    /// OpenAI Batch requests sent to servers as they are written.
    static func remote(_ servers: RemoteServers) -> BatchRun.Execute {
        { item in
            let request = item.request!
            if let problem = request.problem { return invalidLine(item, problem) }
            switch try await servers.post(request.url, body: request.body) {
            case let .answered(status, body):
                return OpenAIBatchResult(index: item.index, customID: request.customID, status: status, body: body)
            case .gaveUp(let why):
                return OpenAIBatchResult(index: item.index, customID: request.customID, errorCode: "server_unavailable", message: why)
            }
        }
    }

    /// The error line of an input line that cannot be sent.
    static func invalidLine(_ item: BatchItem, _ problem: String) -> OpenAIBatchResult {
        OpenAIBatchResult(index: item.index, customID: item.request?.customID, errorCode: "invalid_batch_line", message: "input line \(item.line): \(problem)")
    }
}
