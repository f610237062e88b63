import VSegCore
import VSegEngine

/// Descriptors for the models `scripts/setup` fetches into `models/`.
///
/// Normalization, resize policy and output meaning come from MediaPipe's own
/// graph configs (google-ai-edge/mediapipe, `mediapipe/modules/...`):
/// - selfie_segmentation_cpu.pbtxt: ImageToTensorCalculator 256x256 (landscape
///   256x144), `keep_aspect_ratio: false`, `output_tensor_float_range {min: 0 max: 1}`;
///   TensorsToSegmentationCalculator `activation: NONE` (the model ends in a sigmoid).
/// - pose_detection_cpu.pbtxt: 224x224, `keep_aspect_ratio: true` (letterbox,
///   BORDER_ZERO), `output_tensor_float_range {min: -1 max: 1}`; scores decoded
///   with `sigmoid_score: true`, `score_clipping_thresh: 100`, 2254 anchors, 12 coords
///   (box + 4 keypoints), `reverse_output_order: true`.
/// - pose_landmark_by_roi_cpu.pbtxt: 256x256, `keep_aspect_ratio: true`,
///   range [0, 1]; tensors_to_pose_landmarks_and_segmentation.pbtxt: outputs are
///   landmarks (39 x 5, visibility/presence are logits → SIGMOID), pose flag
///   (used as is, threshold 0.5), segmentation (logits, `activation: SIGMOID`),
///   heatmap (64x64x39), world landmarks (39 x 3).
public enum BuiltinModels {
    static let mp = "google-ai-edge/mediapipe mediapipe/modules/"

    public static let selfie = ModelDescriptor(
        name: "selfie_segmentation", aliases: ["selfie"], file: "selfie_segmentation.tflite",
        input: InputSpec(height: 256, width: 256, range: [0, 1], resize: .stretch),
        outputs: [OutputSpec(index: 0, kind: .mask, activation: .none, labels: ["background", "person"],
                             note: "person probability, already sigmoid-activated")],
        summary: "MediaPipe selfie segmentation (general), 256x256, person mask",
        source: mp + "selfie_segmentation/selfie_segmentation_cpu.pbtxt")

    public static let selfieLandscape = ModelDescriptor(
        name: "selfie_landscape", aliases: ["selfie_segmentation_landscape"], file: "selfie_segmentation_landscape.tflite",
        input: InputSpec(height: 144, width: 256, range: [0, 1], resize: .stretch),
        outputs: [OutputSpec(index: 0, kind: .mask, activation: .none, labels: ["background", "person"],
                             note: "person probability, already sigmoid-activated")],
        summary: "MediaPipe selfie segmentation (landscape), 256x144, person mask",
        source: mp + "selfie_segmentation/selfie_segmentation_cpu.pbtxt")

    public static let poseDetection = ModelDescriptor(
        name: "pose_detection", aliases: [], file: "pose_detection.tflite",
        input: InputSpec(height: 224, width: 224, range: [-1, 1], resize: .letterbox),
        outputs: [
            OutputSpec(index: 0, kind: .detectionBoxes,
                       note: "[1, 2254, 12] per anchor: box cx, cy, w, h then keypoints (x, y) x 4 (mid-hip, full-body size/rotation, mid-shoulder, upper-body size/rotation), in 224-pixel units relative to the SSD anchor"),
            OutputSpec(index: 1, kind: .detectionScores, activation: .sigmoid,
                       note: "[1, 2254, 1] score logits; clip to +-100, sigmoid, keep >= 0.2, weighted NMS at IoU 0.3"),
        ],
        summary: "MediaPipe BlazePose detector, 224x224, SSD boxes + 4 keypoints over 2254 anchors",
        source: mp + "pose_detection/pose_detection_cpu.pbtxt")

    public static let poseLandmark = ModelDescriptor(
        name: "pose_landmark", aliases: ["pose", "pose_landmark_full"], file: "pose_landmark_full.tflite",
        input: InputSpec(height: 256, width: 256, range: [0, 1], resize: .letterbox),
        outputs: [
            OutputSpec(index: 0, kind: .landmarks, labels: poseLandmarkNames,
                       note: "[1, 195] 39 landmarks x (x, y, z, visibility logit, presence logit); x, y in input pixels (0..256)"),
            OutputSpec(index: 1, kind: .score, activation: .none, note: "[1, 1] pose presence, already a probability; threshold 0.5"),
            OutputSpec(index: 2, kind: .mask, activation: .sigmoid, labels: ["background", "person"],
                       note: "[1, 256, 256, 1] person segmentation logits"),
            OutputSpec(index: 3, kind: .heatmaps, labels: poseLandmarkNames, note: "[1, 64, 64, 39] landmark heatmaps for refinement"),
            OutputSpec(index: 4, kind: .worldLandmarks, note: "[1, 117] 39 x (x, y, z) in metres, origin between the hips"),
        ],
        summary: "MediaPipe BlazePose GHUM full landmark model, 256x256, 33+6 landmarks + segmentation",
        source: mp + "pose_landmark/pose_landmark_by_roi_cpu.pbtxt, tensors_to_pose_landmarks_and_segmentation.pbtxt")

    /// Every built-in descriptor.
    public static let all: [ModelDescriptor] = [selfie, selfieLandscape, poseDetection, poseLandmark]

    /// The descriptor whose name or alias is `name` (case-insensitive).
    public static func named(_ name: String) -> ModelDescriptor? {
        let n = name.lowercased()
        return all.first { $0.name == n || $0.aliases.contains(n) }
    }

    /// All accepted names, for messages.
    public static var names: [String] { all.flatMap { [$0.name] + $0.aliases } }

    /// MediaPipe pose topology: 33 body landmarks + 6 auxiliary points.
    public static let poseLandmarkNames: [String] = [
        "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
        "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
        "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
        "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
        "left_heel", "right_heel", "left_foot_index", "right_foot_index",
        "aux_0", "aux_1", "aux_2", "aux_3", "aux_4", "aux_5",
    ]
}

extension ModelDescriptor {
    /// A descriptor for a model vseg knows nothing about, treated as an FCN:
    /// input size from the model, RGB in [0, 1], stretch; output 0 with one
    /// channel is a foreground probability, with C > 1 channels a class map
    /// (VOC palette and labels when C = 21, Cityscapes when C = 19, otherwise
    /// a generated palette). `activated` says whether the graph already ends
    /// in a sigmoid/softmax for that output (see `endsInActivation`); when it
    /// does not, the values are taken as logits.
    public static func inferred(name: String, inputShape: [Int], outputShapes: [[Int]], activated: [Bool]) -> ModelDescriptor {
        let h = inputShape.count == 4 ? inputShape[1] : nil
        let w = inputShape.count == 4 ? inputShape[2] : nil
        var outputs: [OutputSpec] = []
        if let shape = outputShapes.first {
            let c = shape.count == 4 ? shape[3] : 1
            let done = activated.first ?? false
            if c <= 1 {
                outputs.append(OutputSpec(index: 0, kind: .mask, activation: done ? .none : .sigmoid))
            } else {
                let palette: OutputSpec.PaletteSpec
                let labels: [String]?
                switch c {
                case 21: palette = .voc; labels = Palette.vocLabels
                case 19: palette = .cityscapes; labels = Palette.cityscapesLabels
                default: palette = .generated; labels = nil
                }
                outputs.append(OutputSpec(index: 0, kind: .classes, activation: done ? .none : .softmax,
                                          labels: labels, palette: palette))
            }
        }
        for i in outputShapes.indices.dropFirst() { outputs.append(OutputSpec(index: i, kind: .other)) }
        return ModelDescriptor(name: name, input: InputSpec(height: h, width: w), outputs: outputs,
                               summary: "inferred: FCN defaults (RGB [0,1], stretch)")
    }

    /// Whether each graph output is produced by a sigmoid or softmax (standalone
    /// or fused into the op before it), i.e. already holds probabilities.
    public static func endsInActivation(_ graph: Graph) -> [Bool] {
        graph.outputs.map { io in
            guard let node = graph.nodes.last(where: { $0.outputs.contains(io.tensor) }) else { return false }
            switch node.op {
            case .unary(.sigmoid), .softmax: return true
            case .conv2D(let a), .depthwiseConv2D(let a, _), .transposeConv2D(let a, _): return a.activation == .sigmoid
            case .binary(_, let act): return act == .sigmoid
            default: return false
            }
        }
    }
}
