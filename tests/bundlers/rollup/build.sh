#!/usr/bin/env bash
# Rollup with @rollup/plugin-node-resolve: like esbuild, it leaves `new URL(…, import.meta.url)`
# alone, so the recipe copies the package's folder beside the bundle and names it in `base-url`.
set -euo pipefail
# The config's plugin comes from the tests' own node_modules (a consumer would install it).
mkdir -p node_modules/@rollup && ln -sfn "$BIN/../@rollup/plugin-node-resolve" node_modules/@rollup/plugin-node-resolve
"$BIN/rollup" -c --silent
cp -r node_modules/digitscope dist/digitscope
sed 's|<digit-detector |<digit-detector base-url="digitscope/" |' index.html > dist/index.html
