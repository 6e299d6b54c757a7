#!/usr/bin/env bash
# Fuzzes the input paths with cargo fuzz (libFuzzer), each target for SECONDS (default 120):
#   png_decode        the CLI's PNG and JPEG decoding (arbitrary bytes; seeded with the sample
#                     PNG and the test JPEGs, each behind a byte of flags)
#   image_input       the wasm detector's size and buffer validation, then the pyramid's downscale
#   heatmap_decode    detection decoding (peaks and components), the pyramid merge and the second
#                     look's cut-outs and ink proposals on arbitrary
#                     heatmaps: any geometry, NaN and infinities included, any options
#   weights_envelope  weights-file decoding (seeded with the smallest shipped weights file)
# Built in release mode with debug assertions and overflow checks (a panic or an overflow is a
# crash), without a sanitizer (the crate has no unsafe code; stable Rust suffices). Writes
# out/fuzz/report.json and prints executions and crashes per target; exits non-zero on a crash
# (the input that crashed is kept in fuzz/artifacts/<target>/).
#
# Usage: scripts/fuzz.sh [SECONDS] | --install-only | --build-only
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-120}"
TARGETS="${FUZZ_TARGETS:-png_decode image_input heatmap_decode weights_envelope}"
CARGO_FUZZ_VERSION=0.13.2
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"

if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
[ "$SECONDS_EACH" != --install-only ] || exit 0
FLAGS=(-O -a -s none --target-dir "$TARGET_DIR")
# All targets in one cargo invocation: the dependencies compile once for all of them.
(cd fuzz && cargo fuzz build "${FLAGS[@]}")
[ "$SECONDS_EACH" != --build-only ] || exit 0

mkdir -p out/fuzz
report=out/fuzz/report.json
echo "[" > "$report"
status=0
first=1
printf '%-18s %10s %8s %12s %s\n' target seconds crashes executions exec/s
for t in $TARGETS; do
  corpus=out/fuzz/corpus/$t seeds=out/fuzz/seeds/$t
  mkdir -p "$corpus" "$seeds"
  max_len=4096
  case $t in
    png_decode)
      for f in samples/*.png tests/data/*.jpg; do
        { printf '\x82'; cat "$f"; } > "$seeds/$(basename "$f")"
      done
      max_len=16384 ;;
    weights_envelope) cp weights/small.dsw "$seeds"/; max_len=32768 ;;
  esac
  log=out/fuzz/$t.log
  set +e
  (cd fuzz && cargo fuzz run "${FLAGS[@]}" "$t" "../$corpus" "../$seeds" -- \
    -max_total_time="$SECONDS_EACH" -max_len="$max_len" -print_final_stats=1) > "$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -oE '^Done [0-9]+ runs' "$log" | awk '{print $2}' | tail -1)
  runs=${runs:-0}
  crashes=$([ "$rc" -eq 0 ] && echo 0 || echo 1)
  [ "$rc" -eq 0 ] || { status=1; echo "$t crashed (exit $rc): see $log and fuzz/artifacts/$t/"; grep -m3 -E "panicked|ERROR" "$log" || true; }
  [ $first -eq 1 ] || echo "," >> "$report"
  first=0
  printf '  {"target": "%s", "seconds": %s, "executions": %s, "crashes": %s}' "$t" "$SECONDS_EACH" "$runs" "$crashes" >> "$report"
  printf '%-18s %10s %8s %12s %s\n' "$t" "$SECONDS_EACH" "$crashes" "$runs" "$((runs / SECONDS_EACH))"
done
printf '\n]\n' >> "$report"
exit $status
