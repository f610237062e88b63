"""NumPy twin of VSegVision's Preprocessor (Sources/VSegVision/ImageTransform.swift,
Preprocess.swift): the same per-axis taps written as dense weight matrices.

Per axis, `model = source * scale + offset` (stretch: scale = M/S, offset 0;
letterbox: one scale min(Mw/Sw, Mh/Sh) and centring offsets). An output
position whose centre falls outside the image is padding (pixel value 0).
Downscales by 2x or more average the covered source area exactly; otherwise
bilinear with half-pixel centres and edge clamping.
"""
import math

import numpy as np

AREA_THRESHOLD = 2.0


def transform(src_w, src_h, model_w, model_h, policy):
    sx, sy = model_w / src_w, model_h / src_h
    if policy == "stretch":
        return sx, sy, 0.0, 0.0
    s = min(sx, sy)
    return s, s, (model_w - src_w * s) / 2, (model_h - src_h * s) / 2


def axis_weights(out_n, src_n, scale, offset):
    """Returns (W, inside): W is out_n x src_n with rows summing to 1 (or 0 for padding)."""
    w = np.zeros((out_n, src_n), dtype=np.float64)
    inside = np.zeros(out_n, dtype=bool)
    for p in range(out_n):
        centre = (p + 0.5 - offset) / scale
        inside[p] = 0 <= centre < src_n
        done = False
        if 1 / scale >= AREA_THRESHOLD:
            a, b = max(0.0, (p - offset) / scale), min(float(src_n), (p + 1 - offset) / scale)
            if b > a:
                for i in range(int(math.floor(a)), min(src_n, int(math.ceil(b)))):
                    ov = min(b, i + 1) - max(a, i)
                    if ov > 0:
                        w[p, i] += ov / (b - a)
                        done = True
        if not done:
            c = centre - 0.5
            i0 = math.floor(c)
            t = c - i0
            w[p, min(max(i0, 0), src_n - 1)] += 1 - t
            w[p, min(max(i0 + 1, 0), src_n - 1)] += t
    return w, inside


def preprocess(frame, model_w, model_h, policy="stretch", value_range=(0.0, 1.0)):
    """frame: H x W x 3 uint8 RGB → 1 x model_h x model_w x 3 float32 (NHWC)."""
    src_h, src_w, _ = frame.shape
    sx, sy, ox, oy = transform(src_w, src_h, model_w, model_h, policy)
    wx, inx = axis_weights(model_w, src_w, sx, ox)
    wy, iny = axis_weights(model_h, src_h, sy, oy)
    img = frame.astype(np.float64)
    out = np.einsum("ys,sxc->yxc", wy, img)
    out = np.einsum("xs,ysc->yxc", wx, out)
    mask = iny[:, None] & inx[None, :]
    out[~mask] = 0.0
    lo, hi = value_range
    out = out * ((hi - lo) / 255.0) + lo
    return out.astype(np.float32)[None]
