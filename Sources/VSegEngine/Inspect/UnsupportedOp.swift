/// An operator an importer skipped in lenient mode (for `vseg inspect`).
public struct UnsupportedOp: Sendable, Equatable, CustomStringConvertible {
    /// The op as the file names it ("FULLY_CONNECTED", a custom code, an ONNX op_type).
    public var op: String
    /// Index of the operator/node in the file.
    public var index: Int
    /// The error a strict load would have thrown.
    public var reason: String

    public init(op: String, index: Int, reason: String) {
        self.op = op; self.index = index; self.reason = reason
    }

    public var description: String { "\(op) at node \(index)" }
}

/// A graph loaded in lenient mode plus what was skipped. When `unsupported`
/// is non-empty the graph is incomplete: inspect it, do not run it.
public struct LenientImport: Sendable {
    public var graph: Graph
    public var unsupported: [UnsupportedOp]

    public init(graph: Graph, unsupported: [UnsupportedOp]) {
        self.graph = graph; self.unsupported = unsupported
    }
}
