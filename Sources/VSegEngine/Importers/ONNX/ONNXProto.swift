/// The parts of onnx.proto the importer reads, decoded from the wire format.
/// Field numbers are those of onnx/onnx.proto; unknown fields are skipped.
/// A message field that occurs twice is merged, as protobuf requires.

struct ONNXTensorProto {
    var name = ""
    var dims: [Int64] = []
    var dataType: Int32 = 0
    var floatData: [Float] = []
    var int32Data: [Int32] = []
    var int64Data: [Int64] = []
    var doubleData: [Double] = []
    var uint64Data: [UInt64] = []
    var rawData: ArraySlice<UInt8>?
    var externalData: [(key: String, value: String)] = []
    /// 0 = DEFAULT, 1 = EXTERNAL.
    var dataLocation: Int32 = 0

    init() {}

    init(_ r: inout ProtoWireReader) throws {
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, _): try r.appendInt64s(wire, to: &dims)
            case (2, .varint): dataType = try r.int32()
            case (4, _): try r.appendFloats(wire, to: &floatData)
            case (5, _): try r.appendInt32s(wire, to: &int32Data)
            case (7, _): try r.appendInt64s(wire, to: &int64Data)
            case (8, .lengthDelimited): name = try r.string()
            case (9, .lengthDelimited): rawData = r.bytes[try r.lengthDelimited()]
            case (10, _): try r.appendDoubles(wire, to: &doubleData)
            case (11, _): try r.appendUInt64s(wire, to: &uint64Data)
            case (13, .lengthDelimited):
                var sub = try r.message()
                var key = "", value = ""
                while let (f, w) = try sub.nextField() {
                    switch (f, w) {
                    case (1, .lengthDelimited): key = try sub.string()
                    case (2, .lengthDelimited): value = try sub.string()
                    default: try sub.skip(w)
                    }
                }
                externalData.append((key, value))
            case (14, .varint): dataLocation = try r.int32()
            default: try r.skip(wire)
            }
        }
    }
}

struct ONNXAttribute {
    enum Kind: Int32 {
        case undefined = 0, float = 1, int = 2, string = 3, tensor = 4, graph = 5,
             floats = 6, ints = 7, strings = 8, tensors = 9, graphs = 10
    }
    var name = ""
    var type: Int32 = 0
    var f: Float?
    var i: Int64?
    var s: String?
    var t: ONNXTensorProto?
    var floats: [Float] = []
    var ints: [Int64] = []

    init(_ r: inout ProtoWireReader) throws {
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, .lengthDelimited): name = try r.string()
            case (2, .fixed32): f = try r.float()
            case (3, .varint): i = try r.int64()
            case (4, .lengthDelimited): s = try r.string()
            case (5, .lengthDelimited):
                var sub = try r.message()
                t = try ONNXTensorProto(&sub)
            case (7, _): try r.appendFloats(wire, to: &floats)
            case (8, _): try r.appendInt64s(wire, to: &ints)
            case (20, .varint): type = try r.int32()
            default: try r.skip(wire)   // subgraphs, strings, sparse tensors: not used by the supported ops
            }
        }
    }
}

struct ONNXNode {
    var inputs: [String] = []
    var outputs: [String] = []
    var name = ""
    var opType = ""
    var domain = ""
    var attributes: [String: ONNXAttribute] = [:]

    init(_ r: inout ProtoWireReader) throws {
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, .lengthDelimited): inputs.append(try r.string())
            case (2, .lengthDelimited): outputs.append(try r.string())
            case (3, .lengthDelimited): name = try r.string()
            case (4, .lengthDelimited): opType = try r.string()
            case (5, .lengthDelimited):
                var sub = try r.message()
                let a = try ONNXAttribute(&sub)
                attributes[a.name] = a
            case (7, .lengthDelimited): domain = try r.string()
            default: try r.skip(wire)
            }
        }
    }
}

/// A graph input/output/value_info entry. `dims` is nil when the type has no shape;
/// a dimension is nil when it is symbolic (dim_param) or missing.
struct ONNXValueInfo {
    var name = ""
    var elemType: Int32 = 0
    var dims: [Int?]?

    init(_ r: inout ProtoWireReader) throws {
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, .lengthDelimited): name = try r.string()
            case (2, .lengthDelimited):
                var type = try r.message()
                while let (f, w) = try type.nextField() {
                    guard f == 1, w == .lengthDelimited else { try type.skip(w); continue }
                    var tensorType = try type.message()          // TypeProto.tensor_type
                    while let (tf, tw) = try tensorType.nextField() {
                        switch (tf, tw) {
                        case (1, .varint): elemType = try tensorType.int32()
                        case (2, .lengthDelimited):
                            var shape = try tensorType.message()   // TensorShapeProto
                            var out: [Int?] = dims ?? []
                            while let (sf, sw) = try shape.nextField() {
                                guard sf == 1, sw == .lengthDelimited else { try shape.skip(sw); continue }
                                var dim = try shape.message()
                                var value: Int?
                                while let (df, dw) = try dim.nextField() {
                                    if df == 1, dw == .varint {
                                        let v = try dim.int64()
                                        value = v >= 0 && v <= Int64(ONNXLimits.maxDim) ? Int(v) : nil
                                    } else {
                                        try dim.skip(dw)
                                    }
                                }
                                out.append(value)
                            }
                            dims = out
                        default: try tensorType.skip(tw)
                        }
                    }
                }
            default: try r.skip(wire)
            }
        }
    }
}

enum ONNXLimits {
    /// No single dimension of a real model comes near this; larger values are treated as hostile.
    static let maxDim = 1 << 31
}

struct ONNXGraphProto {
    var nodes: [ONNXNode] = []
    var name = ""
    var initializers: [ONNXTensorProto] = []
    var inputs: [ONNXValueInfo] = []
    var outputs: [ONNXValueInfo] = []
    var valueInfo: [ONNXValueInfo] = []

    mutating func merge(_ r: inout ProtoWireReader) throws {
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, .lengthDelimited):
                var sub = try r.message()
                nodes.append(try ONNXNode(&sub))
            case (2, .lengthDelimited): name = try r.string()
            case (5, .lengthDelimited):
                var sub = try r.message()
                initializers.append(try ONNXTensorProto(&sub))
            case (11, .lengthDelimited):
                var sub = try r.message()
                inputs.append(try ONNXValueInfo(&sub))
            case (12, .lengthDelimited):
                var sub = try r.message()
                outputs.append(try ONNXValueInfo(&sub))
            case (13, .lengthDelimited):
                var sub = try r.message()
                valueInfo.append(try ONNXValueInfo(&sub))
            case (15, .lengthDelimited):
                throw r.fail("sparse initializers are not supported")
            default: try r.skip(wire)
            }
        }
    }
}

struct ONNXModelProto {
    var irVersion: Int64 = 0
    var producer = ""
    var opsets: [(domain: String, version: Int64)] = []
    var graph = ONNXGraphProto()
    var hasGraph = false

    init(bytes: [UInt8], path: String) throws {
        var r = ProtoWireReader(bytes: bytes, path: path)
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, .varint): irVersion = try r.int64()
            case (2, .lengthDelimited): producer = try r.string()
            case (7, .lengthDelimited):
                var sub = try r.message()
                try graph.merge(&sub)
                hasGraph = true
            case (8, .lengthDelimited):
                var sub = try r.message()
                var domain = "", version: Int64 = 0
                while let (f, w) = try sub.nextField() {
                    switch (f, w) {
                    case (1, .lengthDelimited): domain = try sub.string()
                    case (2, .varint): version = try sub.int64()
                    default: try sub.skip(w)
                    }
                }
                opsets.append((domain, version))
            default: try r.skip(wire)
            }
        }
        guard hasGraph else { throw r.fail("no graph in the model") }
    }

    /// The default-domain ("" or "ai.onnx") opset version.
    var defaultOpset: Int {
        let v = opsets.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }?.version ?? 1
        return Int(clamping: v)
    }
}
