/// This library's version, which `smallmind --version` and `smallmind info` print.
///
/// Semantic versioning; raise it with each tagged release. (Not a type named `SmallMind`: a type
/// with the module's name would shadow the module, and `SmallMind.Model` would stop resolving.)
public enum SmallMindVersion {
    /// "0.1.0".
    public static let current = "0.1.0"
}
