#!/usr/bin/env python3
"""Whole-model latency of `vseg bench` next to its peers, in the same run, same thread count.

    .venv/bin/python Benchmarks/engine/compare.py --vseg PATH [--threads 1,2] [--runs 30]
        [--warmup 5] [--rounds 2] [--models selfie_segmentation,fcn_resnet18] [--json out.json]
        [--precision fp32,int8] [--qtable MODEL=PATH] [--recalibrate] [--profile-top 10]

(Benchmarks/engine/run.sh builds the release binary and calls this.)

Peers: LiteRT (ai_edge_litert Interpreter, default op resolver = XNNPACK delegate,
num_threads=N) for .tflite; onnxruntime (CPU EP, intra_op_num_threads=N, inter_op 1,
sequential, ORT_ENABLE_ALL, input and output bound once with IOBinding so only the
graph is timed) for .onnx. Both sides get seeded inputs in [0, 1), `--warmup`
untimed runs and `--runs` timed runs per block, timed around one invoke each.

Precision: `--precision fp32` (default) times `vseg bench` in FP32 against the FP32
peer. `int8` times `vseg bench --precision int8` against the same FP32 peer and,
for .onnx models, also against onnxruntime running the QDQ INT8 model that
Benchmarks/int8/ort_qdq.py makes (quantize_static, per channel, u8/s8; cached in
out/bench/). vseg loads calibration/<model stem>.qtable by itself; a model without
one (the ONNX fixtures) gets a table made once with `vseg calibrate` into
out/bench/<stem>.qtable (`--recalibrate` remakes it, `--qtable MODEL=PATH` names one).

Noise: the peer (peers.py) and vseg run in alternating blocks, each a fresh process
(peer, vseg, vseg, peer, peer, vseg, ... for `--rounds` pairs), so load
spikes and thermal drift hit both. A side's time is the smallest of its
block medians (min-of-medians); the ratio is vseg / peer of those. Every
block's median/p90/min goes into the JSON, with the CPU model, core count
and load average at start and end, so a number can be judged later. A row
has one peer; a model with two peers (fcn_resnet18 INT8) has two rows, each
with its own vseg blocks.

Targets, all at 1 thread unless said, ratio = vseg / peer:
  FP32 (issue 3): selfie_segmentation <= 1.3x LiteRT, pose_landmark_full <= 1.3x
    LiteRT, fcn_resnet18 (320x480) <= 1.0x onnxruntime; vseg's 1->2-thread speedup
    on pose_landmark_full >= 1.7x.
  INT8 (vseg INT8 against the peer named): selfie_segmentation <= 0.5x LiteRT FP32,
    pose_landmark_full <= 0.4x LiteRT FP32, fcn_resnet18 <= 0.3x onnxruntime FP32
    and <= 0.35x onnxruntime INT8 (QDQ); vseg INT8's 1->2-thread speedup on
    pose_landmark_full >= 1.8x.
Other rows are informative. Exit status is 0 even when a target fails (this is a
benchmark, not a test); it is 2 when a side could not run at all.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# name -> (path relative to ROOT, FP32 peer, {threads: max ratio vseg/peer} in FP32)
MODELS = {
    "selfie_segmentation": ("models/selfie_segmentation.tflite", "litert", {1: 1.3}),
    "selfie_segmentation_landscape": ("models/selfie_segmentation_landscape.tflite", "litert", {}),
    "pose_landmark_full": ("models/pose_landmark_full.tflite", "litert", {1: 1.3}),
    "pose_detection": ("models/pose_detection.tflite", "litert", {}),
    "fcn_resnet18": (".fixtures/onnx/fcn_resnet18.onnx", "onnxruntime", {1: 1.0}),
    "unet": (".fixtures/onnx/unet.onnx", "onnxruntime", {}),
}
# INT8 rows: name -> {peer: {threads: max ratio vseg INT8 / peer}}. Models not listed get
# their FP32 peer and, for .onnx, onnxruntime's QDQ INT8 model, without targets.
INT8_TARGETS = {
    "selfie_segmentation": {"litert": {1: 0.5}},
    "pose_landmark_full": {"litert": {1: 0.4}},
    "fcn_resnet18": {"onnxruntime": {1: 0.3}, "onnxruntime-int8": {1: 0.35}},
}
# peer id -> (peers.py --peer, label in the table)
PEERS = {"litert": ("litert", "LiteRT fp32"), "onnxruntime": ("onnxruntime", "ORT fp32"),
         "onnxruntime-int8": ("onnxruntime", "ORT int8 QDQ")}
# (model, precision) -> (from threads, to threads, minimum vseg speedup)
SPEEDUP_TARGETS = {("pose_landmark_full", "fp32"): (1, 2, 1.7), ("pose_landmark_full", "int8"): (1, 2, 1.8)}
PRECISIONS = ("fp32", "int8")
FIX_HINTS = {
    "litert": "run scripts/setup (it fetches models/*.tflite)",
    "onnxruntime": "run .venv/bin/python scripts/onnx/make_models.py (writes .fixtures/onnx/)",
}
OUT_DIR = os.path.join(ROOT, "out", "bench")
# What `vseg calibrate` reads for a model without a committed table (the recipe).
CALIBRATION_VIDEO = os.path.join(ROOT, "samples", "bikes.mp4")
CALIBRATION_ARGS = ["--frames", "16", "--every", "8", "--method", "entropy"]


def peers_for(name, precision):
    """[(peer id, {threads: max ratio})] for one model at one precision."""
    rel, fp32_peer, fp32_targets = MODELS[name]
    if precision == "fp32":
        return [(fp32_peer, fp32_targets)]
    if name in INT8_TARGETS:
        return list(INT8_TARGETS[name].items())
    return [(fp32_peer, {})] + ([("onnxruntime-int8", {})] if rel.endswith(".onnx") else [])


# ---------------------------------------------------------------------------------------------
# Driver

class SideFailed(Exception):
    pass


def last_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else "(no output)"


TIMEOUT_S = 300.0


def run_peer(peer, model, threads, runs, warmup):
    cmd = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers.py"), "--peer", peer, "--model", model,
           "--threads", str(threads), "--runs", str(runs), "--warmup", str(warmup)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise SideFailed(f"{peer} did not finish within {TIMEOUT_S:.0f} s (hung?)")
    if p.returncode != 0:
        raise SideFailed(f"{peer} exited {p.returncode}: {last_line(p.stderr or p.stdout)}")
    return json.loads(last_line(p.stdout))


def vseg_cmd(vseg, model, threads, runs, warmup, extra=()):
    return [vseg, "bench", "--model", model, "--threads", str(threads), "--runs", str(runs),
            "--warmup", str(warmup), "--json", *extra]


def run_vseg(vseg, model, threads, runs, warmup, extra=()):
    cmd = vseg_cmd(vseg, model, threads, runs, warmup, extra)
    try:
        # From the repository root: that is where vseg looks for calibration/<stem>.qtable.
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=ROOT)
    except subprocess.TimeoutExpired:
        raise SideFailed(f"vseg did not finish within {TIMEOUT_S:.0f} s (hung?): {' '.join(short(c) for c in cmd)}")
    if p.returncode != 0:
        raise SideFailed(f"vseg exited {p.returncode}: {(p.stderr or p.stdout).strip()}")
    try:
        r = json.loads(p.stdout)
    except json.JSONDecodeError:
        raise SideFailed(f"vseg printed no JSON: {last_line(p.stdout + p.stderr)}")
    want = extra[extra.index("--precision") + 1] if "--precision" in extra else "fp32"
    if r.get("precision", want).lower() != want:
        raise SideFailed(f"asked for {want}, vseg bench reports precision {r['precision']}")
    return {"median_ms": r["medianMs"], "p90_ms": r["p90Ms"], "min_ms": r["minMs"], "mean_ms": r["meanMs"],
            "threads": r["threads"], "isa": r["isa"], "inputs": r["inputShapes"],
            "peak_activation_bytes": r["peakActivationBytes"], "layers": r.get("layers")}


def machine_info():
    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile") if f in flags]
    return {"cpu": model, "logical_cores": os.cpu_count(), "isa_flags": isa, "kernel": platform.release(),
            "python": platform.python_version()}


def versions():
    out = {}
    for mod, dist in (("litert", "ai-edge-litert"), ("onnxruntime", "onnxruntime")):
        try:
            from importlib.metadata import version
            out[mod] = version(dist)
        except Exception:                      # not installed: the rows that need it fail on their own
            out[mod] = None
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True)
        out["vseg_commit"] = rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except OSError:
        out["vseg_commit"] = None
    return out


def vseg_help(vseg, *subcommand):
    """`vseg SUBCOMMAND --help` text, or None when vseg has no such subcommand."""
    try:
        p = subprocess.run([vseg, *subcommand, "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    # An unknown subcommand prints the top-level help and exits 0, so look for its own usage line.
    usage = "vseg " + " ".join(subcommand)
    return p.stdout if p.returncode == 0 and usage in p.stdout else None


class Int8Setup:
    """What the INT8 rows need besides the model: vseg's calibration table and ORT's QDQ model.

    Each is made at most once per run; failures are remembered and become the rows' errors.
    """

    def __init__(self, args):
        self.args, self.qtables, self.qdq = args, {}, {}
        self.given = {}
        for item in args.qtable or []:
            model, sep, path = item.partition("=")
            if not sep or model not in MODELS or not path:
                raise SystemExit(f"compare.py: --qtable wants MODEL=PATH with MODEL one of {', '.join(MODELS)}; "
                                 f"got {item!r}")
            self.given[model] = os.path.abspath(path)
        bench = vseg_help(args.vseg, "bench") or ""
        self.unsupported = None if "--precision" in bench else (
            f"{short(args.vseg)} has no `bench --precision` (an FP32-only build): build vseg from a main with INT8")
        self.can_calibrate = vseg_help(args.vseg, "calibrate") is not None

    def vseg_args(self, name):
        """Extra `vseg bench` arguments for INT8 of `name`; raises SideFailed when it cannot run."""
        if self.unsupported:
            raise SideFailed(self.unsupported)
        if name not in self.qtables:
            self.qtables[name] = self._qtable(name)
        path = self.qtables[name]
        if isinstance(path, SideFailed):
            raise path
        return ["--precision", "int8"] + (["--qtable", path] if path else [])

    def _qtable(self, name):
        rel = MODELS[name][0]
        stem = os.path.splitext(os.path.basename(rel))[0]
        if name in self.given:
            return self.given[name] if os.path.exists(self.given[name]) else SideFailed(
                f"--qtable {self.given[name]} does not exist")
        if os.path.exists(os.path.join(ROOT, "calibration", stem + ".qtable")) and not self.args.recalibrate:
            return None                               # vseg loads calibration/<stem>.qtable itself
        out = os.path.join(OUT_DIR, stem + ".qtable")
        if os.path.exists(out) and not self.args.recalibrate \
                and os.path.getmtime(out) >= os.path.getmtime(os.path.join(ROOT, rel)):
            return out
        if not self.can_calibrate:
            return SideFailed(f"skipped: no calibration/{stem}.qtable and {short(self.args.vseg)} has no "
                              f"`calibrate` subcommand to make {short(out)} (or pass --qtable {name}=PATH)")
        os.makedirs(OUT_DIR, exist_ok=True)
        cmd = [self.args.vseg, "calibrate", "--model", os.path.join(ROOT, rel), "--input", CALIBRATION_VIDEO,
               *CALIBRATION_ARGS, "--out", out]
        print(f"  calibrating {name}: {' '.join(short(c) for c in cmd)}", file=sys.stderr, flush=True)
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=max(TIMEOUT_S, 900), cwd=ROOT)
        except subprocess.TimeoutExpired:
            return SideFailed(f"`vseg calibrate` for {name} did not finish")
        if p.returncode != 0 or not os.path.exists(out):
            return SideFailed(f"`vseg calibrate` for {name} exited {p.returncode}: {last_line(p.stderr or p.stdout)}")
        return out

    def qdq_model(self, name):
        """Path of onnxruntime's QDQ INT8 model of `name` (made and cached by Benchmarks/int8/ort_qdq.py)."""
        if name not in self.qdq:
            sys.path.insert(0, os.path.join(ROOT, "Benchmarks", "int8"))
            try:
                import ort_qdq
                self.qdq[name] = ort_qdq.ensure_qdq(os.path.join(ROOT, MODELS[name][0]), OUT_DIR, CALIBRATION_VIDEO)
            except (Exception, SystemExit) as e:       # ort_qdq exits with a message on bad input
                self.qdq[name] = SideFailed(f"could not make the onnxruntime QDQ model: {e}")
            finally:
                sys.path.pop(0)
        if isinstance(self.qdq[name], SideFailed):
            raise self.qdq[name]
        return self.qdq[name]


def measure(name, threads, precision, peer_id, targets, args, int8):
    rel, fp32_peer, _ = MODELS[name]
    path = os.path.join(ROOT, rel)
    runner, label = PEERS[peer_id]
    row = {"model": name, "file": rel, "threads": threads, "precision": precision, "peer": peer_id,
           "peer_label": label, "peer_blocks": [], "vseg_blocks": [], "target_max_ratio": targets.get(threads),
           "vseg_extra": []}
    if not os.path.exists(path):
        row["error"] = f"{rel} is missing: {FIX_HINTS[fp32_peer]}"
        return summarize(row)
    # A side that cannot be set up (no INT8 in this vseg, no QDQ model) is skipped; the other
    # still runs, so its numbers are there.
    failed = {}
    peer_model = path
    if precision == "int8":
        try:
            row["vseg_extra"] = int8.vseg_args(name)
        except SideFailed as e:
            failed["vseg"] = str(e)
    if peer_id == "onnxruntime-int8":
        try:
            peer_model = int8.qdq_model(name)
        except SideFailed as e:
            failed["peer"] = str(e)
    row["peer_file"] = short(peer_model)
    sides = {"peer": lambda: run_peer(runner, peer_model, threads, args.runs, args.warmup),
             "vseg": lambda: run_vseg(args.vseg, path, threads, args.runs, args.warmup, row["vseg_extra"])}
    for r in range(args.rounds):
        order = ("peer", "vseg") if r % 2 == 0 else ("vseg", "peer")    # A B B A A B ...
        for side in order:
            if side in failed:
                continue
            try:
                block = sides[side]()
                block.pop("layers", None)
                row[side + "_blocks"].append(block)
            except SideFailed as e:
                failed[side] = str(e)
    for side in failed:
        row[side + "_error"] = failed[side]
    if len(row["peer_blocks"]) != len(row["vseg_blocks"]):
        row["unpaired"] = True
    return summarize(row)


def summarize(row):
    """Fills a row's min-of-medians, ratio and pass/fail from its blocks."""
    for side in ("peer", "vseg"):
        blocks = row[side + "_blocks"]
        row[side + "_ms"] = min(b["median_ms"] for b in blocks) if blocks else None
        row[side + "_p90_ms"] = min(b["p90_ms"] for b in blocks) if blocks else None
        row[side + "_min_ms"] = min(b["min_ms"] for b in blocks) if blocks else None
    if row["peer_ms"] and row["vseg_ms"]:
        row["ratio"] = row["vseg_ms"] / row["peer_ms"]
        # Ratio of each peer/vseg block pair, to show how much the noise moves it.
        pairs = [v["median_ms"] / p["median_ms"] for p, v in zip(row["peer_blocks"], row["vseg_blocks"])]
        if pairs and not row.get("unpaired"):
            row["pair_ratio_range"] = [min(pairs), max(pairs)]
    if row["vseg_blocks"]:
        row["vseg_isa"] = row["vseg_blocks"][0]["isa"]
    if row["target_max_ratio"] is not None and row.get("ratio") is not None:
        row["pass"] = row["ratio"] <= row["target_max_ratio"]
    elif row["target_max_ratio"] is not None:
        row["pass"] = False
    return row


def fmt(v, spec="{:.2f}"):
    return "-" if v is None else spec.format(v)


def row_key(r):
    """A row's identity; rows from before INT8 existed are FP32 against their only peer."""
    return (r["model"], r["threads"], r.get("precision", "fp32"), r["peer"])


def print_table(rows, speedups):
    head = ("model", "thr", "prec", "peer", "peer med", "p90", "min", "vseg med", "p90", "min", "vseg/peer",
            "min/min", "pairs", "target", "result")
    w = (29, 3, 4, 12, 8, 7, 7, 8, 7, 7, 9, 7, 9, 7, 6)
    left = (0, 2, 3, 14)
    line = lambda cells: "  ".join(str(c).ljust(n) if i in left else str(c).rjust(n)
                                   for i, (c, n) in enumerate(zip(cells, w))).rstrip()
    print(line(head))
    print("  ".join("-" * n for n in w))
    for r in rows:
        tgt = r["target_max_ratio"]
        res = "" if tgt is None else ("n/a" if r.get("ratio") is None else ("pass" if r.get("pass") else "FAIL"))
        pr = r.get("pair_ratio_range")
        mm = r["vseg_min_ms"] / r["peer_min_ms"] if r.get("vseg_min_ms") and r.get("peer_min_ms") else None
        print(line((r["model"], r["threads"], r.get("precision", "fp32"), r.get("peer_label", r["peer"]),
                    fmt(r.get("peer_ms")), fmt(r.get("peer_p90_ms")),
                    fmt(r.get("peer_min_ms")), fmt(r.get("vseg_ms")), fmt(r.get("vseg_p90_ms")),
                    fmt(r.get("vseg_min_ms")), fmt(r.get("ratio"), "{:.2f}x"), fmt(mm, "{:.2f}x"),
                    "-" if pr is None else f"{pr[0]:.2f}-{pr[1]:.2f}",
                    "-" if tgt is None else f"<={tgt:g}x", res)))
    for s in speedups:
        res = "" if s.get("pass") is None else ("pass" if s["pass"] else "FAIL")
        peer = "-" if s.get("peer_speedup") is None else f"{s['peer_speedup']:.2f}x"
        vs = "-" if s.get("vseg_speedup") is None else f"{s['vseg_speedup']:.2f}x"
        print(f"speedup {s['model']} {s.get('precision', 'fp32')} {s['from_threads']}->{s['to_threads']} threads: "
              f"vseg {vs} (target >={s['target_min']:.1f}x) {res}; peer ({s.get('peer', '-')}) {peer}")
    errors = [(r, k, r[k]) for r in rows for k in ("error", "peer_error", "vseg_error") if k in r]
    for r, k, msg in errors:
        side = "setup" if k == "error" else k.replace("_error", "")
        print(f"error: {r['model']} {r.get('precision', 'fp32')} vs {r.get('peer_label', r['peer'])} at "
              f"{r['threads']} thread(s), {side}: {msg}")


def speedup_rows(rows):
    """vseg's (and the peer's) 1->2-thread speedups, from the row of each side's first peer."""
    out = []
    by = {}
    for r in rows:
        by.setdefault((r["model"], r["threads"], r.get("precision", "fp32")), r)
    for (model, precision), (t0, t1, target) in SPEEDUP_TARGETS.items():
        a, b = by.get((model, t0, precision)), by.get((model, t1, precision))
        if not a or not b:
            continue
        s = {"model": model, "precision": precision, "from_threads": t0, "to_threads": t1, "target_min": target,
             "peer": a.get("peer_label", a["peer"]),
             "vseg_speedup": a["vseg_ms"] / b["vseg_ms"] if a.get("vseg_ms") and b.get("vseg_ms") else None,
             "peer_speedup": a["peer_ms"] / b["peer_ms"] if a.get("peer_ms") and b.get("peer_ms") else None}
        s["pass"] = s["vseg_speedup"] is not None and s["vseg_speedup"] >= target
        out.append(s)
    return out


def short(path):
    """`path` relative to the repository when it is inside it (for printed commands)."""
    return os.path.relpath(path, ROOT) if os.path.isabs(path) and path.startswith(ROOT + os.sep) else path


def print_profile(args, rows, top):
    cands = [r for r in rows if r.get("ratio") is not None]
    if not cands or top <= 0:
        return None
    # The rows with a target are what the issue judges; the others only when none has one.
    targeted = [r for r in cands if r["target_max_ratio"] is not None]
    worst = max(targeted or cands, key=lambda r: r["ratio"] / (r["target_max_ratio"] or 1.0))
    path = os.path.join(ROOT, worst["file"])
    extra = list(worst.get("vseg_extra") or []) + ["--profile"]
    cmd = vseg_cmd(args.vseg, path, worst["threads"], max(5, args.runs // 3), args.warmup, extra)
    print(f"\nworst against its target: {worst['model']} {worst.get('precision', 'fp32')} vs "
          f"{worst.get('peer_label', worst['peer'])} at {worst['threads']} thread(s) ({worst['ratio']:.2f}x); "
          f"top {top} layers from: {' '.join(short(c) for c in cmd)}")
    try:
        r = run_vseg(args.vseg, path, worst["threads"], max(5, args.runs // 3), args.warmup, extra)
    except SideFailed as e:
        print(f"  profile failed: {e}")
        return {"model": worst["model"], "threads": worst["threads"], "precision": worst.get("precision", "fp32"),
                "error": str(e)}
    layers = r.get("layers") or []
    print(f"  {'us':>9}  {'%':>5}  {'op':<24} name")
    for l in layers[:top]:
        print(f"  {l['meanMicroseconds']:9.1f}  {l['percent']:5.1f}  {l['op']:<24} {l['name']}")
    by_op = {}
    for l in layers:
        by_op[l["op"]] = by_op.get(l["op"], 0.0) + l["meanMicroseconds"]
    total = sum(by_op.values()) or 1.0
    print("  by op: " + ", ".join(f"{op} {us / 1000:.2f} ms ({100 * us / total:.0f}%)"
                                  for op, us in sorted(by_op.items(), key=lambda kv: -kv[1])[:8]))
    return {"model": worst["model"], "threads": worst["threads"], "precision": worst.get("precision", "fp32"),
            "median_ms_with_profiling": r["median_ms"],
            "top_layers": layers[:top], "by_op_us": by_op}


def merge(paths, out):
    docs = []
    for p in paths:
        try:
            with open(p) as f:
                docs.append(json.load(f))
        except (OSError, json.JSONDecodeError) as e:
            raise SystemExit(f"compare.py: cannot read {p}: {e}")
    rows = {}
    for d in docs:
        print(f"{d['started_utc']}: load {' '.join(f'{x:.2f}' for x in d['load_average_start'])} -> "
              f"{' '.join(f'{x:.2f}' for x in d['load_average_end'])}; vseg {d['versions'].get('vseg_commit')}; "
              f"{d['command']}")
        for r in d["rows"]:
            key = row_key(r)
            if key not in rows:
                rows[key] = {k: r[k] for k in ("model", "file", "threads", "peer", "target_max_ratio")}
                rows[key].update(precision=key[2], peer_label=r.get("peer_label", PEERS.get(r["peer"], ("", r["peer"]))[1]),
                                 vseg_extra=r.get("vseg_extra", []), peer_blocks=[], vseg_blocks=[])
            m = rows[key]
            # Per-pair ratios stay meaningful only if every run kept its blocks paired.
            if len(r["peer_blocks"]) != len(r["vseg_blocks"]):
                m["unpaired"] = True
            m["peer_blocks"] += r["peer_blocks"]
            m["vseg_blocks"] += r["vseg_blocks"]
            for k in ("error", "peer_error", "vseg_error"):
                if k in r:
                    m[k] = r[k]
    # An error from one run is stale when another run measured that side.
    for m in rows.values():
        for side in ("peer", "vseg"):
            if m[side + "_blocks"]:
                m.pop(side + "_error", None)
        if m["peer_blocks"] and m["vseg_blocks"]:
            m.pop("error", None)
    merged = [summarize(r) for r in rows.values()]
    speedups = speedup_rows(merged)
    print(f"\npooled {len(docs)} runs: min over all blocks of the block medians\n")
    print_table(merged, speedups)
    if out:
        with open(out, "w") as f:
            json.dump({"merged_from": [d["command"] for d in docs], "runs": docs, "rows": merged,
                       "speedups": speedups}, f, indent=2)
        print(f"wrote {out}")
    return 0


def main():
    global TIMEOUT_S
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vseg", default=os.environ.get("VSEG", os.path.join(ROOT, ".build", "release", "vseg")),
                    help="vseg binary (default $VSEG or .build/release/vseg)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--runs", type=int, default=30, help="timed runs per block (default 30)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed runs per block (default 5)")
    ap.add_argument("--rounds", type=int, default=2, help="peer/vseg block pairs per row (default 2)")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of: " + ", ".join(MODELS))
    ap.add_argument("--precision", default="fp32",
                    help="comma-separated vseg precisions: fp32 (against the FP32 peer), int8 (against the FP32 "
                         "peer and, for .onnx, onnxruntime's QDQ INT8 model); default fp32")
    ap.add_argument("--qtable", action="append", metavar="MODEL=PATH",
                    help="INT8: calibration table for MODEL instead of calibration/<stem>.qtable or one made with "
                         "`vseg calibrate` into out/bench/ (repeatable)")
    ap.add_argument("--recalibrate", action="store_true",
                    help="INT8: remake out/bench/<stem>.qtable with `vseg calibrate` even when it exists, and use "
                         "it in place of calibration/<stem>.qtable")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    ap.add_argument("--profile-top", type=int, default=10,
                    help="after the table, profile the row furthest over its target with `vseg bench --profile` "
                         "(0: skip)")
    ap.add_argument("--timeout", type=float, default=TIMEOUT_S,
                    help=f"seconds one block may take before it counts as hung (default {TIMEOUT_S:.0f})")
    ap.add_argument("--note", default="", help="free text stored with the results (e.g. how vseg was built)")
    ap.add_argument("--merge", nargs="+", metavar="JSON",
                    help="measure nothing: pool the blocks of earlier --json files (min-of-medians over all) "
                         "and print the table")
    args = ap.parse_args()
    if args.merge:
        return merge(args.merge, args.json)
    TIMEOUT_S = args.timeout
    try:
        threads = [int(t) for t in args.threads.split(",") if t.strip()]
    except ValueError:
        ap.error(f"--threads wants comma-separated integers, got {args.threads!r}")
    if not threads or min(threads) < 1:
        ap.error(f"--threads wants counts of at least 1, got {args.threads!r}")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; pick from {', '.join(MODELS)}")
    precisions = [p.strip().lower() for p in args.precision.split(",") if p.strip()]
    if not precisions or any(p not in PRECISIONS for p in precisions):
        ap.error(f"--precision wants a comma-separated subset of {', '.join(PRECISIONS)}, got {args.precision!r}")
    if args.runs < 1 or args.warmup < 0 or args.rounds < 1:
        ap.error("--runs and --rounds must be at least 1, --warmup at least 0")
    if not os.access(args.vseg, os.X_OK):
        ap.error(f"vseg binary {args.vseg} not found: build it with `swift build -c release` or pass --vseg")

    command = " ".join([short(sys.executable), short(os.path.abspath(__file__))] + sys.argv[1:])
    started = time.time()
    load_start = os.getloadavg()
    mach = machine_info()
    print(f"machine: {mach['cpu']}, {mach['logical_cores']} logical cores, {' '.join(mach['isa_flags'])}; "
          f"load average at start {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")
    vers = versions()
    print(f"peers: LiteRT {vers['litert']} (XNNPACK), onnxruntime {vers['onnxruntime']}; vseg {vers['vseg_commit']}")
    if args.note:
        print(f"note: {args.note}")
    print(f"runs {args.runs} + warmup {args.warmup} per block, {args.rounds} block pairs, min-of-medians in ms\n")

    int8 = Int8Setup(args) if "int8" in precisions else None
    if int8 and int8.unsupported:
        print(f"INT8 rows skipped: {int8.unsupported}\n")
    rows = []
    for name in models:
        for precision in precisions:
            for peer_id, targets in peers_for(name, precision):
                for t in threads:
                    rows.append(measure(name, t, precision, peer_id, targets, args, int8))
                    r = rows[-1]
                    print(f"  measured {name} {precision} x{t} vs {r['peer_label']}: peer {fmt(r.get('peer_ms'))} ms, "
                          f"vseg {fmt(r.get('vseg_ms'))} ms", file=sys.stderr, flush=True)
    load_end = os.getloadavg()
    speedups = speedup_rows(rows)
    print()
    print_table(rows, speedups)
    print(f"\nload average at end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}; "
          f"took {time.time() - started:.0f} s; command: {command}")
    profile = print_profile(args, rows, args.profile_top)
    if args.json:
        doc = {"command": command, "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
               "machine": mach, "load_average_start": load_start, "load_average_end": load_end,
               "versions": vers, "note": args.note, "runs": args.runs, "warmup": args.warmup, "rounds": args.rounds,
               "precisions": precisions,
               "statistic": "min over blocks of each block's median; ratio = vseg / peer",
               "rows": rows, "speedups": speedups, "profile_of_worst": profile}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
        print(f"wrote {args.json}")
    if any(r.get("peer_ms") is None or r.get("vseg_ms") is None for r in rows):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
