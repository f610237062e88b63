import VSegCore

/// One operator as the file states it, before mapping to `Op`.
struct TFLiteRawOperator {
    /// Position in subgraph 0's operator list (what error messages call the node index).
    var index: Int
    /// Builtin code (max of builtin_code and deprecated_builtin_code, as TFLite does).
    var code: Int
    var customCode: String?
    var inputs: [Int]
    var outputs: [Int]
    var optionsType: UInt8
    var options: FBTable?
    /// custom_options bytes (flexbuffer or, for MediaPipe ops, a raw C struct).
    var customOptions: [UInt8]

    /// "CONV_2D", or the custom code for CUSTOM ops.
    var name: String {
        code == TFLiteSchema.Op.custom ? (customCode ?? "CUSTOM") : TFLiteSchema.opName(code)
    }
}

/// Caps what a file can make the importer allocate: every decoded constant
/// byte and name byte is charged here, so a small hostile file cannot ask for
/// gigabytes (e.g. thousands of tensors sharing one big buffer, or a tiny
/// sparse tensor whose dense shape is huge).
struct ImportBudget {
    var remaining: Int
    let path: String

    init(fileSize: Int, path: String) {
        // Generous for real models: fp16 -> fp32 doubles, densify expands sparse weights a few times.
        remaining = 16 &* min(fileSize, 1 << 31) &+ (64 << 20)
        self.path = path
    }

    mutating func charge(_ bytes: Int, for what: @autoclosure () -> String) throws {
        guard bytes >= 0, bytes <= remaining else {
            throw EngineError.malformedModel(
                path: path, detail: "\(what()) would need \(bytes) more bytes than a file of this size can justify")
        }
        remaining -= bytes
    }
}

/// Reads the structure of a TFLite model: tensors of subgraph 0 (with
/// constant data decoded and sparse tensors densified), its inputs, outputs
/// and operators, and the model metadata.
struct TFLiteModelReader {
    static let maxTensors = 1 << 18
    static let maxOperators = 1 << 18
    static let maxRank = 16

    let fb: FlatBuffer
    var budget: ImportBudget
    var path: String { fb.path }

    var tensors: [TensorInfo] = []
    /// Per tensor: whether the file stores it sparse (densified here).
    var sparse: [Bool] = []
    var inputs: [Int] = []
    var outputs: [Int] = []
    var operators: [TFLiteRawOperator] = []
    var metadata: [String: String] = [:]

    init(bytes: [UInt8], path: String) throws {
        fb = FlatBuffer(bytes: bytes, path: path)
        budget = ImportBudget(fileSize: bytes.count, path: path)
        guard bytes.count >= 8 else {
            throw fb.malformed("file is \(bytes.count) bytes, too short for a TFLite flatbuffer")
        }
        guard Array(bytes[4..<8]) == TFLiteSchema.fileIdentifier else {
            let found = bytes[4..<8].map { ($0 >= 0x20 && $0 < 0x7f) ? String(UnicodeScalar($0)) : "." }.joined()
            throw fb.malformed("missing the TFLite file identifier \"TFL3\" at bytes 4..8 (found \"\(found)\")")
        }
        try read()
    }

    private mutating func read() throws {
        let model = try fb.rootTable(what: "Model")
        let version = try model.u32(TFLiteSchema.Model.version)
        guard version == TFLiteSchema.schemaVersion else {
            throw fb.malformed("schema version \(version), vseg reads version \(TFLiteSchema.schemaVersion)")
        }
        metadata["schema_version"] = String(version)
        if let d = try model.string(TFLiteSchema.Model.description, what: "Model.description") {
            metadata["description"] = String(d.prefix(1024))
        }
        let buffers = try model.vector(TFLiteSchema.Model.buffers, elementSize: 4, what: "Model.buffers")
        try readMetadata(model, buffers: buffers)

        let codes = try readOperatorCodes(model)
        guard let subgraphs = try model.vector(TFLiteSchema.Model.subgraphs, elementSize: 4, what: "Model.subgraphs"),
              subgraphs.count >= 1 else {
            throw fb.malformed("the model has no subgraph")
        }
        if subgraphs.count > 1 { metadata["subgraphs"] = String(subgraphs.count) }
        let sg = try subgraphs.table(0, what: "SubGraph 0")
        if let name = try sg.string(TFLiteSchema.SubGraph.name, what: "SubGraph.name"), !name.isEmpty {
            metadata["subgraph"] = String(name.prefix(256))
        }

        let tv = try sg.vector(TFLiteSchema.SubGraph.tensors, elementSize: 4, what: "SubGraph.tensors")
        let nTensors = tv?.count ?? 0
        guard nTensors <= Self.maxTensors else { throw fb.malformed("subgraph claims \(nTensors) tensors") }
        tensors.reserveCapacity(nTensors)
        var constants: [PendingConstant] = []
        if let tv {
            for i in 0..<nTensors {
                if let c = try readTensor(try tv.table(i, what: "Tensor \(i)"), index: i, buffers: buffers) {
                    constants.append(c)
                }
            }
        }

        inputs = try readIndexList(sg, TFLiteSchema.SubGraph.inputs, what: "SubGraph.inputs", allowOptional: false)
        outputs = try readIndexList(sg, TFLiteSchema.SubGraph.outputs, what: "SubGraph.outputs", allowOptional: false)

        let ov = try sg.vector(TFLiteSchema.SubGraph.operators, elementSize: 4, what: "SubGraph.operators")
        let nOps = ov?.count ?? 0
        guard nOps <= Self.maxOperators else { throw fb.malformed("subgraph claims \(nOps) operators") }
        operators.reserveCapacity(nOps)
        if let ov {
            for i in 0..<nOps { try readOperator(try ov.table(i, what: "Operator \(i)"), index: i, codes: codes) }
        }
        // Bulk data last: a file whose structure is broken fails before any weight is copied.
        for c in constants { try decode(c) }
    }

    /// A constant whose bytes are located and sized but not yet decoded.
    private struct PendingConstant {
        var tensor: Int
        var range: Range<Int>
        var sparsity: FBTable?
        var count: Int
    }

    private mutating func decode(_ c: PendingConstant) throws {
        let t = tensors[c.tensor]
        let denseBytes = c.count * t.dtype.byteSize
        try budget.charge(denseBytes, for: "constant \"\(t.name)\"")
        if let sparsity = c.sparsity {
            let dense = try TFLiteSparsity.densify(
                sparsity, denseShape: t.shape, elementSize: t.dtype.byteSize, values: fb.bytes[c.range],
                tensor: t.name, fb: fb)
            tensors[c.tensor].data = dense.withUnsafeBytes { decodeTensorData($0, dtype: t.dtype, count: c.count) }
            sparse[c.tensor] = true
        } else {
            tensors[c.tensor].data = fb.bytes.withUnsafeBytes {
                decodeTensorData(UnsafeRawBufferPointer(rebasing: $0[c.range]), dtype: t.dtype, count: c.count)
            }
        }
    }

    // MARK: pieces

    private struct OpCode { var code: Int; var custom: String? }

    private func readOperatorCodes(_ model: FBTable) throws -> [OpCode] {
        guard let v = try model.vector(TFLiteSchema.Model.operatorCodes, elementSize: 4, what: "Model.operator_codes")
        else { return [] }
        guard v.count <= Self.maxOperators else { throw fb.malformed("model claims \(v.count) operator codes") }
        return try (0..<v.count).map { i in
            let t = try v.table(i, what: "OperatorCode \(i)")
            let deprecated = Int(try t.i8(TFLiteSchema.OperatorCode.deprecatedBuiltinCode))
            let builtin = Int(try t.i32(TFLiteSchema.OperatorCode.builtinCode))
            let custom = try t.string(TFLiteSchema.OperatorCode.customCode, what: "OperatorCode.custom_code")
            return OpCode(code: max(deprecated, builtin), custom: custom.map { String($0.prefix(256)) })
        }
    }

    private func readIndexList(_ t: FBTable, _ id: Int, what: String, allowOptional: Bool) throws -> [Int] {
        guard let v = try t.vector(id, elementSize: 4, what: what) else { return [] }
        return try (0..<v.count).map { i in
            let x = Int(try v.i32(i))
            if allowOptional && x == -1 { return -1 }
            guard x >= 0, x < tensors.count else {
                throw fb.malformed("\(what)[\(i)] = \(x) names no tensor (the subgraph has \(tensors.count))")
            }
            return x
        }
    }

    private mutating func readMetadata(_ model: FBTable, buffers: FBVector?) throws {
        guard let v = try model.vector(TFLiteSchema.Model.metadata, elementSize: 4, what: "Model.metadata") else { return }
        var entries: [String] = []
        for i in 0..<min(v.count, 64) {
            let m = try v.table(i, what: "Metadata \(i)")
            let name = String((try m.string(TFLiteSchema.Metadata.name, what: "Metadata.name") ?? "").prefix(128))
            let buf = Int(try m.u32(TFLiteSchema.Metadata.buffer))
            let range = try bufferRange(buf, buffers: buffers, what: "metadata \"\(name)\"")
            if name == "min_runtime_version", let r = range {
                let text = String(decoding: fb.bytes[r].prefix(64).prefix { $0 != 0 }, as: UTF8.self)
                metadata["min_runtime_version"] = text
            }
            entries.append("\(name) (\(range?.count ?? 0) bytes)")
        }
        if !entries.isEmpty { metadata["tflite_metadata"] = entries.joined(separator: ", ") }
    }

    /// Byte range of buffer `index`'s data, nil when it holds none.
    private func bufferRange(_ index: Int, buffers: FBVector?, what: String) throws -> Range<Int>? {
        guard let buffers else {
            if index == 0 { return nil }
            throw fb.malformed("\(what) names buffer \(index) but the model has no buffers")
        }
        guard index >= 0, index < buffers.count else {
            throw fb.malformed("\(what) names buffer \(index), the model has \(buffers.count)")
        }
        let b = try buffers.table(index, what: "Buffer \(index)")
        if let data = try b.vector(TFLiteSchema.Buffer.data, elementSize: 1, what: "Buffer \(index) data"),
           data.count > 0 {
            return data.byteRange
        }
        // Models over 2 GiB keep data outside the flatbuffer: offset from the file start, valid when > 1.
        let offset = try b.u64(TFLiteSchema.Buffer.offset)
        let size = try b.u64(TFLiteSchema.Buffer.size)
        guard offset > 1, size > 0 else { return nil }
        guard offset < UInt64(fb.count), size <= UInt64(fb.count) - offset else {
            throw fb.malformed("Buffer \(index) points at bytes \(offset)+\(size) outside the \(fb.count)-byte file")
        }
        return Int(offset)..<Int(offset + size)
    }

    /// Reads one tensor's description; returns where its constant data is, if any.
    private mutating func readTensor(_ t: FBTable, index i: Int, buffers: FBVector?) throws -> PendingConstant? {
        let rawName = try t.vector(TFLiteSchema.Tensor.name, elementSize: 1, what: "Tensor \(i) name")
        let name = rawName.map { String(decoding: fb.bytes[$0.byteRange].prefix(1024), as: UTF8.self) } ?? "tensor_\(i)"
        try budget.charge(name.utf8.count + 64, for: "tensor names")

        let typeCode = try t.i8(TFLiteSchema.Tensor.type)
        guard let dtype = TFLiteSchema.TensorType.dtype(typeCode) else {
            throw fb.malformed("tensor \"\(name)\" has element type \(TFLiteSchema.TensorType.name(typeCode)), which vseg does not support")
        }
        var shape: [Int] = []
        if let sv = try t.vector(TFLiteSchema.Tensor.shape, elementSize: 4, what: "Tensor \(i) shape") {
            guard sv.count <= Self.maxRank else { throw fb.malformed("tensor \"\(name)\" has rank \(sv.count)") }
            shape = sv.ints()
        }
        guard let count = ShapeMath.elementCount(shape) else {
            throw EngineError.invalidShape(tensor: name, detail: "dimensions \(shape) are negative or exceed \(ShapeMath.maxElements) elements")
        }

        let quant = try readQuantization(t, name: name, rank: shape.count)
        let bufferIndex = Int(try t.u32(TFLiteSchema.Tensor.buffer))
        let range = try bufferRange(bufferIndex, buffers: buffers, what: "tensor \"\(name)\"")
        let sparsity = try t.table(TFLiteSchema.Tensor.sparsity, what: "tensor \"\(name)\" sparsity")

        var pending: PendingConstant?
        if let range {
            guard dtype != .int16 else {
                throw fb.malformed("tensor \"\(name)\" is an INT16 constant, which vseg does not support")
            }
            if sparsity == nil, range.count != count * dtype.byteSize {
                throw fb.malformed("constant \"\(name)\" holds \(range.count) bytes, its shape \(shape) of \(dtype) needs \(count * dtype.byteSize)")
            }
            pending = PendingConstant(tensor: i, range: range, sparsity: sparsity, count: count)
        } else if let sig = try t.vector(TFLiteSchema.Tensor.shapeSignature, elementSize: 4,
                                         what: "Tensor \(i) shape_signature"), sig.count == shape.count {
            for d in 0..<sig.count where try sig.i32(d) == -1 { shape[d] = -1 }
        }
        tensors.append(TensorInfo(name: name, shape: shape, dtype: dtype, quant: quant))
        sparse.append(false)
        return pending
    }

    private func readQuantization(_ t: FBTable, name: String, rank: Int) throws -> QuantParams? {
        guard let q = try t.table(TFLiteSchema.Tensor.quantization, what: "tensor \"\(name)\" quantization") else {
            return nil
        }
        guard let sv = try q.vector(TFLiteSchema.Quantization.scale, elementSize: 4, what: "\"\(name)\" scale"),
              sv.count > 0 else { return nil }
        let scale = sv.floats()
        var zeroPoint = try q.vector(TFLiteSchema.Quantization.zeroPoint, elementSize: 8,
                                     what: "\"\(name)\" zero_point")?.int64s() ?? []
        if zeroPoint.isEmpty { zeroPoint = Array(repeating: 0, count: scale.count) }
        guard zeroPoint.count == scale.count else {
            throw fb.malformed("tensor \"\(name)\" has \(scale.count) quantization scales but \(zeroPoint.count) zero points")
        }
        let axis = Int(try q.i32(TFLiteSchema.Quantization.quantizedDimension))
        guard scale.count == 1 || (axis >= 0 && axis < rank) else {
            throw fb.malformed("tensor \"\(name)\" is quantized along axis \(axis) but has rank \(rank)")
        }
        return QuantParams(scale: scale, zeroPoint: zeroPoint, axis: axis)
    }

    private mutating func readOperator(_ o: FBTable, index i: Int, codes: [OpCode]) throws {
        let opcodeIndex = Int(try o.u32(TFLiteSchema.Operator.opcodeIndex))
        guard opcodeIndex < codes.count else {
            throw fb.malformed("operator \(i) uses opcode \(opcodeIndex), the model defines \(codes.count)")
        }
        let code = codes[opcodeIndex]
        let ins = try readIndexList(o, TFLiteSchema.Operator.inputs, what: "Operator \(i) inputs", allowOptional: true)
        let outs = try readIndexList(o, TFLiteSchema.Operator.outputs, what: "Operator \(i) outputs", allowOptional: false)
        let optionsType = try o.u8(TFLiteSchema.Operator.builtinOptionsType)
        let options = try o.table(TFLiteSchema.Operator.builtinOptions, what: "Operator \(i) builtin_options")
        var custom: [UInt8] = []
        if let v = try o.vector(TFLiteSchema.Operator.customOptions, elementSize: 1, what: "Operator \(i) custom_options") {
            custom = Array(fb.bytes[v.byteRange].prefix(1 << 16))
        }
        var op = TFLiteRawOperator(index: i, code: code.code, customCode: code.custom, inputs: ins, outputs: outs,
                                   optionsType: optionsType, options: options, customOptions: custom)
        if op.code != TFLiteSchema.Op.custom { op.customCode = nil }
        operators.append(op)
    }
}

/// Decodes `count` little-endian elements of `dtype` from raw bytes.
func decodeTensorData(_ src: UnsafeRawBufferPointer, dtype: DType, count: Int) -> TensorData {
    func copy<T>(_: T.Type) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buf, initialized in
            guard count > 0, let dst = buf.baseAddress else { initialized = 0; return }
            let n = min(count, src.count / MemoryLayout<T>.stride)
            if n > 0, let base = src.baseAddress {
                UnsafeMutableRawPointer(dst).copyMemory(from: base, byteCount: n * MemoryLayout<T>.stride)
            }
            // Callers size `src` exactly; zero-fill defensively if it were short.
            if n < count {
                UnsafeMutableRawPointer(dst + n).initializeMemory(as: UInt8.self, repeating: 0,
                                                                  count: (count - n) * MemoryLayout<T>.stride)
            }
            initialized = count
        }
    }
    #if _endian(big)
    #error("the TFLite importer assumes a little-endian host")
    #endif
    switch dtype {
    case .float32: return .float32(copy(Float.self))
    case .float16: return .float16(copy(UInt16.self))
    case .int32: return .int32(copy(Int32.self))
    case .int64: return .int64(copy(Int64.self))
    case .int8: return .int8(copy(Int8.self))
    case .uint8, .int16: return .uint8(copy(UInt8.self))
    case .bool: return .bool(copy(UInt8.self).map { $0 != 0 })
    }
}
