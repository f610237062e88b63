#!/usr/bin/env python3
"""Runs onnxruntime (CPU, graph optimizations off) on one model and writes the reference tensors.

    .venv/bin/python scripts/onnx/run_ort.py MODEL.onnx OUT_DIR [--input X.npy] [--shape 1,3,H,W] [--seed N]

Writes OUT_DIR/input.npy (the float32 NCHW input actually used: the given .npy, or a seeded
uniform [-1, 1) tensor of the model's input shape, with --shape filling dynamic dimensions) and
OUT_DIR/out0.npy, out1.npy, ... in the model's output order, as float32 in the file's layout.
"""
import argparse
import os

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out_dir")
    ap.add_argument("--input", help="float32 .npy to feed instead of random data")
    ap.add_argument("--shape", help="input shape for dynamic models, e.g. 1,3,96,128")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    if args.input:
        x = np.load(args.input).astype(np.float32)
    else:
        if args.shape:
            shape = [int(d) for d in args.shape.split(",")]
        else:
            shape = inp.shape
            if not all(isinstance(d, int) for d in shape):
                raise SystemExit(f"{args.model}: input {inp.name} has dynamic shape {shape}; pass --shape")
        x = np.random.default_rng(args.seed).uniform(-1, 1, shape).astype(np.float32)
    outs = sess.run(None, {inp.name: x})
    os.makedirs(args.out_dir, exist_ok=True)
    np.save(os.path.join(args.out_dir, "input.npy"), x)
    for i, o in enumerate(outs):
        np.save(os.path.join(args.out_dir, f"out{i}.npy"), np.asarray(o).astype(np.float32))
    print(args.model, "->", args.out_dir, [tuple(o.shape) for o in outs])


if __name__ == "__main__":
    main()
