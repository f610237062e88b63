#!/usr/bin/env python3
"""Runs LiteRT (ai_edge_litert) on one .tflite model and writes its outputs as .npy.

    .venv/bin/python scripts/oracle/litert_run.py MODEL.tflite --input X.npy --output-dir D
        [--kernels xnnpack|reference|builtin] [--threads N] [--prefix out]

Writes D/<prefix>0.npy, <prefix>1.npy, ... in the model's output order (the
subgraph's output list, which is what `vseg infer` numbers), float32, in the
model's own layout (NHWC). The input .npy must match the model's input shape;
float64 inputs are narrowed to float32.

--kernels picks LiteRT's CPU path: xnnpack (default; what MediaPipe runs),
builtin (optimized built-in kernels without the XNNPACK delegate) or
reference (TFLite's plain reference kernels). The paths differ slightly
(~5e-4 relative on pose_landmark_full's segmentation logits).
"""
import argparse
import os
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

RESOLVERS = {
    "xnnpack": OpResolverType.AUTO,
    "builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    "reference": OpResolverType.BUILTIN_REF,
}


def run(model, inputs, kernels="xnnpack", threads=1):
    """Returns the list of output arrays for the given list of input arrays."""
    it = Interpreter(model_path=model, num_threads=threads, experimental_op_resolver_type=RESOLVERS[kernels])
    it.allocate_tensors()
    details = it.get_input_details()
    if len(details) != len(inputs):
        sys.exit(f"litert_run: {model} has {len(details)} inputs, got {len(inputs)}")
    for d, x in zip(details, inputs):
        x = np.asarray(x)
        if tuple(x.shape) != tuple(d["shape"]):
            sys.exit(f"litert_run: input {d['name']} wants shape {tuple(d['shape'])}, got {x.shape}")
        it.set_tensor(d["index"], x.astype(d["dtype"]))
    it.invoke()
    return [np.array(it.get_tensor(d["index"]), dtype=np.float32) for d in it.get_output_details()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--input", action="append", required=True, help="input .npy (repeat for multi-input models)")
    ap.add_argument("--output-dir", required=True)
    ap.add_argument("--kernels", choices=sorted(RESOLVERS), default="xnnpack")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prefix", default="out")
    args = ap.parse_args()
    inputs = [np.load(p).astype(np.float32) for p in args.input]
    outs = run(args.model, inputs, args.kernels, args.threads)
    os.makedirs(args.output_dir, exist_ok=True)
    for i, o in enumerate(outs):
        np.save(os.path.join(args.output_dir, f"{args.prefix}{i}.npy"), o)
        print(f"{args.prefix}{i}: shape {o.shape} range [{o.min():.4g}, {o.max():.4g}]")


if __name__ == "__main__":
    main()
