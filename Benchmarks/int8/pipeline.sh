#!/usr/bin/env bash
# Whole selfie pipeline on samples/carphone_pristine.mp4: `vseg run --precision int8`
# against MediaPipe 0.10.14's mp.solutions.selfie_segmentation, same frames, same run,
# alternating blocks (see Benchmarks/int8/pipeline.py --help for what is timed).
#
#   Benchmarks/int8/pipeline.sh                              # build vseg, 5 rounds, model.threads 1 and 2
#   Benchmarks/int8/pipeline.sh --rounds 9 --json out/pipeline.json
#   VSEG=path/to/vseg Benchmarks/int8/pipeline.sh --precision fp32   # skip the build; FP32 vseg
#
# Makes .venv-mediapipe (git-ignored) the first time: mediapipe==0.10.14 and numpy<2 from
# PyPI (mediapipe 0.10.14 is built against numpy 1.x). Later runs only check it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
VENV="${MP_VENV:-$ROOT/.venv-mediapipe}"
CHECK='import cv2, numpy, mediapipe; assert mediapipe.__version__ == "0.10.14", mediapipe.__version__; mediapipe.solutions.selfie_segmentation'
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "$CHECK" >/dev/null 2>&1; then
    :
else
    echo "pipeline.sh: creating $VENV (mediapipe==0.10.14, numpy<2)" >&2
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" \
        || { echo "error: python3 -m venv failed; install python3-venv" >&2; exit 1; }
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "mediapipe==0.10.14" "numpy<2" \
        || { echo "error: pip install mediapipe==0.10.14 failed (needs PyPI and a Python mediapipe 0.10.14 has wheels for: 3.8-3.12)" >&2; exit 1; }
    "$VENV/bin/python" -c "$CHECK" \
        || { echo "error: $VENV cannot import mediapipe 0.10.14; delete it and re-run" >&2; exit 1; }
fi
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null \
    || { echo "error: ffmpeg/ffprobe not found: run scripts/setup" >&2; exit 1; }
if [ -z "${VSEG:-}" ]; then
    SCRATCH="${SCRATCH:-.build}"
    swift build -c release --scratch-path "$SCRATCH" --product vseg >&2
    VSEG="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/vseg"
fi
exec "$VENV/bin/python" Benchmarks/int8/pipeline.py --vseg "$VSEG" "$@"
