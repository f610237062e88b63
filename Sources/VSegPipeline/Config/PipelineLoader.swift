#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VSegCore
import Yams

/// Reads pipeline YAML, applies `--set key.path=value` overrides and decodes a
/// `PipelineConfig`, reporting every problem as `file:line:col: message`.
public enum PipelineLoader {
    /// Loads `path` (nil: start from an empty pipeline) and applies `overrides`
    /// ("source.maxFrames=10", "sinks.0.crf=20") in order.
    public static func load(path: String?, overrides: [String] = []) throws -> PipelineConfig {
        let file = path ?? "<command line>"
        var root: Node = .mapping(Node.Mapping([]))
        if let path {
            let text = try readText(path)
            root = try parse(text, file: path)
        }
        return try decode(root, file: file, overrides: overrides)
    }

    /// Same as `load` for YAML text already in memory (`file` names it in errors).
    public static func load(yaml text: String, file: String, overrides: [String] = []) throws -> PipelineConfig {
        try decode(parse(text, file: file), file: file, overrides: overrides)
    }

    static func decode(_ root: Node, file: String, overrides: [String]) throws -> PipelineConfig {
        var root = root
        let state = NodeDecoding(file: file)
        for o in overrides {
            let (path, value) = try splitOverride(o)
            try set(&root, path: path.split(separator: ".").map(String.init), value: value, override: o)
            state.origins[path] = "--set \(o)"
        }
        let config = try state.decode(PipelineConfig.self, from: root)
        try state.checkNoUnknownKeys(in: root)
        return config
    }

    static func parse(_ text: String, file: String) throws -> Node {
        do {
            guard let node = try Yams.compose(yaml: text) else { return .mapping(Node.Mapping([])) }
            guard case .mapping = node else {
                throw PipelineError.config(file: file, line: node.mark?.line, column: node.mark?.column,
                                           message: "a pipeline is a mapping with source/model/sinks keys; see pipelines/transcode.yaml")
            }
            return node
        } catch let e as YamlError {
            switch e {
            case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
                throw PipelineError.config(file: file, line: mark.line, column: mark.column,
                                           message: "malformed YAML (\(problem)); fix the syntax at this line")
            case let .reader(problem, _, _, _):
                throw PipelineError.config(file: file, line: nil, column: nil, message: "unreadable YAML (\(problem)); save the file as UTF-8 text")
            default:
                throw PipelineError.config(file: file, line: nil, column: nil, message: "malformed YAML (\(e)); check the syntax")
            }
        }
    }

    static func readText(_ path: String) throws -> String {
        guard let f = fopen(path, "rb") else {
            let reason = String(cString: strerror(errno))
            throw PipelineError.config(file: path, line: nil, column: nil,
                                       message: "cannot read pipeline (\(reason)); check the path, e.g. pipelines/transcode.yaml")
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count { break }
            if bytes.count > 16 << 20 {
                throw PipelineError.config(file: path, line: nil, column: nil, message: "file is over 16 MiB; a pipeline is a short YAML file")
            }
        }
        if ferror(f) != 0 {
            throw PipelineError.config(file: path, line: nil, column: nil, message: "read error; check the file")
        }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw PipelineError.config(file: path, line: nil, column: nil, message: "not UTF-8 text; save the pipeline as UTF-8 YAML")
        }
        return s
    }

    static func splitOverride(_ o: String) throws -> (String, String) {
        guard let eq = o.firstIndex(of: "=") else { throw PipelineError.badOverride(o, reason: "missing '='") }
        let path = String(o[..<eq]).trimmingSpaces
        let value = String(o[o.index(after: eq)...])
        guard !path.isEmpty, !path.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
            throw PipelineError.badOverride(o, reason: "empty key")
        }
        return (path, value)
    }

    /// Puts `value` at `path`, creating mappings on the way. Numeric parts
    /// index lists (`sinks.0.crf`); index == count appends.
    static func set(_ node: inout Node, path: [String], value: String, override o: String) throws {
        guard let head = path.first else {
            node = try valueNode(value, override: o)
            return
        }
        let rest = Array(path.dropFirst())
        switch node {
        case .mapping(var m):
            var child = m[head] ?? (rest.first.flatMap { Int($0) } != nil ? .sequence(Node.Sequence([])) : .mapping(Node.Mapping([])))
            try set(&child, path: rest, value: value, override: o)
            m[head] = child
            node = .mapping(m)
        case .sequence(var s):
            guard let i = Int(head), i >= 0, i <= s.count else {
                throw PipelineError.badOverride(o, reason: "'\(head)' is not an index of a list with \(s.count) items")
            }
            var child = i < s.count ? s[i] : .mapping(Node.Mapping([]))
            try set(&child, path: rest, value: value, override: o)
            if i < s.count { s[i] = child } else { s.append(child) }
            node = .sequence(s)
        case .scalar(let sc):
            if sc.style == .plain && ["", "~", "null"].contains(sc.string) {
                var fresh: Node = .mapping(Node.Mapping([]))
                try set(&fresh, path: path, value: value, override: o)
                node = fresh
            } else {
                throw PipelineError.badOverride(o, reason: "'\(head)' is inside the plain value '\(sc.string)', not a block")
            }
        @unknown default:
            throw PipelineError.badOverride(o, reason: "unsupported YAML node")
        }
    }

    /// Flow collections (`[1,2]`, `{a: 1}`) are parsed as YAML; everything else is one scalar.
    static func valueNode(_ value: String, override o: String) throws -> Node {
        let t = value.trimmingSpaces
        if t.hasPrefix("[") || t.hasPrefix("{") {
            do {
                if let n = try Yams.compose(yaml: t) { return n }
            } catch {
                throw PipelineError.badOverride(o, reason: "the value is not valid YAML")
            }
        }
        return Node(value)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
