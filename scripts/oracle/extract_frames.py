#!/usr/bin/env python3
"""Decodes chosen frames of a video to RGB24 with the ffmpeg CLI.

    .venv/bin/python scripts/oracle/extract_frames.py VIDEO N [N ...] --output-dir D

Writes D/frame<N>.npy (uint8, H x W x 3, RGB). Also importable: frames(video, [n...]).
"""
import argparse
import json
import os
import subprocess

import numpy as np


def probe_size(video):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=width,height", "-of", "json", video], check=True, capture_output=True).stdout
    s = json.loads(out)["streams"][0]
    return int(s["width"]), int(s["height"])


def frames(video, indices):
    """Returns {index: HxWx3 uint8} for the given 0-based frame indices."""
    w, h = probe_size(video)
    sel = "+".join(f"eq(n\\,{n})" for n in sorted(indices))
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", video, "-vf", f"select={sel}", "-vsync", "0",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    n = len(indices)
    if len(raw) != n * w * h * 3:
        raise SystemExit(f"extract_frames: {video}: expected {n} frames of {w}x{h}, got {len(raw)} bytes")
    arr = np.frombuffer(raw, dtype=np.uint8).reshape(n, h, w, 3)
    return {i: arr[k].copy() for k, i in enumerate(sorted(indices))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("indices", type=int, nargs="+")
    ap.add_argument("--output-dir", required=True)
    args = ap.parse_args()
    os.makedirs(args.output_dir, exist_ok=True)
    for i, f in frames(args.video, args.indices).items():
        np.save(os.path.join(args.output_dir, f"frame{i}.npy"), f)


if __name__ == "__main__":
    main()
