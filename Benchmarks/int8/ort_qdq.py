#!/usr/bin/env python3
"""Makes the onnxruntime INT8 peer of an ONNX model: QDQ, per-channel, static calibration.

    .venv/bin/python Benchmarks/int8/ort_qdq.py --model .fixtures/onnx/fcn_resnet18.onnx
        [--out-dir out/bench] [--video samples/bikes.mp4] [--frames 16] [--every 8] [--force]

Prints the path of the quantized model (out/bench/<stem>.ort-qdq.onnx). Cached: a second
call with the same FP32 model and settings returns the file it wrote before (a JSON
sidecar records the FP32 model's sha256 and the settings; anything different remakes it).

Quantization: `onnxruntime.quantization.quantize_static` with QuantFormat.QDQ,
per_channel=True, uint8 activations (QUInt8), int8 weights (QInt8), MinMax calibration,
after `quant_pre_process` (ONNX shape inference + graph optimisation, the documented
first step; symbolic shape inference is skipped, the inputs have fixed shapes). Calibration frames are the ones `vseg calibrate --frames 16 --every 8` reads:
frames 0, 8, 16, ... of the sample video, stretched to the model's input size with
bilinear scaling, RGB scaled to [0, 1], NCHW. That is vseg's FCN preprocessing
("RGB [0,1], stretch") and the same value range as the seeded FP32 benchmark inputs.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SETTINGS_VERSION = 1     # bump when the recipe below changes, so cached models are remade


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def video_frames(video, width, height, frames, every):
    """`frames` RGB frames (uint8, HxWx3) of `video`: every `every`-th from frame 0, stretched to WxH."""
    import numpy as np
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-i", video,
           "-vf", f"select=not(mod(n\\,{every})),scale={width}:{height}:flags=bilinear",
           "-fps_mode", "passthrough", "-frames:v", str(frames), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    try:
        p = subprocess.run(cmd, capture_output=True, check=False)
    except FileNotFoundError:
        raise SystemExit("ort_qdq.py: ffmpeg not found (scripts/setup installs it)")
    if p.returncode != 0:
        raise SystemExit(f"ort_qdq.py: ffmpeg could not read {video}: {p.stderr.decode(errors='replace').strip()}")
    size = width * height * 3
    n = len(p.stdout) // size
    if n == 0:
        raise SystemExit(f"ort_qdq.py: no frames decoded from {video}")
    return np.frombuffer(p.stdout[: n * size], dtype=np.uint8).reshape(n, height, width, 3)


class FrameReader:
    """CalibrationDataReader over a list of NCHW float32 inputs for one input name."""

    def __init__(self, name, batches):
        self.name, self.batches = name, list(batches)

    def get_next(self):
        return {self.name: self.batches.pop(0)} if self.batches else None

    def rewind(self):            # not needed by MinMax; part of the reader protocol in newer versions
        pass


def settings(model, video, frames, every):
    return {"version": SETTINGS_VERSION, "fp32_sha256": sha256(model), "video": os.path.relpath(video, ROOT),
            "video_sha256": sha256(video), "frames": frames, "every": every, "format": "QDQ",
            "per_channel": True, "activations": "QUInt8", "weights": "QInt8", "calibration": "MinMax"}


def ensure_qdq(model, out_dir, video, frames=16, every=8, force=False, log=sys.stderr):
    """Path of the cached QDQ model for `model`, made first when missing or stale."""
    import numpy as np
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    stem = os.path.splitext(os.path.basename(model))[0]
    out = os.path.join(out_dir, stem + ".ort-qdq.onnx")
    meta_path = out + ".json"
    want = dict(settings(model, video, frames, every), onnxruntime=ort.__version__)
    if not force and os.path.exists(out):
        try:
            with open(meta_path) as f:
                if json.load(f) == want:
                    return out
        except (OSError, json.JSONDecodeError):
            pass
    os.makedirs(out_dir, exist_ok=True)
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    ins = sess.get_inputs()
    if len(ins) != 1 or len(ins[0].shape) != 4 or not all(isinstance(d, int) for d in ins[0].shape):
        raise SystemExit(f"ort_qdq.py: {model}: want one fixed NCHW input, got "
                         + ", ".join(f"{i.name} {i.shape}" for i in ins))
    _, c, h, w = ins[0].shape
    if c != 3:
        raise SystemExit(f"ort_qdq.py: {model}: input {ins[0].name} has {c} channels, calibration frames have 3")
    rgb = video_frames(video, w, h, frames, every)
    batches = [np.ascontiguousarray(f.transpose(2, 0, 1)[None].astype(np.float32) / 255.0) for f in rgb]
    print(f"ort_qdq.py: quantizing {os.path.relpath(model, ROOT)} (QDQ, per-channel, u8/s8, MinMax over "
          f"{len(batches)} frames of {os.path.relpath(video, ROOT)} at {w}x{h}) -> {os.path.relpath(out, ROOT)}",
          file=log, flush=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        pre = os.path.join(tmp, "pre.onnx")
        # The shapes are fixed, so ONNX shape inference is enough (symbolic inference needs sympy).
        quant_pre_process(model, pre, skip_symbolic_shape=True)
        partial = os.path.join(tmp, "qdq.onnx")
        quantize_static(pre, partial, FrameReader(ins[0].name, batches), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
        os.replace(partial, out)
    with open(meta_path, "w") as f:
        json.dump(want, f, indent=2)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="FP32 .onnx model")
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "out", "bench"))
    ap.add_argument("--video", default=os.path.join(ROOT, "samples", "bikes.mp4"))
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--every", type=int, default=8)
    ap.add_argument("--force", action="store_true", help="remake even when the cached model matches")
    a = ap.parse_args()
    if a.frames < 1 or a.every < 1:
        ap.error("--frames and --every must be at least 1")
    for p in (a.model, a.video):
        if not os.path.exists(p):
            ap.error(f"{p} not found")
    print(ensure_qdq(a.model, a.out_dir, a.video, a.frames, a.every, a.force))


if __name__ == "__main__":
    main()
