#!/usr/bin/env bash
# Throughput of `vseg run --model none` against the ffmpeg CLI doing the same
# transcode (decode → libx264, same preset and crf, audio copied), in the same
# run on the same machine. Not a test: prints a table and the ratio.
#
#   Benchmarks/transcode.sh                 # bikes.mp4 and bigbuckbunny.mp4, best of 3
#   RUNS=5 PRESET=ultrafast Benchmarks/transcode.sh samples/carphone_pristine.mp4
#
# Target (issue 2): vseg ≥ 0.9× ffmpeg's frames per second.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-3}"
PRESET="${PRESET:-veryfast}"
CRF="${CRF:-23}"
VSEG="${VSEG:-}"
if [ -z "$VSEG" ]; then
    swift build -c release --product vseg >/dev/null
    VSEG="$(swift build -c release --show-bin-path)/vseg"
fi
INPUTS=("$@")
[ ${#INPUTS[@]} -gt 0 ] || INPUTS=(samples/bikes.mp4 samples/bigbuckbunny.mp4)
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
best() { # best TIMES...: smallest value
    printf '%s\n' "$@" | sort -g | head -1
}

printf '%-28s %7s %10s %10s %10s %10s %7s\n' input frames "ffmpeg s" "vseg s" "ffmpeg fps" "vseg fps" ratio
for in in "${INPUTS[@]}"; do
    frames="$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$in")"
    ff=(); vs=()
    for _ in $(seq "$RUNS"); do
        # Alternate the two so neither gets a warmer cache or a quieter machine.
        t0=$(now)
        ffmpeg -v error -nostdin -y -i "$in" -map 0:v:0 -map 0:a? -c:v libx264 -preset "$PRESET" -crf "$CRF" -c:a copy "$OUT/ff.mp4"
        t1=$(now)
        "$VSEG" run --quiet --input "$in" --model none --preset "$PRESET" --crf "$CRF" --output "$OUT/vs.mp4"
        t2=$(now)
        ff+=("$(calc "$t1 - $t0")")
        vs+=("$(calc "$t2 - $t1")")
    done
    tf=$(best "${ff[@]}"); tv=$(best "${vs[@]}")
    vframes="$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$OUT/vs.mp4")"
    [ "$vframes" = "$frames" ] || echo "warning: vseg wrote $vframes frames, input has $frames" >&2
    printf '%-28s %7d %10.3f %10.3f %10.1f %10.1f %6.2fx\n' "$(basename "$in")" "$frames" "$tf" "$tv" \
        "$(calc "$frames / $tf")" "$(calc "$frames / $tv")" "$(calc "$tf / $tv")"
done
echo "(best of $RUNS runs each; preset $PRESET, crf $CRF; ratio = vseg fps / ffmpeg fps; wall time includes process start)"
