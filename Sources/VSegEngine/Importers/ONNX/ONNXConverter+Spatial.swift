import VSegCore

/// Pools, reductions, Resize/Upsample, Concat, Pad, Softmax, ArgMax, DepthToSpace:
/// ops whose axes move when NCHW becomes NHWC.
extension ONNXConverter {
    func convertPool(_ n: ONNXNode) throws {
        if n.opType == "MaxPool", isUsed(n, 1) { throw invalid("MaxPool's indices output is not supported") }
        let x = try required(n, 0)
        let xs = logicalShape(x)
        guard xs.count == 4 else { throw invalid("only 2-D pooling is supported (input \(xs))") }
        let a = try spatialAttrs(n, kernel: nil)
        if n.opType == "AveragePool", a.dilation != (1, 1) { throw invalid("dilated AveragePool is not supported") }
        let ceil = n.int("ceil_mode", 0) != 0
        let attrs = PoolAttrs(kind: n.opType == "MaxPool" ? .max : .average, kernel: a.kernel, stride: a.stride,
                              dilation: a.dilation, padding: try padding(a),
                              countIncludePad: n.int("count_include_pad", 0) != 0, ceilMode: ceil)
        let oh = try convOut(xs[2], k: a.kernel.0, s: a.stride.0, d: a.dilation.0, before: a.pads.top, after: a.pads.bottom,
                             auto: a.autoPad, ceil: ceil)
        let ow = try convOut(xs[3], k: a.kernel.1, s: a.stride.1, d: a.dilation.1, before: a.pads.left, after: a.pads.right,
                             auto: a.autoPad, ceil: ceil)
        let y = try emit(.pool(attrs), [try nhwc(x)], [xs[0], oh, ow, xs[1]], dtype(x), outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: true))
    }

    func convertGlobalPool(_ n: ONNXNode) throws {
        let x = try required(n, 0)
        let xs = logicalShape(x)
        guard xs.count == 4 else { throw invalid("global pooling expects a rank-4 input, got \(xs)") }
        let kind: ReduceKind = n.opType == "GlobalMaxPool" ? .max : .mean
        let y = try emit(.reduce(kind, axes: [1, 2], keepDims: true), [try nhwc(x)], [xs[0], 1, 1, xs[1]], dtype(x), outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: true))
    }

    func convertReduce(_ n: ONNXNode) throws {
        let x = try required(n, 0)
        let xs = logicalShape(x)
        let kind: ReduceKind = n.opType == "ReduceMax" ? .max : n.opType == "ReduceSum" ? .sum : .mean
        let keep = n.int("keepdims", 1) != 0
        var axes: [Int]
        if let a = n.ints("axes") {
            axes = a
        } else if let v = try input(n, 1) {
            guard let a = constInts(v) else { throw invalid("\(n.opType) axes must be constant") }
            axes = a
        } else {
            axes = []
        }
        if axes.isEmpty {
            if n.int("noop_with_empty_axes", 0) != 0 { try define(n, 0, x); return }
            axes = Array(0..<xs.count)
        }
        axes = try Set(axes.map { try axis($0, rank: xs.count) }).sorted()
        var outLogical = xs
        for a in axes.reversed() { if keep { outLogical[a] = 1 } else { outLogical.remove(at: a) } }
        if x.nhwc && keep {
            let y = try emit(.reduce(kind, axes: axes.map { ONNXLayout.axisToNHWC[$0] }.sorted(), keepDims: true), [x.tensor],
                             ONNXLayout.toNHWC.map { outLogical[$0] }, dtype(x), outName(n))
            try define(n, 0, ONNXValue(tensor: y, nhwc: true))
            return
        }
        let y = try emit(.reduce(kind, axes: axes, keepDims: keep), [try plain(x)], outLogical, dtype(x), outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: false))
    }

    func convertResize(_ n: ONNXNode) throws {
        let x = try required(n, 0)
        let xs = logicalShape(x)
        guard xs.count == 4 else { throw invalid("\(n.opType) supports rank-4 inputs only, got \(xs)") }
        let isUpsample = n.opType == "Upsample"
        var modeName = n.string("mode", "nearest")
        if modeName == "bilinear" { modeName = "linear" }
        guard let mode = ResizeAttrs.Mode(rawValue: modeName) else { throw invalid("\(n.opType) mode '\(modeName)' is not supported (nearest, linear)") }
        var coord: ResizeAttrs.CoordinateTransform = .asymmetric
        var rounding: ResizeAttrs.NearestRounding = .floor
        var scales: [Float]?
        var sizes: [Int]?
        var dynamicSizes: ONNXValue?
        if isUpsample || opset < 11 {
            if let s = n.floats("scales") {
                scales = s
            } else {
                guard let f = constFloats(try required(n, 1)) else { throw invalid("\(n.opType) scales must be constant") }
                scales = f
            }
            // ONNX Upsample / Resize-10: asymmetric coordinates; onnxruntime rounds nearest down when upsampling.
            if let s = scales, s.count == 4, s[2] < 1 || s[3] < 1 { rounding = .ceil }
        } else {
            let coordName = n.string("coordinate_transformation_mode", "half_pixel")
            let coords: [String: ResizeAttrs.CoordinateTransform] = [
                "asymmetric": .asymmetric, "half_pixel": .halfPixel, "pytorch_half_pixel": .pytorchHalfPixel,
                "align_corners": .alignCorners, "tf_half_pixel_for_nn": .tfHalfPixelForNN,
            ]
            guard let c = coords[coordName] else { throw invalid("coordinate_transformation_mode '\(coordName)' is not supported") }
            coord = c
            let roundings: [String: ResizeAttrs.NearestRounding] = [
                "round_prefer_floor": .roundPreferFloor, "round_prefer_ceil": .roundPreferCeil, "floor": .floor, "ceil": .ceil,
            ]
            let nm = n.string("nearest_mode", "round_prefer_floor")
            guard let r = roundings[nm] else { throw invalid("nearest_mode '\(nm)' is not supported") }
            rounding = r
            if n.int("antialias", 0) != 0 { throw invalid("Resize antialias is not supported") }
            if n.string("keep_aspect_ratio_policy", "stretch") != "stretch" { throw invalid("keep_aspect_ratio_policy other than stretch is not supported") }
            if let v = try input(n, 2) {
                guard let f = constFloats(v) else { throw invalid("Resize scales must be constant") }
                if !f.isEmpty { scales = f }
            }
            if let v = try input(n, 3) {
                if let s = constInts(v) {
                    if !s.isEmpty { sizes = s }
                } else {
                    dynamicSizes = v
                }
            }
            if let axes = n.ints("axes") {
                let ax = try axes.map { try axis($0, rank: 4) }
                if let s = scales {
                    guard s.count == ax.count else { throw invalid("Resize scales do not match axes") }
                    var full: [Float] = [1, 1, 1, 1]; for (i, a) in ax.enumerated() { full[a] = s[i] }; scales = full
                }
                if let s = sizes {
                    guard s.count == ax.count else { throw invalid("Resize sizes do not match axes") }
                    var full = xs; for (i, a) in ax.enumerated() { full[a] = s[i] }; sizes = full
                }
            }
        }
        var attrs = ResizeAttrs(mode: mode, coordinate: coord, nearest: rounding)
        var outH = -1, outW = -1
        if let s = sizes {
            guard s.count == 4 else { throw invalid("Resize sizes \(s) must have 4 values") }
            guard (xs[0] == -1 || s[0] == xs[0]) && (xs[1] == -1 || s[1] == xs[1]) else { throw invalid("Resize may only change H and W (sizes \(s), input \(xs))") }
            guard s[2] >= 1, s[3] >= 1, ShapeMath.elementCount([s[2], s[3]]) != nil else { throw invalid("Resize sizes \(s) out of range") }
            outH = s[2]; outW = s[3]
            attrs.outputSize = (outH, outW)
        } else if let s = scales {
            guard s.count == 4 else { throw invalid("Resize scales \(s) must have 4 values") }
            guard s[0] == 1, s[1] == 1 else { throw invalid("Resize may only scale H and W (scales \(s))") }
            guard s[2].isFinite, s[3].isFinite, s[2] > 0, s[3] > 0, s[2] < 65536, s[3] < 65536 else { throw invalid("Resize scales \(s) out of range") }
            attrs.scales = (s[2], s[3])
            if xs[2] >= 0 && xs[3] >= 0 {
                outH = Int((Float(xs[2]) * s[2]).rounded(.down)); outW = Int((Float(xs[3]) * s[3]).rounded(.down))
                guard outH >= 1, outW >= 1 else { throw invalid("Resize output would be empty") }
            }
        } else if dynamicSizes == nil {
            throw invalid("Resize needs scales or sizes")
        }
        var inputs = [try nhwc(x)]
        if let ds = dynamicSizes {
            // runtime sizes come in NCHW order; hand the executor [outH, outW]
            let idx = try constant(outName(n) + "/hw_index", [2], .int64([2, 3]))
            inputs.append(try emit(.gather(axis: 0), [try plain(ds), idx], [2], .int64, outName(n) + "/hw"))
        }
        let y = try emit(.resize(attrs), inputs, [xs[0], outH, outW, xs[1]], dtype(x), outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: true))
    }

    func convertConcat(_ n: ONNXNode) throws {
        var parts: [ONNXValue] = []
        for i in 0..<n.inputs.count { if let v = try input(n, i) { parts.append(v) } }
        guard let first = parts.first else { throw invalid("Concat without inputs") }
        let rank = logicalShape(first).count
        let ax = try axis(n.int("axis", 0), rank: rank)
        var outLogical = logicalShape(first)
        for p in parts.dropFirst() {
            let s = logicalShape(p)
            guard s.count == rank else { throw invalid("Concat inputs differ in rank") }
            for d in 0..<rank where d != ax && s[d] != outLogical[d] {
                if outLogical[d] == -1 { outLogical[d] = s[d] } else if s[d] != -1 { throw invalid("Concat inputs differ in dim \(d)") }
            }
            outLogical[ax] = outLogical[ax] < 0 || s[ax] < 0 ? -1 : outLogical[ax] + s[ax]
        }
        if rank == 4 && parts.contains(where: { $0.nhwc }) {
            let ins = try parts.map { try nhwc($0) }
            let y = try emit(.concat(axis: ONNXLayout.axisToNHWC[ax]), ins, ONNXLayout.toNHWC.map { outLogical[$0] }, dtype(first), outName(n))
            try define(n, 0, ONNXValue(tensor: y, nhwc: true))
            return
        }
        let y = try emit(.concat(axis: ax), try parts.map { try plain($0) }, outLogical, dtype(first), outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: false))
    }

    func convertPad(_ n: ONNXNode) throws {
        let x = try required(n, 0)
        let xs = logicalShape(x)
        let rank = xs.count
        let modeName = n.string("mode", "constant")
        guard let mode = PadMode(rawValue: modeName) else { throw invalid("Pad mode '\(modeName)' is not supported (constant, reflect, edge)") }
        var pads: [Int]
        var value: Float = 0
        if opset < 11 {
            guard let p = n.ints("pads") else { throw invalid("Pad needs pads") }
            pads = p
            value = n.float("value", 0)
        } else {
            guard let p = constInts(try required(n, 1)) else { throw invalid("Pad pads must be constant") }
            pads = p
            if let v = try input(n, 2) {
                guard let f = constFloats(v), f.count <= 1 else { throw invalid("Pad constant_value must be a constant scalar") }
                value = f.first ?? 0
            }
            if let av = try input(n, 3) {
                guard let axes = constInts(av), pads.count == 2 * axes.count else { throw invalid("Pad axes must be constant and match pads") }
                var full = [Int](repeating: 0, count: 2 * rank)
                for (i, a) in axes.enumerated() {
                    let r = try axis(a, rank: rank)
                    full[r] = pads[i]; full[rank + r] = pads[axes.count + i]
                }
                pads = full
            }
        }
        guard pads.count == 2 * rank else { throw invalid("Pad pads \(pads) must have \(2 * rank) values") }
        guard pads.allSatisfy({ $0 >= 0 && $0 < 1 << 20 }) else { throw invalid("Pad pads \(pads): negative or huge padding is not supported") }
        var outLogical = xs
        for d in 0..<rank where xs[d] >= 0 {
            outLogical[d] = xs[d] + pads[d] + pads[rank + d]
            if mode == .reflect, pads[d] >= xs[d] || pads[rank + d] >= xs[d], pads[d] + pads[rank + d] > 0 {
                throw invalid("reflect padding \(pads) is not smaller than the input \(xs)")
            }
        }
        let holdNHWC = x.nhwc && rank == 4
        let order = holdNHWC ? ONNXLayout.toNHWC : Array(0..<rank)
        var table: [Int64] = []
        for d in order { table.append(Int64(pads[d])); table.append(Int64(pads[rank + d])) }
        let padsT = try constant(outName(n) + "/pads", [rank, 2], .int64(table))
        let valueT = try constant(outName(n) + "/value", [], .float32([value]))
        let xt = holdNHWC ? x.tensor : try plain(x)
        let y = try emit(.pad(mode), [xt, padsT, valueT], order.map { outLogical[$0] }, dtype(x), outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: holdNHWC))
    }

    func convertSoftmax(_ n: ONNXNode) throws {
        let x = try required(n, 0)
        let xs = logicalShape(x)
        let ax = try axis(n.int("axis", opset < 13 ? 1 : -1), rank: xs.count)
        if opset >= 13 || ax == xs.count - 1 {
            if x.nhwc {
                let y = try emit(.softmax(axis: ONNXLayout.axisToNHWC[ax]), [x.tensor], shape(x), dtype(x), outName(n))
                try define(n, 0, ONNXValue(tensor: y, nhwc: true))
            } else {
                let y = try emit(.softmax(axis: ax), [x.tensor], xs, dtype(x), outName(n))
                try define(n, 0, ONNXValue(tensor: y, nhwc: false))
            }
            return
        }
        // opset < 13: softmax over the flattened [axis...] block
        guard xs.allSatisfy({ $0 >= 0 }) else { throw invalid("Softmax-\(opset) over several axes needs a known input shape") }
        let outer = xs[..<ax].reduce(1, *), inner = xs[ax...].reduce(1, *)
        let base = outName(n)
        let r = try emit(.reshape(newShape: [outer, inner]), [try plain(x)], [outer, inner], dtype(x), base + "/2d")
        let s = try emit(.softmax(axis: 1), [r], [outer, inner], dtype(x), base + "/softmax")
        let y = try emit(.reshape(newShape: xs), [s], xs, dtype(x), base)
        try define(n, 0, ONNXValue(tensor: y, nhwc: false))
    }

    func convertArgMax(_ n: ONNXNode) throws {
        let x = try required(n, 0)
        let xs = logicalShape(x)
        let ax = try axis(n.int("axis", 0), rank: xs.count)
        let keep = n.int("keepdims", 1) != 0
        let last = n.int("select_last_index", 0) != 0
        var outLogical = xs
        if keep { outLogical[ax] = 1 } else { outLogical.remove(at: ax) }
        if x.nhwc && (keep || ax == 1) {
            let y = try emit(.argMax(axis: ONNXLayout.axisToNHWC[ax], keepDims: keep, selectLastIndex: last), [x.tensor],
                             keep ? ONNXLayout.toNHWC.map { outLogical[$0] } : outLogical, .int64, outName(n))
            try define(n, 0, ONNXValue(tensor: y, nhwc: keep))
            return
        }
        let y = try emit(.argMax(axis: ax, keepDims: keep, selectLastIndex: last), [try plain(x)], outLogical, .int64, outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: false))
    }

    func convertDepthToSpace(_ n: ONNXNode) throws {
        let x = try required(n, 0)
        let xs = logicalShape(x)
        guard xs.count == 4 else { throw invalid("DepthToSpace expects rank 4, got \(xs)") }
        let b = n.int("blocksize", 0)
        guard b >= 1, b < 1 << 10, xs[1] == -1 || xs[1] % (b * b) == 0 else { throw invalid("blocksize \(b) does not divide channels \(xs[1])") }
        let dcr = n.string("mode", "DCR") == "DCR"
        let out = [xs[0], xs[2] < 0 ? -1 : xs[2] * b, xs[3] < 0 ? -1 : xs[3] * b, xs[1] < 0 ? -1 : xs[1] / (b * b)]
        let y = try emit(.depthToSpace(blockSize: b, dcr: dcr), [try nhwc(x)], out, dtype(x), outName(n))
        try define(n, 0, ONNXValue(tensor: y, nhwc: true))
    }
}
