#!/usr/bin/env bash
# Builds the release vseg and runs Benchmarks/engine/compare.py: `vseg bench` next to
# LiteRT (XNNPACK) / onnxruntime in the same run, same thread count, interleaved blocks.
#
#   Benchmarks/engine/run.sh                                   # all models, 1 and 2 threads
#   Benchmarks/engine/run.sh --threads 1 --models fcn_resnet18 --runs 20 --json out/engine.json
#   Benchmarks/engine/run.sh --precision int8 --threads 1,2      # vseg INT8 against LiteRT/ORT FP32 and ORT INT8
#   SCRATCH=.build-bench Benchmarks/engine/run.sh ...          # build in another scratch dir
#   VSEG=path/to/vseg Benchmarks/engine/run.sh ...             # skip the build
#
# Arguments go to compare.py (see its --help). Needs .venv (scripts/setup), models/*.tflite
# and .fixtures/onnx (written here with scripts/onnx/make_models.py when missing). INT8 rows
# also write out/bench/ (onnxruntime QDQ models, calibration tables for models without one).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || { echo "error: $PY not found: run scripts/setup to create the .venv" >&2; exit 1; }
if [ -z "${VSEG:-}" ]; then
    SCRATCH="${SCRATCH:-.build}"
    swift build -c release --scratch-path "$SCRATCH" --product vseg >&2
    VSEG="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/vseg"
fi
if [ ! -f .fixtures/onnx/fcn_resnet18.onnx ] || [ ! -f .fixtures/onnx/unet.onnx ]; then
    "$PY" scripts/onnx/make_models.py .fixtures/onnx >&2
fi
exec "$PY" Benchmarks/engine/compare.py --vseg "$VSEG" "$@"
