import Yams

/// Decodes any `Decodable` from a Yams node tree while keeping the YAML
/// positions, so a wrong type or an unknown key is reported as `file:line:col`.
///
/// It records every key the types ask for; afterwards `unusedKeys()` lists the
/// keys in the document that no type asked for (typos, misplaced options).
/// This works with any options struct, including ones other modules define,
/// because it sees the keys a type's `init(from:)` actually looks up.
final class NodeDecoding {
    let file: String
    /// Paths ("sinks.0.crf") of keys some type read.
    private(set) var used: Set<String> = []
    /// Keys each keyed container asked for, by container path (for "did you mean").
    private(set) var asked: [String: [String]] = [:]
    /// Container paths decoded as keyed containers.
    private(set) var keyedPaths: Set<String> = []
    /// Where `--set` overrides came from, by path, for nodes without a YAML mark.
    var origins: [String: String] = [:]

    init(file: String) { self.file = file }

    func decode<T: Decodable>(_ type: T.Type, from node: Node) throws -> T {
        do {
            return try NodeDecoder(node: node, path: [], state: self).decodeValue(T.self)
        } catch let e as DecodingError {
            throw translate(e, root: node)
        }
    }

    func markUsed(_ path: String) { used.insert(path) }
    func markAsked(_ key: String, in container: String) {
        if asked[container]?.contains(key) == true { return }
        asked[container, default: []].append(key)
    }
    func markKeyed(_ path: String) { keyedPaths.insert(path) }

    /// Keys present in the document that no decoder asked for, in document order.
    func unusedKeys(in root: Node) -> [(path: String, key: String, mark: Mark?)] {
        var out: [(String, String, Mark?)] = []
        func walk(_ node: Node, _ path: String) {
            switch node {
            case .mapping(let m):
                let isKeyed = keyedPaths.contains(path)
                for (k, v) in m {
                    let name = k.string ?? "?"
                    let childPath = path.isEmpty ? name : path + "." + name
                    if isKeyed && !used.contains(childPath) {
                        out.append((path, name, k.mark))
                        continue
                    }
                    walk(v, childPath)
                }
            case .sequence(let s):
                for (i, v) in s.enumerated() { walk(v, path.isEmpty ? "\(i)" : path + ".\(i)") }
            default:
                break
            }
        }
        walk(root, "")
        return out
    }

    /// Throws for the first unknown key, naming the keys that are allowed there.
    func checkNoUnknownKeys(in root: Node) throws {
        guard let u = unusedKeys(in: root).first else { return }
        let known = (asked[u.path] ?? []).sorted()
        let whereText = u.path.isEmpty ? "at the top level" : "in '\(u.path)'"
        let hint = known.isEmpty ? "remove it" : "known keys: " + known.joined(separator: ", ")
        throw error(at: u.mark, path: u.path.isEmpty ? u.key : u.path + "." + u.key,
                    "unknown key '\(u.key)' \(whereText); \(hint)")
    }

    func error(at mark: Mark?, path: String, _ message: String) -> PipelineError {
        if mark == nil, let origin = originFor(path) {
            return .config(file: origin, line: nil, column: nil, message: message)
        }
        return .config(file: file, line: mark?.line, column: mark?.column, message: message)
    }

    private func originFor(_ path: String) -> String? {
        var p = path
        while true {
            if let o = origins[p] { return o }
            guard let dot = p.lastIndex(of: ".") else { return nil }
            p = String(p[..<dot])
        }
    }

    /// Maps a Swift DecodingError (thrown by a type's own init, e.g. an enum
    /// with a bad raw value) back to the node it came from.
    private func translate(_ e: DecodingError, root: Node) -> PipelineError {
        let (ctx, what): (DecodingError.Context, String)
        switch e {
        case let .typeMismatch(t, c): (ctx, what) = (c, "expected \(describe(t))")
        case let .valueNotFound(t, c): (ctx, what) = (c, "missing value, expected \(describe(t))")
        case let .keyNotFound(k, c): (ctx, what) = (c, "missing required key '\(k.stringValue)'")
        case let .dataCorrupted(c): (ctx, what) = (c, "invalid value")
        @unknown default: return .config(file: file, line: nil, column: nil, message: "\(e)")
        }
        let path = ctx.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
        var node: Node? = root
        for p in path {
            switch node {
            case .mapping(let m)?: node = m[p]
            case .sequence(let s)?: node = Int(p).flatMap { $0 < s.count ? s[$0] : nil }
            default: node = nil
            }
        }
        let joined = path.joined(separator: ".")
        var detail = ctx.debugDescription
        if let n = node?.scalar {
            // A type that names its choices ("expected fp32|int8") keeps them in the message.
            let choices = ctx.debugDescription.hasPrefix("expected ") ? "; " + ctx.debugDescription : ""
            detail = "'\(n.string)' is not valid here\(choices)"
        }
        return error(at: node?.mark, path: joined, "\(joined.isEmpty ? "document" : joined): \(what) (\(detail))")
    }
}

func describe(_ t: Any.Type) -> String {
    switch t {
    case is Int.Type, is Int32.Type, is Int64.Type, is UInt.Type, is UInt8.Type, is UInt16.Type, is UInt32.Type: return "an integer"
    case is Double.Type, is Float.Type: return "a number"
    case is Bool.Type: return "true or false"
    case is String.Type: return "a string"
    default:
        let n = String(describing: t)
        if n.hasPrefix("Array") || n.hasPrefix("[") { return "a list" }
        if n.hasPrefix("Dictionary") { return "a mapping" }
        return "a \(n) block"
    }
}

struct NodeDecoder: Decoder {
    let node: Node
    let path: [CodingKey]
    let state: NodeDecoding
    var codingPath: [CodingKey] { path }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    var pathString: String { path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") }

    func fail(_ message: String) -> PipelineError {
        let p = pathString
        return state.error(at: node.mark, path: p, p.isEmpty ? message : "\(p): \(message)")
    }

    var isNull: Bool {
        guard case .scalar(let s) = node else { return false }
        return s.tag.description == Tag.Name.null.rawValue || (s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let m) = node else { throw fail("expected a mapping of keys, got \(shape)") }
        state.markKeyed(pathString)
        return KeyedDecodingContainer(KeyedNodeContainer<Key>(mapping: m, decoder: self))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .sequence(let s) = node else { throw fail("expected a list, got \(shape)") }
        return UnkeyedNodeContainer(items: Array(s), decoder: self)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { self }

    var shape: String {
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        @unknown default: return "something else"
        }
    }

    func child(_ node: Node, _ key: CodingKey) -> NodeDecoder {
        NodeDecoder(node: node, path: path + [key], state: state)
    }

    /// Primitives are read from the scalar with YAML 1.1 rules; everything else via its own init(from:).
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == String.self { return try scalarString() as! T }
        if T.self == Bool.self { return try construct(Bool.self, "true or false") as! T }
        if T.self == Int.self { return try construct(Int.self, "an integer") as! T }
        if T.self == Int64.self { return try construct(Int64.self, "an integer") as! T }
        if T.self == Int32.self {
            let v = try construct(Int.self, "an integer")
            guard let n = Int32(exactly: v) else { throw fail("\(v) is out of range for a 32-bit integer") }
            return n as! T
        }
        if T.self == UInt8.self {
            let v = try construct(Int.self, "an integer 0...255")
            guard let n = UInt8(exactly: v) else { throw fail("expected an integer 0...255, got \(v)") }
            return n as! T
        }
        if T.self == Double.self { return try construct(Double.self, "a number") as! T }
        if T.self == Float.self { return try construct(Float.self, "a number") as! T }
        return try T(from: self)
    }

    private func scalarString() throws -> String {
        guard case .scalar(let s) = node else { throw fail("expected a string, got \(shape)") }
        return s.string
    }

    private func construct<T: ScalarConstructible>(_ t: T.Type, _ what: String) throws -> T {
        guard case .scalar(let s) = node else { throw fail("expected \(what), got \(shape)") }
        // Yams reads "1.5" as a valid Int by truncation in some versions; insist on the exact text.
        if T.self == Int.self || T.self == Int64.self {
            guard Int(s.string) != nil || s.string.hasPrefix("0x") else { throw fail("expected \(what), got '\(s.string)'") }
        }
        guard let v = T.construct(from: s) else { throw fail("expected \(what), got '\(s.string)'") }
        return v
    }
}

extension NodeDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { isNull }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(T.self) }
}

struct KeyedNodeContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let mapping: Node.Mapping
    let decoder: NodeDecoder
    var codingPath: [CodingKey] { decoder.path }

    private func childPath(_ key: CodingKey) -> String {
        let p = decoder.pathString
        return p.isEmpty ? key.stringValue : p + "." + key.stringValue
    }

    private func value(_ key: Key) -> Node? {
        decoder.state.markAsked(key.stringValue, in: decoder.pathString)
        guard let v = mapping[key.stringValue] else { return nil }
        decoder.state.markUsed(childPath(key))
        return v
    }

    var allKeys: [Key] {
        // A type that enumerates keys (a dictionary) accepts all of them.
        mapping.keys.compactMap { k in
            guard let s = k.string else { return nil }
            decoder.state.markUsed(childPath(AnyKey(s)))
            return Key(stringValue: s)
        }
    }

    func contains(_ key: Key) -> Bool { value(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let v = value(key) else { return true }
        return decoder.child(v, key).isNull
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        guard let v = value(key) else {
            throw decoder.fail("missing required key '\(key.stringValue)'")
        }
        return try decoder.child(v, key).decodeValue(T.self)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        guard let v = value(key) else { throw decoder.fail("missing required key '\(key.stringValue)'") }
        return try decoder.child(v, key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        guard let v = value(key) else { throw decoder.fail("missing required key '\(key.stringValue)'") }
        return try decoder.child(v, key).unkeyedContainer()
    }

    /// The same mapping, so a type can decode its own keys next to another's
    /// (the source block holds `uri` and every SourceOptions key side by side).
    func superDecoder() throws -> Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> Decoder {
        guard let v = value(key) else { throw decoder.fail("missing required key '\(key.stringValue)'") }
        return decoder.child(v, key)
    }
}

struct UnkeyedNodeContainer: UnkeyedDecodingContainer {
    let items: [Node]
    let decoder: NodeDecoder
    var currentIndex = 0
    var codingPath: [CodingKey] { decoder.path }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    init(items: [Node], decoder: NodeDecoder) { self.items = items; self.decoder = decoder }

    private mutating func next() throws -> NodeDecoder {
        guard !isAtEnd else { throw decoder.fail("list has only \(items.count) items") }
        defer { currentIndex += 1 }
        return decoder.child(items[currentIndex], AnyKey(index: currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return true }
        if decoder.child(items[currentIndex], AnyKey(index: currentIndex)).isNull { currentIndex += 1; return true }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(T.self) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> Decoder { try next() }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ s: String) { stringValue = s; intValue = nil }
    init(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    init(index: Int) { stringValue = String(index); intValue = index }
    init?(intValue: Int) { self.init(index: intValue) }
}
