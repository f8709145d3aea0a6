/// The reference objects of a render: namespaces, macros, loop contexts, scopes, and the
/// global functions; and the error a render throws before it is placed in the template.

/// What `namespace()` makes: the one object whose attributes a template may assign
/// (`{% set ns.found = true %}`), visible across loop iterations.
final class JinjaNamespace {
    var attributes = JinjaDictionary()
}

/// A macro (or a call block's body) with the scope it was defined in. The scope usually holds
/// the macro too (a reference cycle): the renderer cuts `closure` when the render ends.
final class JinjaMacro {
    let definition: JinjaMacroDefinition
    var closure: JinjaScope?

    init(definition: JinjaMacroDefinition, closure: JinjaScope) {
        self.definition = definition
        self.closure = closure
    }
}

/// The functions every template can call.
enum JinjaGlobalFunction: String {
    case range, dict, namespace
    case raiseException = "raise_exception"
    case strftimeNow = "strftime_now"
}

/// `loop` inside a `for`: where the iteration is, and `loop(children)` for recursive loops.
final class JinjaLoopContext {
    let items: [JinjaValue]
    var index0 = 0
    let depth0: Int
    var lastChangedValue: [JinjaValue]?
    /// For `recursive` loops: the statement to render again, in the scope it started in (cut
    /// when the render ends, in case a namespace kept the loop).
    var recursion: (statement: JinjaLoopStatement, scope: JinjaScope)?

    init(items: [JinjaValue], depth0: Int, recursion: (statement: JinjaLoopStatement, scope: JinjaScope)?) {
        self.items = items
        self.depth0 = depth0
        self.recursion = recursion
    }

    func attribute(_ name: String) -> JinjaValue? {
        switch name {
        case "index0": return .int(index0)
        case "index": return .int(index0 + 1)
        case "revindex0": return .int(items.count - index0 - 1)
        case "revindex": return .int(items.count - index0)
        case "first": return .bool(index0 == 0)
        case "last": return .bool(index0 == items.count - 1)
        case "length": return .int(items.count)
        case "depth0": return .int(depth0)
        case "depth": return .int(depth0 + 1)
        case "previtem":
            return index0 > 0 ? items[index0 - 1] : .undefined(JinjaUndefined(.message("there is no previous item")))
        case "nextitem":
            return index0 + 1 < items.count ? items[index0 + 1] : .undefined(JinjaUndefined(.message("there is no next item")))
        case "cycle", "changed": return .method(receiver: .loop(self), name: name)
        default: return nil
        }
    }
}

/// Variables visible at one point: a chain of frames, innermost first. `for` iterations, macro
/// calls and `with` blocks open a frame; `if` does not (jinja2's scoping).
final class JinjaScope {
    private var variables: [String: JinjaValue]
    let parent: JinjaScope?

    init(parent: JinjaScope?, variables: [String: JinjaValue] = [:]) {
        self.parent = parent
        self.variables = variables
    }

    func lookup(_ name: String) -> JinjaValue? {
        var scope: JinjaScope? = self
        while let current = scope {
            if let value = current.variables[name] { return value }
            scope = current.parent
        }
        return nil
    }

    func set(_ name: String, _ value: JinjaValue) {
        variables[name] = value
    }
}

/// An error while rendering, before it is given its place in the template.
struct JinjaFailure: Error {
    var kind: ChatTemplateError.Kind = .runtime
    var message: String
    var location: JinjaSourceLocation?

    init(_ message: String, kind: ChatTemplateError.Kind = .runtime) {
        self.message = message
        self.kind = kind
    }

    init(_ undefined: JinjaUndefined) {
        self.init(undefined.message)
    }

    /// The innermost location wins: set it only once, where the failure happened.
    func located(at location: JinjaSourceLocation) -> JinjaFailure {
        guard self.location == nil else { return self }
        var copy = self
        copy.location = location
        return copy
    }

    var publicError: ChatTemplateError {
        ChatTemplateError(kind: kind, message: message, line: location?.line, column: location?.column)
    }
}
