#!/usr/bin/env python3
"""Builds the MediaPipe oracle fixtures: real frames and seeded random inputs,
preprocessed the way vseg does, and LiteRT's outputs for them.

    .venv/bin/python scripts/oracle/make_mediapipe_fixtures.py OUT_DIR

Layout: OUT_DIR/<model>/<case>/ with
  input.npy    the exact float32 NHWC tensor fed to LiteRT (the Swift test feeds the same one)
  frame.npy    for real frames: the decoded RGB24 source frame (uint8 H x W x 3)
  out<i>.npy   LiteRT outputs with the XNNPACK path (what MediaPipe runs), model output order
  ref<i>.npy   LiteRT outputs with the reference kernels, to show how far LiteRT's own paths differ
               (absent for the selfie models: their custom op needs the XNNPACK delegate)
  meta.txt     model file, policy, range, source
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from extract_frames import frames  # noqa: E402
from litert_run import run  # noqa: E402
from preprocess import preprocess  # noqa: E402

# name, file, (h, w), resize policy, value range — as in BuiltinModels.swift
MODELS = [
    ("selfie_segmentation", "selfie_segmentation.tflite", (256, 256), "stretch", (0.0, 1.0)),
    ("selfie_landscape", "selfie_segmentation_landscape.tflite", (144, 256), "stretch", (0.0, 1.0)),
    ("pose_detection", "pose_detection.tflite", (224, 224), "letterbox", (-1.0, 1.0)),
    ("pose_landmark", "pose_landmark_full.tflite", (256, 256), "letterbox", (0.0, 1.0)),
]
# Real frames: different moments of two videos.
FRAMES = [("samples/carphone_pristine.mp4", [10, 75]), ("samples/bikes.mp4", [120])]


def main():
    out_dir = sys.argv[1]
    decoded = []
    for video, idx in FRAMES:
        stem = os.path.splitext(os.path.basename(video))[0].split("_")[0]
        for i, f in frames(video, idx).items():
            decoded.append((f"{stem}_f{i}", video, f))
    for name, file, (h, w), policy, rng in MODELS:
        model = os.path.join("models", file)
        cases = []
        for case, video, f in decoded:
            cases.append((case, preprocess(f, w, h, policy, rng), f, f"{video} frame {case.split('_f')[1]}"))
        for seed in (1, 2):
            g = np.random.default_rng(seed)
            x = g.uniform(rng[0], rng[1], size=(1, h, w, 3)).astype(np.float32)
            cases.append((f"random_{seed}", x, None, f"numpy default_rng({seed}) uniform {rng}"))
        for case, x, f, src in cases:
            d = os.path.join(out_dir, name, case)
            os.makedirs(d, exist_ok=True)
            np.save(os.path.join(d, "input.npy"), x)
            if f is not None:
                np.save(os.path.join(d, "frame.npy"), f)
            outs = run(model, [x], "xnnpack")
            try:
                refs = run(model, [x], "reference")
            except RuntimeError:
                # The selfie models use MediaPipe's Convolution2DTransposeBias custom op,
                # which only the XNNPACK delegate implements in the pip LiteRT.
                refs = []
            for i, o in enumerate(outs):
                np.save(os.path.join(d, f"out{i}.npy"), o)
            for i, r in enumerate(refs):
                np.save(os.path.join(d, f"ref{i}.npy"), r)
            with open(os.path.join(d, "meta.txt"), "w") as m:
                m.write(f"model: {file}\nresize: {policy}\nrange: {rng[0]} {rng[1]}\nsource: {src}\n")
            diffs = ", ".join(f"{np.abs(o - r).max() / max(1.0, np.abs(r).max()):.2e}" for o, r in zip(outs, refs)) or "n/a"
            print(f"{name}/{case}: {len(outs)} outputs; xnnpack vs reference kernels, max rel diff per output: {diffs}")


if __name__ == "__main__":
    main()
