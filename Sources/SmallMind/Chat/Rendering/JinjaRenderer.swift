import Foundation

/// Runs a parsed template: statements write text into `output`; expressions are evaluated in
/// JinjaEvaluator.swift, filters, tests and methods in their own files. One renderer serves one
/// render call on one thread.
///
/// Hostile templates cannot hang or exhaust the process: the output, each value, the call depth
/// (macros, recursive loops) and the total number of loop iterations and calls are bounded, and
/// reaching a bound is an error naming it.
final class JinjaRenderer {
    struct Limits {
        var maximumOutputBytes = 16 << 20
        var maximumCallDepth = 64
        /// Statements, expressions and calls nested inside one another, all counted together:
        /// with the call depth, what bounds the stack a render needs (see LargeStack).
        var maximumDepth = 500
        /// Loop iterations and calls in one render (a few seconds of work at most).
        var maximumSteps = 1_000_000
        /// jinja2's sandbox refuses `range()` longer than this.
        var maximumRange = 100_000
        /// Stored values may nest lists, dictionaries and namespaces this deep (deeper would
        /// risk the stack when printed, compared or freed).
        var maximumNesting = 100
    }

    enum Flow { case normal, breakLoop, continueLoop }

    let limits: Limits
    let now: @Sendable () -> Date
    private(set) var output = ""
    var callDepth = 0
    private var depth = 0
    private var steps = 0
    /// Objects that may sit in reference cycles (a macro in the scope it closes over, a
    /// namespace keeping a loop): released by hand when the render ends.
    var macros: [JinjaMacro] = []
    var loops: [JinjaLoopContext] = []
    var namespaces: [JinjaNamespace] = []

    init(limits: Limits = Limits(), now: @escaping @Sendable () -> Date) {
        self.limits = limits
        self.now = now
    }

    func render(_ statements: [JinjaStatement], in scope: JinjaScope) throws(JinjaFailure) -> String {
        output = ""
        defer {
            for macro in macros { macro.closure = nil }
            for loop in loops { loop.recursion = nil }
            for namespace in namespaces { namespace.attributes = JinjaDictionary() }
        }
        _ = try execute(statements, in: scope)
        return output
    }

    // MARK: Output and budgets

    func write(_ text: String) throws(JinjaFailure) {
        output += text
        if output.utf8.count > limits.maximumOutputBytes {
            throw JinjaFailure("the rendered text would exceed \(limits.maximumOutputBytes >> 20) MiB, the limit for a chat template")
        }
    }

    /// Runs `body` into a fresh buffer and returns what it wrote (macro bodies, block sets,
    /// filter blocks, recursive loops).
    func capturing(_ body: () throws(JinjaFailure) -> Void) throws(JinjaFailure) -> String {
        let saved = output
        output = ""
        do {
            try body()
        } catch {
            output = saved
            throw error
        }
        let captured = output
        output = saved
        return captured
    }

    func capture(_ statements: [JinjaStatement], in scope: JinjaScope) throws(JinjaFailure) -> String {
        try capturing { () throws(JinjaFailure) in _ = try execute(statements, in: scope) }
    }

    func countStep() throws(JinjaFailure) {
        steps += 1
        if steps > limits.maximumSteps {
            throw JinjaFailure("the template ran more than \(limits.maximumSteps) loop iterations and calls, the limit for a chat template")
        }
    }

    /// Every statement and expression goes one level deeper while it runs.
    func enter() throws(JinjaFailure) {
        guard depth < limits.maximumDepth else {
            throw JinjaFailure("statements, expressions and calls nest deeper than \(limits.maximumDepth) levels, the limit for a chat template")
        }
        depth += 1
    }

    func leave() { depth -= 1 }

    func enterCall() throws(JinjaFailure) {
        guard callDepth < limits.maximumCallDepth else {
            throw JinjaFailure("macro calls nest deeper than \(limits.maximumCallDepth) levels (endless recursion?)")
        }
        callDepth += 1
        try countStep()
    }

    // MARK: Statements

    func execute(_ statements: [JinjaStatement], in scope: JinjaScope) throws(JinjaFailure) -> Flow {
        for statement in statements {
            let flow = try execute(statement, in: scope)
            if flow != .normal { return flow }
        }
        return .normal
    }

    /// One small function per kind, as in the evaluator: this dispatcher sits in every level
    /// of recursion.
    private func execute(_ statement: JinjaStatement, in scope: JinjaScope) throws(JinjaFailure) -> Flow {
        do throws(JinjaFailure) {
            try enter()
            defer { leave() }
            switch statement.kind {
            case .text(let text): try write(text)
            case .output(let expression): try write(try evaluate(expression, in: scope).pythonString)
            case .conditional(let branches, let otherwise): return try executeConditional(branches, otherwise, in: scope)
            case .loop(let loop): try executeLoop(loop, over: try evaluate(loop.iterable, in: scope), in: scope, depth0: 0)
            case .assign(let target, let expression): try assign(try evaluate(expression, in: scope), to: target, in: scope)
            case .assignBlock(let target, let filters, let body): try executeAssignBlock(target, filters, body, in: scope)
            case .macro(let definition): defineMacro(definition, in: scope)
            case .callBlock(let caller, let call): try executeCallBlock(caller, call, in: scope)
            case .filterBlock(let filters, let body): try executeFilterBlock(filters, body, in: scope)
            case .with(let assignments, let body): return try executeWith(assignments, body, in: scope)
            case .group(let body): return try execute(body, in: JinjaScope(parent: scope))
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            }
        } catch {
            throw error.located(at: statement.location)
        }
        return .normal
    }

    private func executeConditional(
        _ branches: [(test: JinjaExpression, body: [JinjaStatement])], _ otherwise: [JinjaStatement], in scope: JinjaScope
    ) throws(JinjaFailure) -> Flow {
        for branch in branches where try evaluate(branch.test, in: scope).isTruthy {
            return try execute(branch.body, in: scope)
        }
        return try execute(otherwise, in: scope)
    }

    private func executeAssignBlock(
        _ target: JinjaTarget, _ filters: [JinjaFilterApplication], _ body: [JinjaStatement], in scope: JinjaScope
    ) throws(JinjaFailure) {
        let text = try capture(body, in: scope)
        try assign(try applyFilters(filters, to: .string(text), in: scope), to: target, in: scope)
    }

    private func defineMacro(_ definition: JinjaMacroDefinition, in scope: JinjaScope) {
        let macro = JinjaMacro(definition: definition, closure: scope)
        macros.append(macro)
        scope.set(definition.name, .macro(macro))
    }

    private func executeCallBlock(_ caller: JinjaMacroDefinition, _ call: JinjaExpression, in scope: JinjaScope) throws(JinjaFailure) {
        guard case .call(let calleeExpression, let argumentList) = call.kind else {
            throw JinjaFailure("a call block needs a macro call")
        }
        let callee = try evaluate(calleeExpression, in: scope)
        var arguments = try evaluateArguments(argumentList, in: scope)
        let callerMacro = JinjaMacro(definition: caller, closure: scope)
        macros.append(callerMacro)
        arguments.keyword.append(("caller", .macro(callerMacro)))
        try write(try self.call(callee, arguments).pythonString)
    }

    private func executeFilterBlock(_ filters: [JinjaFilterApplication], _ body: [JinjaStatement], in scope: JinjaScope) throws(JinjaFailure) {
        let text = try capture(body, in: scope)
        try write(try applyFilters(filters, to: .string(text), in: scope).pythonString)
    }

    private func executeWith(
        _ assignments: [(JinjaTarget, JinjaExpression)], _ body: [JinjaStatement], in scope: JinjaScope
    ) throws(JinjaFailure) -> Flow {
        let inner = JinjaScope(parent: scope)
        for (target, expression) in assignments {
            try assign(try evaluate(expression, in: scope), to: target, in: inner)
        }
        return try execute(body, in: inner)
    }

    private func applyFilters(
        _ filters: [JinjaFilterApplication], to value: JinjaValue, in scope: JinjaScope
    ) throws(JinjaFailure) -> JinjaValue {
        var result = value
        for filter in filters {
            do {
                result = try applyFilter(filter.name, to: result, try evaluateArguments(filter.arguments, in: scope))
            } catch {
                throw error.located(at: filter.location)
            }
        }
        return result
    }

    /// A `for` loop. Each iteration gets its own scope, so `set` inside the body does not outlive
    /// the iteration (jinja2's rule; `namespace()` is the way out).
    func executeLoop(_ loop: JinjaLoopStatement, over iterable: JinjaValue, in scope: JinjaScope, depth0: Int) throws(JinjaFailure) {
        var items = try JinjaAccess.iterate(iterable)
        if let condition = loop.condition {
            var kept: [JinjaValue] = []
            for item in items {
                let probe = JinjaScope(parent: scope)
                try assign(item, to: loop.target, in: probe)
                if try evaluate(condition, in: probe).isTruthy { kept.append(item) }
            }
            items = kept
        }
        let context = JinjaLoopContext(items: items, depth0: depth0, recursion: loop.isRecursive ? (loop, scope) : nil)
        if loop.isRecursive { loops.append(context) }
        for (index, item) in items.enumerated() {
            try countStep()
            context.index0 = index
            let iteration = JinjaScope(parent: scope, variables: ["loop": .loop(context)])
            try assign(item, to: loop.target, in: iteration)
            if try execute(loop.body, in: iteration) == .breakLoop { break }
        }
        if items.isEmpty {
            _ = try execute(loop.otherwise, in: JinjaScope(parent: scope))
        }
    }

    /// Values are checked where they are stored: only a stored value can grow across loop
    /// iterations (through a namespace) or statements.
    func checkNesting(_ value: JinjaValue) throws(JinjaFailure) {
        if value.nestsDeeper(than: limits.maximumNesting) { throw nestingFailure }
    }

    private var nestingFailure: JinjaFailure {
        JinjaFailure("a value nests deeper than \(limits.maximumNesting) levels (or holds itself), the limit for a chat template")
    }

    func assign(_ value: JinjaValue, to target: JinjaTarget, in scope: JinjaScope) throws(JinjaFailure) {
        try checkNesting(value)
        switch target {
        case .name(let name):
            scope.set(name, value)
        case .tuple(let targets):
            if case .undefined(let undefined) = value { throw JinjaFailure(undefined) }
            let items = try JinjaAccess.iterate(value)
            guard items.count == targets.count else {
                throw JinjaFailure(items.count > targets.count
                    ? "too many values to unpack (expected \(targets.count))"
                    : "not enough values to unpack (expected \(targets.count), got \(items.count))")
            }
            for (item, itemTarget) in zip(items, targets) { try assign(item, to: itemTarget, in: scope) }
        case .namespaceAttribute(let name, let attribute):
            guard case .namespace(let namespace) = scope.lookup(name) ?? .undefined(name) else {
                throw JinjaFailure("cannot assign attribute on non-namespace object")
            }
            let key = JinjaHashKey.string(attribute)
            let previous = namespace.attributes.value(for: key)
            namespace.attributes.set(.string(attribute), value, hashKey: key)
            if JinjaValue.namespace(namespace).nestsDeeper(than: limits.maximumNesting) {
                // The value holds the namespace itself: undo, so nothing can loop forever on it.
                if let previous { namespace.attributes.set(.string(attribute), previous, hashKey: key) } else {
                    namespace.attributes.removeValue(for: key)
                }
                throw nestingFailure
            }
        }
    }
}
