#!/usr/bin/env bash
# esbuild bundles the app; it does not follow `new URL('./worker.js', import.meta.url)`, so the
# recipe copies the package's folder beside the bundle and names it in `base-url`.
set -euo pipefail
"$BIN/esbuild" main.js --bundle --format=esm --outdir=dist --log-level=warning
cp -r node_modules/digitscope dist/digitscope
sed 's|<digit-detector |<digit-detector base-url="digitscope/" |' index.html > dist/index.html
