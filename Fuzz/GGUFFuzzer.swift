// libFuzzer entry point for the GGUF parser and model loader. Built outside SwiftPM by
// Fuzz/run.sh (libFuzzer supplies `main`); not part of `swift build`.
import Foundation
import SmallMind

/// One input: written to a file (the loader maps files), then parsed, inspected and loaded as the
/// CLI would; a loaded model also runs one token. Any outcome but a crash is fine.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = NSTemporaryDirectory() + "gguf-fuzz-\(getpid()).gguf"
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
    _ = try? ModelInspection.inspect(path: path)
    if let model = try? Model.load(path: path, tokenizerPath: nil) {
        let c = model.configuration
        let workspace = Workspace(configuration: c)
        let cache = KVCache(configuration: c, contextLength: 2)
        withExtendedLifetime(workspace) {
            _ = model.weights.forward([BatchToken(token: 0, position: 0)], cache: cache, workspace: workspace)
        }
        _ = try? model.tokenize("Once upon a time")
    }
    return 0
}
