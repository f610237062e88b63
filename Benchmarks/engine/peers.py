#!/usr/bin/env python3
"""One timed block of a peer runtime, printed as one JSON line (used by compare.py).

    .venv/bin/python Benchmarks/engine/peers.py --peer litert|onnxruntime|onnxruntime-int8 --model PATH
        --threads N --runs R --warmup W

LiteRT: Interpreter(num_threads=N) with the default op resolver, which applies the
XNNPACK delegate. onnxruntime: CPU EP, intra_op_num_threads=N, inter_op 1, sequential,
ORT_ENABLE_ALL, input and output bound once with IOBinding so only the graph is timed.
onnxruntime-int8: the same onnxruntime timing on the QDQ INT8 model of the FP32 .onnx
--model, made (once, cached in out/bench/) by Benchmarks/int8/ort_qdq.py; compare.py makes
that model itself and passes its path with --peer onnxruntime.
Inputs are seeded values in [0, 1). Prints median/p90/min/mean in ms and every time.
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def quantile(sorted_ms, f):
    """Same rule as `vseg bench`: the sample at round((n-1) * f)."""
    return sorted_ms[min(len(sorted_ms) - 1, int(round((len(sorted_ms) - 1) * f)))]


def stats(times_ms):
    s = sorted(times_ms)
    return {"median_ms": quantile(s, 0.5), "p90_ms": quantile(s, 0.9), "min_ms": s[0],
            "mean_ms": sum(s) / len(s)}


def seeded_inputs(shapes, seed=0x2545F4914F6CDD1D):
    import numpy as np
    rng = np.random.default_rng(seed & 0xFFFFFFFF)
    return [rng.random(tuple(int(d) for d in s), dtype=np.float32) for s in shapes]


def peer_litert(model, threads, runs, warmup):
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=model, num_threads=threads)   # default resolver applies XNNPACK
    it.allocate_tensors()
    details = it.get_input_details()
    for d, x in zip(details, seeded_inputs([d["shape"] for d in details])):
        it.set_tensor(d["index"], x.astype(d["dtype"]))
    for _ in range(warmup):
        it.invoke()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        it.invoke()
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return times, {"inputs": [list(map(int, d["shape"])) for d in details]}


def peer_onnxruntime(model, threads, runs, warmup):
    import numpy as np
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    ins = sess.get_inputs()
    for i in ins:
        if not all(isinstance(d, int) for d in i.shape):
            raise SystemExit(f"{model}: input {i.name} has dynamic shape {i.shape}")
    binding = sess.io_binding()
    for i, x in zip(ins, seeded_inputs([i.shape for i in ins])):
        binding.bind_ortvalue_input(i.name, ort.OrtValue.ortvalue_from_numpy(x))
    # Preallocate the outputs so the timed runs do not include output allocation.
    outs = sess.run(None, {i.name: x for i, x in zip(ins, seeded_inputs([i.shape for i in ins]))})
    for o, arr in zip(sess.get_outputs(), outs):
        binding.bind_ortvalue_output(o.name, ort.OrtValue.ortvalue_from_numpy(np.empty_like(arr)))
    for _ in range(warmup):
        sess.run_with_iobinding(binding)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        sess.run_with_iobinding(binding)
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return times, {"inputs": [list(i.shape) for i in ins]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", choices=["litert", "onnxruntime", "onnxruntime-int8"], required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--warmup", type=int, required=True)
    a = ap.parse_args()
    model = a.model
    if a.peer == "onnxruntime-int8":
        sys.path.insert(0, os.path.join(ROOT, "Benchmarks", "int8"))
        import ort_qdq
        model = ort_qdq.ensure_qdq(a.model, os.path.join(ROOT, "out", "bench"),
                                   os.path.join(ROOT, "samples", "bikes.mp4"))
    fn = peer_litert if a.peer == "litert" else peer_onnxruntime
    times, extra = fn(model, a.threads, a.runs, a.warmup)
    extra["model"] = os.path.relpath(model, ROOT) if model.startswith(ROOT + os.sep) else model
    print(json.dumps(dict(stats(times), times_ms=times, **extra)))


if __name__ == "__main__":
    main()
