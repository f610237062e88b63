/// Facts from TFLite's schema.fbs (schema version 3) that the importer needs:
/// field ids per table, enum values and the builtin operator names.
enum TFLiteSchema {
    static let fileIdentifier: [UInt8] = Array("TFL3".utf8)
    static let schemaVersion: UInt32 = 3

    enum Model { static let version = 0, operatorCodes = 1, subgraphs = 2, description = 3, buffers = 4,
                 metadata = 6 }
    enum OperatorCode { static let deprecatedBuiltinCode = 0, customCode = 1, version = 2, builtinCode = 3 }
    enum SubGraph { static let tensors = 0, inputs = 1, outputs = 2, operators = 3, name = 4 }
    enum Tensor { static let shape = 0, type = 1, buffer = 2, name = 3, quantization = 4, isVariable = 5,
                  sparsity = 6, shapeSignature = 7 }
    enum Quantization { static let min = 0, max = 1, scale = 2, zeroPoint = 3, detailsType = 4,
                        quantizedDimension = 6 }
    enum Sparsity { static let traversalOrder = 0, blockMap = 1, dimMetadata = 2 }
    enum DimensionMetadata { static let format = 0, denseSize = 1, segmentsType = 2, segments = 3,
                             indicesType = 4, indices = 5 }
    /// Int32Vector / Uint16Vector / Uint8Vector all hold `values` at field 0.
    enum IndexVector { static let values = 0, int32 = 1, uint16 = 2, uint8 = 3 }
    enum Operator { static let opcodeIndex = 0, inputs = 1, outputs = 2, builtinOptionsType = 3,
                    builtinOptions = 4, customOptions = 5, customOptionsFormat = 6,
                    largeCustomOptionsOffset = 9, largeCustomOptionsSize = 10 }
    enum Buffer { static let data = 0, offset = 1, size = 2 }
    enum Metadata { static let name = 0, buffer = 1 }

    /// BuiltinOptions union type ids for the options tables the importer reads.
    enum OptionsType {
        static let conv2D: UInt8 = 1, depthwiseConv2D: UInt8 = 2, pool2D: UInt8 = 5, softmax: UInt8 = 9
        static let concatenation: UInt8 = 10, add: UInt8 = 11, resizeBilinear: UInt8 = 15, reshape: UInt8 = 17
        static let mul: UInt8 = 21, reducer: UInt8 = 27, sub: UInt8 = 28, div: UInt8 = 29
        static let transposeConv: UInt8 = 49, resizeNearest: UInt8 = 74, leakyRelu: UInt8 = 75
        static let depthToSpace: UInt8 = 94
    }

    /// TensorType values.
    enum TensorType {
        static let names = ["FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL", "INT16",
                            "COMPLEX64", "INT8", "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT",
                            "UINT32", "UINT16", "INT4", "BFLOAT16"]

        static func dtype(_ code: Int8) -> DType? {
            switch code {
            case 0: return .float32
            case 1: return .float16
            case 2: return .int32
            case 3: return .uint8
            case 4: return .int64
            case 6: return .bool
            case 7: return .int16
            case 9: return .int8
            default: return nil
            }
        }

        static func name(_ code: Int8) -> String {
            code >= 0 && Int(code) < names.count ? names[Int(code)] : "type \(code)"
        }
    }

    /// BuiltinOperator codes the importer maps.
    enum Op {
        static let add = 0, averagePool2D = 1, concatenation = 2, conv2D = 3, depthwiseConv2D = 4
        static let depthToSpace = 5, dequantize = 6, logistic = 14, maxPool2D = 17, mul = 18, relu = 19
        static let reluN1To1 = 20, relu6 = 21, reshape = 22, resizeBilinear = 23, softmax = 25, tanh = 28
        static let custom = 32, pad = 34, mean = 40, sub = 41, div = 42, prelu = 54, maximum = 55
        static let minimum = 57, padV2 = 60, transposeConv = 67, resizeNearestNeighbor = 97, leakyRelu = 98
        static let quantize = 114, hardSwish = 117, densify = 124
    }

    /// BuiltinOperator names indexed by code, for messages and histograms.
    static let builtinNames: [String] = [
        "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE",
        "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D",
        "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU",
        "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH",
        "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
        "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN",
        "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN",
        "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU",
        "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT",
        "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG",
        "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK",
        "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY",
        "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU",
        "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND",
        "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND",
        "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2",
        "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE",
        "BROADCAST_TO", "RFFT2D", "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND",
        "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE",
        "ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL",
        "GELU", "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX",
        "UNSORTED_SEGMENT_SUM", "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT",
        "STABLEHLO_LOGISTIC", "STABLEHLO_ADD", "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM",
        "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE", "STABLEHLO_BROADCAST_IN_DIM",
        "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE", "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE", "STABLEHLO_ABS",
        "STABLEHLO_AND", "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL", "STABLEHLO_FLOOR", "STABLEHLO_LOG",
        "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR", "STABLEHLO_POWER", "STABLEHLO_REMAINDER",
        "STABLEHLO_RSQRT", "STABLEHLO_SELECT", "STABLEHLO_SUBTRACT", "STABLEHLO_TANH", "STABLEHLO_SCATTER",
        "STABLEHLO_COMPARE", "STABLEHLO_CONVERT", "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE",
        "STABLEHLO_PAD", "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SORT",
        "STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE", "STABLEHLO_RNG_BIT_GENERATOR",
        "REDUCE_WINDOW", "STABLEHLO_COMPOSITE", "STABLEHLO_SHIFT_LEFT", "STABLEHLO_CBRT", "STABLEHLO_CASE",
    ]

    static func opName(_ code: Int) -> String {
        code >= 0 && code < builtinNames.count ? builtinNames[code] : "BUILTIN_\(code)"
    }
}
