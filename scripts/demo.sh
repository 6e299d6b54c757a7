#!/usr/bin/env bash
# `make demo`: builds the default CPU module (the `relaxed` one of wasm-modules.tsv: Chromium,
# Firefox) first, serves the site on http://127.0.0.1:PORT/ as soon as it is ready, then builds the
# other modules of the list while it serves (until the WebGPU module is built, browsers with an
# adapter run on the CPU and the status line says that WebGPU failed).
# Usage: scripts/demo.sh [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-8080}"
mkdir -p out
say() { echo "digitscope demo: $*"; }

first=$(awk -F'\t' '!/^#/ && $3 == "relaxed" { print $1 }' wasm-modules.tsv)
others=$(awk -F'\t' -v first="$first" '!/^#/ && NF && $1 != first { print $1 }' wasm-modules.tsv | xargs)
say "building the default CPU module (www/$first) — several minutes on a fresh machine, seconds after"
scripts/build-wasm.sh "$first"
node scripts/serve.mjs www "$PORT" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT INT TERM
sleep 1
kill -0 "$server" 2>/dev/null || { say "the server did not start (is port $PORT taken?)"; exit 1; }
say "open http://127.0.0.1:$PORT/ and draw digits (Ctrl-C stops)"
say "meanwhile building $others (log: out/demo-build.log) …"
# shellcheck disable=SC2086
if scripts/build-wasm.sh $others > out/demo-build.log 2>&1; then
  say "all modules built: reload the page to use WebGPU where the browser has an adapter"
else
  say "building the other modules failed (out/demo-build.log); the site keeps serving the CPU module"
fi
wait "$server"
