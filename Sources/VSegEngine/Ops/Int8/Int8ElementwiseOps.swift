/// INT8 definitions of the non-convolution ops (owned by the elementwise work;
/// see Int8Ops.swift for the contract). Ops without an entry stay FP32.
enum Int8ElementwiseOps {
    static func definition(for op: Op) -> Int8OpDefinition.Type? {
        switch op {
        default: return nil
        }
    }
}
