#!/usr/bin/env python3
"""Whole selfie pipeline: `vseg run --precision int8` against MediaPipe 0.10.14's own, same run.

    .venv-mediapipe/bin/python Benchmarks/int8/pipeline.py --vseg PATH
        [--input samples/carphone_pristine.mp4] [--rounds 5] [--vseg-threads 1,2]
        [--precision int8] [--preset veryfast] [--crf 23] [--mp-encoder auto|cv2|ffmpeg|mp4v]
        [--keep DIR] [--json out.json]

(Benchmarks/int8/pipeline.sh makes the .venv-mediapipe and builds vseg first.)

Both sides: decode the video -> selfie_segmentation.tflite (256x256, general model) ->
tint (0, 255, 0) with alpha 0.5 where the mask > 0.5 -> H.264 (libx264, --preset,
--crf) into an .mp4. Each block is a fresh process; the sides alternate
(MediaPipe, vseg t1, vseg t2, then the reverse, ... for --rounds).

MediaPipe: OpenCV 4.x (the opencv-contrib-python that mediapipe pulls in) decodes,
mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0).process() runs
the graph on each frame (its TFLite XNNPACK delegate uses 1 thread on Linux: MediaPipe's
default, which the solution API does not expose), numpy/cv2 blend the tint. The encoder:
cv2.VideoWriter with H.264 ('avc1') when this OpenCV build has one; the PyPI wheels have
none (no libx264), so `auto` then pipes the BGR frames to the ffmpeg CLI's libx264 with
vseg's preset and crf (a separate process, so encoding overlaps the loop as vseg's encoder
thread does). `--mp-encoder mp4v` uses cv2's MPEG-4 Part 2 instead (not H.264; cheaper).

vseg: `vseg run -i INPUT -o OUT --model selfie --precision P --set model.threads=T
--set overlay.mode=hard --preset .. --crf ..` (hard = alpha where the thresholded
mask is set, the same rule as above). vseg runs decode, inference, overlay and encode
on their own threads; model.threads is only the inference thread count.

What is compared (startup is excluded from the target, included in a second figure):
- steady fps: (frames - 1) / (time from the first to the last frame handed to the
  encoder). This is the rate vseg's summary line prints (`done: ... N fps`); the
  MediaPipe block measures the same span in its loop. Startup (imports, model load,
  graph build, encoder open) and the encoder's final flush are outside it on both sides.
- process fps: frames / wall time of the whole process (interpreter/binary start,
  imports, model load, encoder flush included), both sides.
A side's figure is its best block (highest fps); the median is printed too.
Target (issue): vseg INT8 at model.threads=1 (MediaPipe's inference thread count) has
>= 2x MediaPipe's steady fps. The model.threads=2 rows are informative.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TINT_BGR = (0, 255, 0)      # vseg's overlay default colour [0, 255, 0] (green is the same in BGR)
ALPHA = 0.5                 # vseg's overlay default alpha
THRESHOLD = 0.5             # vseg's segmentation default threshold
TARGET = 2.0                # vseg INT8 (1 inference thread) steady fps / MediaPipe steady fps
SUMMARY = re.compile(r"done: (\d+) frames in, ([\d/]+) written, (\d+) dropped, ([\d.]+) fps, ([\d.]+) s")


# ---------------------------------------------------------------------------------------------
# MediaPipe block (runs in its own process: `pipeline.py --mediapipe-block ...`)

class FFmpegX264:
    """Writes BGR frames to the ffmpeg CLI's libx264 through a pipe."""
    name = "ffmpeg CLI libx264 (BGR frames piped)"

    def __init__(self, path, width, height, fps, preset, crf):
        cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
               "-s", f"{width}x{height}", "-r", f"{fps:.6f}", "-i", "-", "-c:v", "libx264", "-preset", preset,
               "-crf", str(crf), "-pix_fmt", "yuv420p", path]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)

    def write(self, frame):
        self.proc.stdin.write(frame.data)

    def release(self):
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            raise SystemExit(f"ffmpeg exited {self.proc.returncode} while encoding")


class CV2Writer:
    def __init__(self, cv2, path, width, height, fps, fourcc):
        self.name = f"cv2.VideoWriter '{fourcc}' (OpenCV {cv2.__version__})"
        self.w = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
        self.ok = self.w.isOpened()

    def write(self, frame):
        self.w.write(frame)

    def release(self):
        self.w.release()


def open_writer(cv2, kind, path, width, height, fps, preset, crf):
    if kind in ("auto", "cv2"):
        w = CV2Writer(cv2, path, width, height, fps, "avc1")
        if w.ok:
            return w
        if kind == "cv2":
            raise SystemExit(f"this OpenCV ({cv2.__version__}) has no H.264 encoder; use --mp-encoder auto or ffmpeg")
    if kind == "mp4v":
        w = CV2Writer(cv2, path, width, height, fps, "mp4v")
        if not w.ok:
            raise SystemExit("cv2.VideoWriter cannot open an 'mp4v' writer")
        return w
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg CLI not found (scripts/setup installs it)")
    return FFmpegX264(path, width, height, fps, preset, crf)


def mediapipe_block(a):
    t_start = time.perf_counter()
    os.environ.setdefault("GLOG_minloglevel", "2")       # MediaPipe's INFO lines on stderr
    import cv2
    import mediapipe as mp
    import numpy as np
    cap = cv2.VideoCapture(a.input)
    if not cap.isOpened():
        raise SystemExit(f"OpenCV cannot open {a.input}")
    width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
    writer = open_writer(cv2, a.mp_encoder, a.output, width, height, fps, a.preset, a.crf)
    tint = np.empty((height, width, 3), np.uint8)
    tint[:] = TINT_BGR
    blended = np.empty_like(tint)
    rgb = np.empty_like(tint)
    done = []
    phase = [0.0, 0.0, 0.0, 0.0]          # decode + RGB, MediaPipe graph, blend, hand to encoder
    t_loop = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        ok, frame = cap.read()
        if not ok:
            break
        cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=rgb)
        t1 = time.perf_counter()
        mask = seg.process(rgb).segmentation_mask > THRESHOLD
        t2 = time.perf_counter()
        cv2.addWeighted(frame, 1.0 - ALPHA, tint, ALPHA, 0.0, dst=blended)
        np.copyto(frame, blended, where=mask[:, :, None])
        t3 = time.perf_counter()
        writer.write(frame)
        done.append(time.perf_counter())
        for i, d in enumerate((t1 - t0, t2 - t1, t3 - t2, done[-1] - t3)):
            phase[i] += d
    t_end = time.perf_counter()
    writer.release()
    seg.close()
    t_closed = time.perf_counter()
    n = len(done)
    if n < 2:
        raise SystemExit(f"{a.input}: decoded {n} frame(s); need at least 2")
    print(json.dumps({"frames": n, "steady_fps": (n - 1) / (done[-1] - done[0]), "loop_fps": n / (t_end - t_loop),
                      "setup_s": t_loop - t_start, "flush_s": t_closed - t_end, "encoder": writer.name,
                      "phase_ms": dict(zip(("decode", "mediapipe", "blend", "write"), (1e3 * p / n for p in phase))),
                      "versions": {"mediapipe": mp.__version__, "opencv": cv2.__version__, "numpy": np.__version__}}))


# ---------------------------------------------------------------------------------------------
# Driver

class SideFailed(Exception):
    pass


def last_line(text):
    lines = [l for l in (text or "").strip().splitlines() if l.strip()]
    return lines[-1] if lines else "(no output)"


def count_frames(path):
    p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
                        "stream=nb_read_packets,codec_name", "-of", "json", path], capture_output=True, text=True)
    try:
        s = json.loads(p.stdout)["streams"][0]
        return int(s["nb_read_packets"]), s["codec_name"]
    except (json.JSONDecodeError, KeyError, IndexError, ValueError):
        return None, None


def run_mediapipe(a, out):
    cmd = [sys.executable, os.path.abspath(__file__), "--mediapipe-block", "--input", a.input, "--output", out,
           "--preset", a.preset, "--crf", str(a.crf), "--mp-encoder", a.mp_encoder]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout, cwd=ROOT)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SideFailed(f"MediaPipe block exited {p.returncode}: {last_line(p.stderr or p.stdout)}")
    r = json.loads(last_line(p.stdout))
    r.update(wall_s=wall, process_fps=r["frames"] / wall)
    return r


def vseg_run_cmd(a, out, threads):
    cmd = [a.vseg, "run", "-i", a.input, "-o", out, "--model", "selfie"]
    if a.precision != "fp32":               # an FP32-only vseg has no --precision; fp32 is its default
        cmd += ["--precision", a.precision]
    return cmd + ["--set", f"model.threads={threads}", "--set", "overlay.mode=hard",
                  "--preset", a.preset, "--crf", str(a.crf)]


def run_vseg(a, out, threads):
    cmd = vseg_run_cmd(a, out, threads)
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        raise SideFailed(f"vseg run did not finish within {a.timeout:.0f} s")
    wall = time.perf_counter() - t0
    text = p.stdout + "\n" + p.stderr
    m = SUMMARY.search(text)
    if p.returncode != 0 or not m:
        raise SideFailed(f"vseg run exited {p.returncode}: {last_line(p.stderr or p.stdout)}")
    frames = int(m.group(1))
    return {"frames": frames, "written": m.group(2), "dropped": int(m.group(3)), "steady_fps": float(m.group(4)),
            "vseg_seconds": float(m.group(5)), "wall_s": wall, "process_fps": frames / wall,
            "summary": m.group(0)}


def summarize(blocks):
    if not blocks:
        return None
    steady = [b["steady_fps"] for b in blocks]
    proc = [b["process_fps"] for b in blocks]
    return {"best_steady_fps": max(steady), "median_steady_fps": statistics.median(steady),
            "best_process_fps": max(proc), "median_process_fps": statistics.median(proc), "blocks": len(blocks)}


def fmt(v, spec="{:.1f}"):
    return "-" if v is None else spec.format(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vseg", default=os.environ.get("VSEG", os.path.join(ROOT, ".build", "release", "vseg")))
    ap.add_argument("--input", default=os.path.join(ROOT, "samples", "carphone_pristine.mp4"))
    ap.add_argument("--rounds", type=int, default=5, help="blocks per side (default 5)")
    ap.add_argument("--vseg-threads", default="1,2", help="vseg model.threads values, comma-separated (default 1,2)")
    ap.add_argument("--precision", default="int8", choices=["int8", "fp32"],
                    help="vseg's precision (default int8; fp32 for a vseg without INT8)")
    ap.add_argument("--preset", default="veryfast", help="x264 preset, both sides (default veryfast)")
    ap.add_argument("--crf", type=int, default=23, help="x264 crf, both sides (default 23)")
    ap.add_argument("--mp-encoder", default="auto", choices=["auto", "cv2", "ffmpeg", "mp4v"],
                    help="MediaPipe side's encoder (default auto: cv2 H.264 if present, else ffmpeg libx264)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds one block may take")
    ap.add_argument("--keep", metavar="DIR", help="write the outputs here (default: a temporary directory)")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    ap.add_argument("--mediapipe-block", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--output", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.mediapipe_block:
        return mediapipe_block(a)
    try:
        threads = [int(t) for t in a.vseg_threads.split(",") if t.strip()]
    except ValueError:
        ap.error(f"--vseg-threads wants comma-separated integers, got {a.vseg_threads!r}")
    if not threads or min(threads) < 1 or a.rounds < 1:
        ap.error("--vseg-threads values and --rounds must be at least 1")
    if not os.path.exists(a.input):
        ap.error(f"{a.input} not found (scripts/setup fetches samples/)")
    if not os.access(a.vseg, os.X_OK):
        ap.error(f"vseg binary {a.vseg} not found: build it with `swift build -c release` or pass --vseg")
    if a.precision != "fp32":
        h = subprocess.run([a.vseg, "run", "--help"], capture_output=True, text=True, cwd=ROOT)
        if "--precision" not in h.stdout:
            raise SystemExit(f"pipeline.py: {a.vseg} has no `run --precision` (an FP32-only build); build vseg from "
                             "a main with INT8, or pass --precision fp32 to compare FP32")

    out_dir = a.keep or tempfile.mkdtemp(prefix="vseg-pipeline-")
    os.makedirs(out_dir, exist_ok=True)
    in_frames, _ = count_frames(a.input)
    load_start = os.getloadavg()
    started = time.time()
    print(f"input {os.path.relpath(a.input, ROOT)} ({in_frames} frames); {os.cpu_count()} logical cores; "
          f"load average at start {' '.join(f'{x:.2f}' for x in load_start)}")
    sides = [("mediapipe", None)] + [("vseg", t) for t in threads]
    blocks = {s: [] for s in sides}
    errors = {}
    for r in range(a.rounds):
        for side in (sides if r % 2 == 0 else sides[::-1]):       # A B C C B A A B C ...
            if side in errors:
                continue
            name, t = side
            out = os.path.join(out_dir, f"{name}{'' if t is None else f'-t{t}'}.mp4")
            try:
                b = run_mediapipe(a, out) if name == "mediapipe" else run_vseg(a, out, t)
            except (SideFailed, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
                errors[side] = str(e)
                continue
            b["output_frames"], b["output_codec"] = count_frames(out)
            if in_frames is not None and b["output_frames"] != in_frames:
                errors[side] = f"wrote {b['output_frames']} frames, the input has {in_frames}"
                continue
            blocks[side].append(b)
            print(f"  round {r + 1} {name}{'' if t is None else f' threads={t}'}: steady {b['steady_fps']:.1f} fps, "
                  f"process {b['process_fps']:.1f} fps ({b['wall_s']:.2f} s)", file=sys.stderr, flush=True)
    load_end = os.getloadavg()

    mp_blocks = blocks[sides[0]]
    mp_sum = summarize(mp_blocks)
    mp_first = mp_blocks[0] if mp_blocks else {}
    print(f"\nMediaPipe {mp_first.get('versions', {}).get('mediapipe', '?')} (OpenCV "
          f"{mp_first.get('versions', {}).get('opencv', '?')}), encoder: {mp_first.get('encoder', '?')}")
    if mp_blocks:
        best = max(mp_blocks, key=lambda b: b["steady_fps"])
        print(f"MediaPipe setup (imports, graph, encoder open) median "
              f"{statistics.median(b['setup_s'] for b in mp_blocks):.2f} s per process; per frame in its best block: "
              + ", ".join(f"{k} {v:.2f} ms" for k, v in best["phase_ms"].items()))
    print(f"vseg {a.precision}: {' '.join(vseg_run_cmd(a, 'OUT.mp4', 'T'))}")
    print(f"x264 preset {a.preset}, crf {a.crf}; best of {a.rounds} blocks per side (median in brackets)\n")
    head = f"{'side':<26} {'steady fps':>18} {'process fps':>18} {'steady ratio':>13} {'process ratio':>14}"
    print(head)
    print("-" * len(head))
    rows = []
    for side in sides:
        s = summarize(blocks[side])
        name, t = side
        label = "MediaPipe (XNNPACK 1 thr)" if name == "mediapipe" else f"vseg {a.precision} model.threads={t}"
        row = {"side": name, "threads": t, "summary": s, "blocks": blocks[side], "error": errors.get(side)}
        if name == "vseg" and s and mp_sum:
            row["steady_ratio"] = s["best_steady_fps"] / mp_sum["best_steady_fps"]
            row["process_ratio"] = s["best_process_fps"] / mp_sum["best_process_fps"]
        rows.append(row)
        print(f"{label:<26} {fmt(s and s['best_steady_fps']):>8} ({fmt(s and s['median_steady_fps']):>7}) "
              f"{fmt(s and s['best_process_fps']):>8} ({fmt(s and s['median_process_fps']):>7}) "
              f"{fmt(row.get('steady_ratio'), '{:.2f}x'):>13} {fmt(row.get('process_ratio'), '{:.2f}x'):>14}")
    judged = next((r for r in rows if r["side"] == "vseg" and r["threads"] == 1), None)
    if judged and judged.get("steady_ratio") is not None:
        verdict = "pass" if judged["steady_ratio"] >= TARGET else "FAIL"
        note = "" if a.precision == "int8" else f" (vseg ran {a.precision}: the target is for int8)"
        print(f"\ntarget: vseg int8 model.threads=1 steady fps >= {TARGET:.1f}x MediaPipe: "
              f"{judged['steady_ratio']:.2f}x {verdict}{note}")
    for side, msg in errors.items():
        print(f"error: {side[0]}{'' if side[1] is None else f' threads={side[1]}'}: {msg}")
    print(f"\nload average at end {' '.join(f'{x:.2f}' for x in load_end)}; took {time.time() - started:.0f} s; "
          f"outputs in {out_dir}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"command": " ".join(sys.argv), "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                 time.gmtime(started)),
                       "input": a.input, "input_frames": in_frames, "precision": a.precision, "preset": a.preset,
                       "crf": a.crf, "rounds": a.rounds, "load_average_start": load_start,
                       "load_average_end": load_end, "target_steady_ratio": TARGET, "rows": rows}, f, indent=2)
        print(f"wrote {a.json}")
    if not a.keep:
        shutil.rmtree(out_dir, ignore_errors=True)
    return 2 if errors or any(not blocks[s] for s in sides) else 0


if __name__ == "__main__":
    sys.exit(main())
