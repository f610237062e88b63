import VSegCore

/// Colour tables for label maps, packed as r, g, b bytes per class.
public enum Palette {
    /// PASCAL VOC 2012 class names (21, background first).
    public static let vocLabels = [
        "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
        "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    ]

    /// Cityscapes train-id class names (19).
    public static let cityscapesLabels = [
        "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
        "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
    ]

    /// The PASCAL VOC devkit colour map (bit-interleaved class id), for `count` classes (at most 256).
    /// Class 0 is black; VOC's 21 classes are the first 21 entries.
    public static func voc(count: Int = 21) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 3 * count)
        for i in 0..<count {
            var r = 0, g = 0, b = 0, c = i
            for j in 0..<8 {
                r |= (c & 1) << (7 - j)
                g |= (c >> 1 & 1) << (7 - j)
                b |= (c >> 2 & 1) << (7 - j)
                c >>= 3
            }
            out[3 * i] = UInt8(r); out[3 * i + 1] = UInt8(g); out[3 * i + 2] = UInt8(b)
        }
        return out
    }

    /// The Cityscapes colours for the 19 train ids.
    public static let cityscapes: [UInt8] = [
        128, 64, 128, 244, 35, 232, 70, 70, 70, 102, 102, 156, 190, 153, 153, 153, 153, 153, 250, 170, 30,
        220, 220, 0, 107, 142, 35, 152, 251, 152, 70, 130, 180, 220, 20, 60, 255, 0, 0, 0, 0, 142, 0, 0, 70,
        0, 60, 100, 0, 80, 100, 0, 0, 230, 119, 11, 32,
    ]

    /// The packed palette for `spec` with at least `classCount` entries. Missing
    /// entries (a short custom list, Cityscapes with more than 19 classes) are
    /// filled from the generated palette.
    public static func resolve(_ spec: OutputSpec.PaletteSpec?, classCount: Int, model: String) throws -> [UInt8] {
        guard classCount >= 1, classCount <= 256 else {
            throw VisionError.invalidDescriptor(model: model, detail: "\(classCount) classes; label maps hold at most 256")
        }
        var base: [UInt8]
        switch spec ?? (classCount == 19 ? .cityscapes : .voc) {
        case .voc, .generated: base = voc(count: classCount)
        case .cityscapes: base = cityscapes
        case .custom(let colours):
            guard colours.allSatisfy({ $0.count == 3 }) else {
                throw VisionError.invalidDescriptor(model: model, detail: "palette entries must be [r, g, b]")
            }
            base = colours.flatMap { $0 }
        }
        if base.count < 3 * classCount {
            let filler = voc(count: classCount)
            base += filler[base.count..<(3 * classCount)]
        }
        return Array(base.prefix(3 * classCount))
    }
}
