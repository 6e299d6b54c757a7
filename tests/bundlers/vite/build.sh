#!/usr/bin/env bash
# Vite, no config: `vite build` (the dev server is started by the test itself).
set -euo pipefail
"$BIN/vite" build --logLevel warn --outDir dist
