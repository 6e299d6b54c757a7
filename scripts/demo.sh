#!/usr/bin/env bash
# `make demo`: builds the default CPU module (pkg-relaxed: Chromium, Firefox) first, serves the site
# on http://127.0.0.1:PORT/ as soon as it is ready, then builds the other modules while it serves:
# pkg-simd (browsers without relaxed SIMD, e.g. Safari), pkg-ndarray (`cpu: "ndarray"` only) and
# pkg-webgpu (browsers with a WebGPU adapter; until it is built they run on the CPU and the
# status line says that WebGPU failed).
# Usage: scripts/demo.sh [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-8080}"
mkdir -p out
say() { echo "digitscope demo: $*"; }

say "building the default CPU module (www/pkg-relaxed) — several minutes on a fresh machine, seconds after"
scripts/build-wasm.sh pkg-relaxed
node scripts/serve.mjs www "$PORT" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT INT TERM
sleep 1
kill -0 "$server" 2>/dev/null || { say "the server did not start (is port $PORT taken?)"; exit 1; }
say "open http://127.0.0.1:$PORT/ and draw digits (Ctrl-C stops)"
say "meanwhile building pkg-simd, pkg-ndarray and pkg-webgpu (log: out/demo-build.log) …"
if scripts/build-wasm.sh pkg-simd pkg-ndarray pkg-webgpu > out/demo-build.log 2>&1; then
  say "all four modules built: reload the page to use WebGPU where the browser has an adapter"
else
  say "building the other modules failed (out/demo-build.log); the site keeps serving the CPU module"
fi
wait "$server"
