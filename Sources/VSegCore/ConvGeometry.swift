/// Geometry of one NHWC convolution, shared by the executor and the per-ISA
/// kernel modules. All sizes are already resolved (explicit padding).
public struct ConvGeometry: Sendable, Equatable {
    public var batch: Int
    public var inH: Int, inW: Int, inC: Int
    public var outH: Int, outW: Int, outC: Int
    public var kH: Int, kW: Int
    public var strideH: Int, strideW: Int
    public var dilationH: Int, dilationW: Int
    public var padTop: Int, padLeft: Int
    /// 1 for dense conv; inC for depthwise.
    public var groups: Int
    /// Fused clamp applied to the output (relu: 0...inf, relu6: 0...6).
    public var outMin: Float, outMax: Float

    public init(batch: Int = 1, inH: Int, inW: Int, inC: Int, outH: Int, outW: Int, outC: Int,
                kH: Int, kW: Int, strideH: Int = 1, strideW: Int = 1, dilationH: Int = 1, dilationW: Int = 1,
                padTop: Int = 0, padLeft: Int = 0, groups: Int = 1,
                outMin: Float = -.infinity, outMax: Float = .infinity) {
        self.batch = batch; self.inH = inH; self.inW = inW; self.inC = inC
        self.outH = outH; self.outW = outW; self.outC = outC; self.kH = kH; self.kW = kW
        self.strideH = strideH; self.strideW = strideW; self.dilationH = dilationH; self.dilationW = dilationW
        self.padTop = padTop; self.padLeft = padLeft; self.groups = groups
        self.outMin = outMin; self.outMax = outMax
    }
}
