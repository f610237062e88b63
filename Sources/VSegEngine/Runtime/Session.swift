#if canImport(Glibc)
import Glibc
#endif
import VSegCore

/// Time spent in one node across `run()` calls (when profiling).
public struct LayerTiming: Sendable, Codable {
    public var name: String
    public var op: String
    public var totalNanoseconds: UInt64
    public var calls: Int
    public var meanMicroseconds: Double { calls > 0 ? Double(totalNanoseconds) / Double(calls) / 1000 : 0 }
}

/// Arithmetic a session runs in.
public enum Precision: Sendable {
    /// Float32 throughout, every activation fused where possible.
    case fp32
    /// Float32 with only clamp activations fused, so every tensor the INT8 graph
    /// quantizes exists and `runObserving` sees it (calibration, sensitivity).
    case fp32Calibration
    /// INT8 (QuantScheme.swift) with these per-tensor parameters, keyed by
    /// `Session.tensorKey` names; see `QuantizationPass`.
    case int8([String: TensorQuantization])
    /// `fp32Calibration` with the table's channel equalization applied: the float
    /// twin of `.int8(table)`, tensor for tensor (what bias correction measures
    /// the INT8 error against).
    case fp32Equalized([String: TensorQuantization])
}

/// A model prepared for one set of input shapes: graph optimized, memory
/// planned, weights packed, kernels bound to their buffers. `run()` executes
/// the nodes in order and allocates nothing. Shapes are in the internal layout
/// (NHWC for rank 4); `graph.inputs/outputs[i].toSourceLayout` maps to the file's.
/// Not thread-safe: one session per thread.
public final class Session {
    public let model: Model
    /// The optimized graph this session runs.
    public private(set) var graph: Graph
    /// What the load-time passes did.
    public private(set) var passReport = PassPipeline.Report()
    /// What the INT8 pass did (nil for FP32 sessions).
    public private(set) var quantizationReport: QuantizationPass.Report?
    public let precision: Precision
    private let pool: ThreadPool
    private let profile: Bool
    /// `tensorKey` of every graph tensor (for observers).
    private var keys: [String] = []
    private var plan: MemoryPlan
    private var arena: UnsafeMutableRawPointer
    private var constBuffers: [Int: UnsafeMutableRawPointer] = [:]
    private var prepared: [PreparedOp] = []
    private var timings: UnsafeMutablePointer<UInt64>
    private var calls = 0
    /// Every op runs its plain-loop twin (equivalence tests).
    let referenceOps: Bool

    /// `threads` <= 0: one per core.
    public convenience init(model: Model, threads: Int = 0, profile: Bool = false, precision: Precision = .fp32) throws {
        try self.init(model: model, threads: threads, profile: profile, referenceOps: false, precision: precision)
    }

    init(model: Model, threads: Int, profile: Bool, referenceOps: Bool, precision: Precision = .fp32) throws {
        self.model = model
        self.precision = precision
        self.profile = profile
        self.referenceOps = referenceOps
        pool = ThreadPool(threads: threads)
        var shapes = model.sourceGraph.inputs.map { model.sourceGraph.tensors[$0.tensor].shape }
        // An unknown batch means 1; other unknown dims need `reshape(inputShapes:)` or Model.load's inputShapes.
        if model.graph.inputs.allSatisfy({ !model.graph.tensors[$0.tensor].shape.contains(-1) }) {
            shapes = model.graph.inputs.map { model.graph.tensors[$0.tensor].shape }
        } else {
            shapes = shapes.map { s in s.enumerated().map { $0.offset == 0 && $0.element < 0 ? 1 : $0.element } }
        }
        (graph, passReport, quantizationReport) = try Self.optimize(model.sourceGraph, shapes, precision)
        keys = Self.tensorKeys(graph)
        plan = MemoryPlan(graph: graph)
        arena = .allocate(byteCount: max(plan.arenaBytes, 64), alignment: MemoryPlan.alignment)
        timings = .allocate(capacity: 1)
        try prepare()
    }

    deinit {
        release()
        timings.deallocate()
    }

    private func release() {
        prepared = []
        arena.deallocate()
        for (_, p) in constBuffers { p.deallocate() }
        constBuffers = [:]
    }

    /// Re-plans for new input shapes (internal layout, one per input).
    public func reshape(inputShapes: [[Int]]) throws {
        let (g, r, q) = try Self.optimize(model.sourceGraph, inputShapes, precision)
        release()
        graph = g; passReport = r; quantizationReport = q
        keys = Self.tensorKeys(graph)
        plan = MemoryPlan(graph: graph)
        arena = .allocate(byteCount: max(plan.arenaBytes, 64), alignment: MemoryPlan.alignment)
        try prepare()
    }

    private static func optimize(_ source: Graph, _ shapes: [[Int]], _ precision: Precision) throws
        -> (Graph, PassPipeline.Report, QuantizationPass.Report?) {
        switch precision {
        case .fp32:
            let (g, r) = try PassPipeline.run(source, inputShapes: shapes)
            return (g, r, nil)
        case .fp32Calibration:
            let (g, r) = try PassPipeline.run(source, inputShapes: shapes, clampsOnly: true)
            return (g, r, nil)
        case let .int8(table):
            let (g, r) = try PassPipeline.run(source, inputShapes: shapes, clampsOnly: true)
            let (q, qr) = try QuantizationPass.run(try ChannelEqualization.apply(g, table: table), table: table)
            return (q, r, qr)
        case let .fp32Equalized(table):
            let (g, r) = try PassPipeline.run(source, inputShapes: shapes, clampsOnly: true)
            return (try ChannelEqualization.apply(g, table: table), r, nil)
        }
    }

    /// The name calibration tables use for each tensor: the tensor's name, or
    /// `name#index` when several tensors share it (or it is empty).
    public static func tensorKeys(_ g: Graph) -> [String] {
        var seen: [String: Int] = [:]
        for t in g.tensors { seen[t.name, default: 0] += 1 }
        return g.tensors.enumerated().map { i, t in
            t.name.isEmpty || seen[t.name, default: 0] > 1 ? "\(t.name)#\(i)" : t.name
        }
    }

    /// Whether a node runs its INT8 definition: its first input is a uint8 activation.
    static func runsInt8(_ node: Node, _ g: Graph) -> Bool {
        switch node.op {
        case .quantize, .dequantize: return false
        default:
            guard let t = node.inputs.first, t >= 0 else { return false }
            return g.tensors[t].dtype == .uint8 && !g.tensors[t].isConstant
        }
    }

    private func pointer(_ t: Int) -> UnsafeMutableRawPointer? {
        if t < 0 { return nil }
        if let s = plan.storageOf[t] { return arena + plan.storages[s].offset }
        if let p = constBuffers[t] { return p }
        guard let d = graph.tensors[t].data else { return nil }
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(d.count * d.dtype.byteSize, 64), alignment: MemoryPlan.alignment)
        RawElements.write(d, to: p)
        constBuffers[t] = p
        return p
    }

    /// Conv weights and biases are packed from the constant data; no raw buffer needed.
    private static func readsOnlyAtPrepare(_ op: Op, input k: Int) -> Bool {
        switch op {
        case .conv2D, .depthwiseConv2D, .transposeConv2D: return k >= 1
        default: return false
        }
    }

    private func prepare() throws {
        var ops: [PreparedOp] = []
        ops.reserveCapacity(graph.nodes.count)
        for node in graph.nodes {
            let ic = ShapeInference.inferContext(node, graph)
            var inPtr: [UnsafeMutableRawPointer?] = []
            for (k, t) in node.inputs.enumerated() {
                inPtr.append(Self.readsOnlyAtPrepare(node.op, input: k) ? nil : pointer(t))
            }
            let outs = node.outputs.map { TensorMeta(shape: graph.tensors[$0].shape, dtype: graph.tensors[$0].dtype) }
            let pc = PrepareContext(node: node, inputs: ic.inputs, outputs: outs, constants: ic.constants,
                                    inPtr: inPtr, outPtr: node.outputs.map { pointer($0)! },
                                    threads: pool.threadCount, reference: referenceOps)
            pc.inputQuant = ic.inputQuant
            pc.outputQuant = ic.outputQuant
            if Self.runsInt8(node, graph) {
                guard let def = Int8OpRegistry.definition(for: node.op) else {
                    throw EngineError.invalidOp(node: node.name, detail: "\(node.op.name) has no INT8 implementation")
                }
                ops.append(try def.prepare(pc))
            } else {
                ops.append(try OpRegistry.definition(for: node.op).prepare(pc))
            }
        }
        for io in graph.outputs { _ = pointer(io.tensor) }
        prepared = ops
        timings.deallocate()
        timings = .allocate(capacity: max(ops.count, 1))
        timings.initialize(repeating: 0, count: max(ops.count, 1))
        calls = 0
    }

    // MARK: running

    /// Runs the model once on the current input buffers. No heap allocation.
    public func run() throws {
        if !profile {
            for op in prepared { op.run(pool) }
            return
        }
        var t0 = Self.now()
        for (i, op) in prepared.enumerated() {
            op.run(pool)
            let t1 = Self.now()
            timings[i] &+= t1 &- t0
            t0 = t1
        }
        calls += 1
    }

    /// Runs the model once and hands every float32 activation to `body` right
    /// after it is computed (graph inputs first), under its `tensorKey` name.
    /// uint8 activations of an INT8 session are reported dequantized (for
    /// per-layer error analysis). For calibration and debugging: allocates.
    /// Buffers are only valid inside `body`.
    ///
    /// With `only`, just those keys are reported and the run stops after the
    /// node producing the last of them (later nodes do not run, so the outputs
    /// are stale): for measuring one layer many times.
    public func runObserving(only: Set<String>? = nil, _ body: (_ tensor: String, _ values: UnsafeBufferPointer<Float>) -> Void) {
        var scratch: [Float] = []
        var remaining = only?.count ?? -1
        func report(_ t: Int) {
            let info = graph.tensors[t]
            guard !info.isConstant, let p = pointer(t) else { return }
            if let only {
                guard only.contains(keys[t]) else { return }
                remaining -= 1
            }
            let n = info.shape.reduce(1, *)
            if info.dtype == .float32 {
                body(keys[t], UnsafeBufferPointer(start: p.assumingMemoryBound(to: Float.self), count: n))
            } else if info.dtype == .uint8, let q = info.quant, q.scale.count == 1, let zp = q.zeroPoint.first {
                let u = p.assumingMemoryBound(to: UInt8.self)
                scratch = (0..<n).map { q.scale[0] * Float(Int32(u[$0]) - Int32(zp)) }
                scratch.withUnsafeBufferPointer { body(keys[t], $0) }
            }
        }
        for io in graph.inputs { report(io.tensor) }
        for (i, op) in prepared.enumerated() {
            if remaining == 0 { return }
            op.run(pool)
            for t in graph.nodes[i].outputs { report(t) }
        }
    }

    /// `tensorKey` names of the float32 activations `runObserving` reports, in order.
    public var observedTensorNames: [String] {
        var out: [String] = []
        func add(_ t: Int) { if graph.tensors[t].dtype == .float32 && !graph.tensors[t].isConstant { out.append(keys[t]) } }
        for io in graph.inputs { add(io.tensor) }
        for n in graph.nodes { for t in n.outputs { add(t) } }
        return out
    }

    @inline(__always)
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    // MARK: inputs and outputs

    public var inputCount: Int { graph.inputs.count }
    public func inputShape(_ i: Int) -> [Int] { graph.tensors[graph.inputs[i].tensor].shape }
    public func inputDType(_ i: Int) -> DType { graph.tensors[graph.inputs[i].tensor].dtype }

    /// Copies one sample (one array per graph input, each exactly the input's
    /// size) into the input buffers. For calibration and analysis code that
    /// keeps samples as arrays; allocation-free callers fill `input(_:)` directly.
    public func setInputs(_ sample: [[Float]]) {
        precondition(sample.count == inputCount, "one array per graph input: got \(sample.count), the model has \(inputCount)")
        for (i, values) in sample.enumerated() {
            let dst = input(i)
            precondition(dst.count == values.count, "sample input \(i) has \(values.count) values, the model takes \(dst.count)")
            _ = dst.update(fromContentsOf: values)
        }
    }

    /// The buffer to fill before `run()` (float32 inputs). Fill it before every
    /// run: the planner may reuse an input's memory for later tensors once the
    /// input has been read, so after `run()` it can hold other values.
    public func input(_ i: Int) -> UnsafeMutableBufferPointer<Float> {
        let t = graph.inputs[i].tensor
        let n = graph.tensors[t].shape.reduce(1, *)
        guard let p = pointer(t) else { preconditionFailure("input \(i) has no buffer") }
        return UnsafeMutableBufferPointer(start: p.assumingMemoryBound(to: Float.self), count: n)
    }

    public var outputCount: Int { graph.outputs.count }
    public func outputShape(_ i: Int) -> [Int] { graph.tensors[graph.outputs[i].tensor].shape }
    public func outputDType(_ i: Int) -> DType { graph.tensors[graph.outputs[i].tensor].dtype }

    /// A float32 output after `run()`. Valid until the next `run()`/`reshape`.
    public func output(_ i: Int) -> UnsafeBufferPointer<Float> {
        precondition(outputDType(i) == .float32, "output \(i) is \(outputDType(i)); use outputRaw")
        let raw = outputRaw(i)
        return UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: Float.self), count: raw.count / 4)
    }

    public func outputRaw(_ i: Int) -> UnsafeRawBufferPointer {
        let t = graph.outputs[i].tensor
        let bytes = graph.tensors[t].shape.reduce(1, *) * graph.tensors[t].dtype.byteSize
        guard let p = constBuffers[t] ?? plan.storageOf[t].map({ arena + plan.storages[$0].offset }) else {
            preconditionFailure("output \(i) has no buffer")
        }
        return UnsafeRawBufferPointer(start: p, count: bytes)
    }

    /// High-water mark of the activation arena, in bytes.
    public var peakActivationBytes: Int { plan.arenaBytes }
    /// Activation bytes if no buffer were reused.
    public var unsharedActivationBytes: Int { plan.unsharedBytes }
    /// Threads `run()` uses.
    public var threadCount: Int { pool.threadCount }

    /// Per-node timings since the session was prepared (profile: true).
    public var layerProfile: [LayerTiming] {
        graph.nodes.enumerated().map { i, n in
            LayerTiming(name: n.name, op: Self.profileName(n.op), totalNanoseconds: timings[i], calls: calls)
        }
    }

    static func profileName(_ op: Op) -> String {
        switch op {
        case let .conv2D(a) where !a.activation.isIdentity: return "Conv2D+\(a.activation.name)"
        case let .depthwiseConv2D(a, _) where !a.activation.isIdentity: return "DepthwiseConv2D+\(a.activation.name)"
        case let .transposeConv2D(a, _) where !a.activation.isIdentity: return "TransposeConv2D+\(a.activation.name)"
        case let .binary(_, a) where !a.isIdentity: return op.name + "+" + a.name
        default: return op.name
        }
    }
}
